"""The replacement forward of stage 7a on the toy world (real model, real transcoders),
against circuit-tracer's own replacement model run through its NNSight trace."""

from pathlib import Path

import pytest
import torch
from nnsight import save

from motif_discovery.attribution.targets import target_rows
from motif_discovery.model.transcoders import Transcoders
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import load_replacement_model, load_transcoders
from motif_discovery.validation.graph_validation import (
    TargetComparison,
    compare_targets,
    replacement_figures,
)
from motif_discovery.validation.replacement import paired_target_logits, replacement_hook

DATA = Path(__file__).resolve().parents[2] / "data" / "toy_world"
PREFIX = "velkaria borders zembia . velkaria sells hardwood . the main export of velkaria is"
CONTINUATIONS = (" mostly wood , of course .", " wood .", " hardwood !", " mostly lumber .")


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    model, tokenizer = load_toy_model(DATA / "model")
    context = [tokenizer.bos_token_id, *tokenizer(PREFIX, add_special_tokens=False).input_ids]
    tokens = [tokenizer(t, add_special_tokens=False).input_ids for t in CONTINUATIONS]
    return model, context, tokens


def circuit_tracer_logits(replacement, ids: list[int]) -> torch.Tensor:
    """[T, V] logits of circuit-tracer's replacement model with every MLP output at positions
    >= 1 set to its transcoder's reconstruction (no error term), one unpadded sequence."""
    with torch.no_grad(), replacement.trace(torch.tensor([ids])):
        for layer in range(replacement.cfg.n_layers):
            mlp_in = replacement.get_feature_input_loc(layer).output
            reconstruction = replacement.transcoders._module[layer](mlp_in)
            mlp_out = replacement.get_feature_output_loc(layer).output
            mlp_out[:, 1:] = reconstruction[:, 1:]
        logits = save(replacement.output.logits)
    return logits[0]


def run(model, context, tokens, hook, batch_size=3):
    rows = target_rows(tokens, len(context), [0] * len(tokens), pooling="mean", position_shift=0)
    sequences = [context + t for t in tokens]
    return rows, list(paired_target_logits(model, sequences, rows, hook, batch_size))


def test_replacement_logits_match_circuit_tracers_replacement_model(toy):
    model, context, tokens = toy
    transcoders = Transcoders(load_transcoders(DATA / "transcoders"))
    rows, batches = run(model, context, tokens, replacement_hook(transcoders))
    real = torch.cat([b[0] for b in batches])
    replaced = torch.cat([b[1] for b in batches])
    replacement = load_replacement_model(DATA / "model", DATA / "transcoders")
    expected_real, expected_replaced, expected_tokens = [], [], []
    for row, t in zip(rows, tokens, strict=True):
        ids = context + t
        # the predicting position of t_j is P - 1 + j
        positions = [len(context) - 1 + j for j in range(len(t))]
        assert list(row.positions) == positions and list(row.tokens) == t
        with torch.no_grad():
            expected_real.append(model(input_ids=torch.tensor([ids])).logits[0, positions])
        expected_replaced.append(circuit_tracer_logits(replacement, ids)[positions])
        expected_tokens += t
    assert torch.allclose(real, torch.cat(expected_real), atol=1e-4)
    assert torch.allclose(replaced, torch.cat(expected_replaced), atol=1e-4)
    assert torch.cat([b[2] for b in batches]).tolist() == expected_tokens
    # the transcoders do not reproduce the MLPs exactly: the comparison sees a difference
    assert (replaced - real).abs().max() > 1e-2


def test_replacing_each_mlp_by_its_own_output_agrees_everywhere(toy):
    model, context, tokens = toy
    _, batches = run(model, context, tokens, lambda _layer, _inp, out: out.clone())
    comparison = TargetComparison.cat([compare_targets(*b) for b in batches])
    figures = replacement_figures(comparison, len(tokens))
    assert figures["n_targets"] == sum(len(t) for t in tokens)
    assert figures["top1_agreement"] == 1.0
    assert figures["kl_mean"] == pytest.approx(0.0, abs=1e-9)
    assert figures["centred_logit_mae"] == pytest.approx(0.0, abs=1e-9)
    assert figures["centred_logit_pearson"] == pytest.approx(1.0)
