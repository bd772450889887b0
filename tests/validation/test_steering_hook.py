"""Stage 7c's intervention on the real toy model with its real transcoders.

The steered values are checked against attribution/frozen.FrozenRun (nothing held), which
adds fixed vectors to MLP outputs by its own code: with every steered feature in ONE layer
the re-encoded activation equals the clean one, so the steering is exactly the fixed delta
eps * sign * act_clean * W_dec[f], with act_clean computed here from the raw weights.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from motif_discovery.attribution.frozen import FrozenRun, centred
from motif_discovery.attribution.targets import target_rows
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import read_metadata
from motif_discovery.utils.config import load_config
from motif_discovery.validation.steering import Row, Steer, Steerer, steering_hook

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[2]
PREFIX = "velkaria borders zembia . velkaria sells hardwood . the main export of velkaria is"
TEXTS = (" mostly wood , of course .", " hardwood .", " mostly lumber , they say .")
LAYER = 1


@pytest.fixture(scope="module")
def toy():
    """(model, tokenizer, transcoders, k of the TopK activation)."""
    config = load_config(REPO / "configs/toy_world.json")
    model, tokenizer = load_toy_model(REPO / config.model.name)
    transcoders = load_transcoders(config.model, torch.device("cpu"), torch.float32)
    k = read_metadata(REPO / config.model.transcoders)["activation"]["k"]
    return model, tokenizer, transcoders, k


def sequences_of(tokenizer) -> tuple[list[list[int]], int]:
    context = [tokenizer.bos_token_id, *tokenizer(PREFIX, add_special_tokens=False).input_ids]
    conts = [tokenizer(t, add_special_tokens=False).input_ids for t in TEXTS]
    return [context + c for c in conts], len(context)


def mlp_io(model, ids: list[int], layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(MLP input [T, d], MLP output [T, d]) of `layer` on a clean forward (torch hook)."""
    seen = {}

    def grab(_module, args, output):
        seen["io"] = (args[0][0].clone(), output[0].clone())

    handle = model.model.layers[layer].mlp.register_forward_hook(grab)
    with torch.no_grad():
        model(input_ids=torch.tensor([ids]))
    handle.remove()
    return seen["io"]


def acts_by_hand(transcoders, layer: int, h: torch.Tensor, k: int) -> torch.Tensor:
    """ReLU(TopK_k(W_enc h + b_enc)) from the raw weights."""
    tc = transcoders.layers[layer]
    z = h @ tc.W_enc.T + tc.b_enc
    values, indices = z.topk(k, dim=-1)
    return torch.zeros_like(z).scatter(-1, indices, values.clamp(min=0))


def chosen_features(acts: torch.Tensor, positions=(5, 9, 14)) -> list[dict]:
    """The most active feature at each position, signs +, -, + for H_c."""
    out = []
    for sign, t in zip((1.0, -1.0, 1.0), positions, strict=True):
        out.append(
            {"layer": LAYER, "position": t, "feature": int(acts[t].argmax()), "H_c": sign * 0.3}
        )
    return out


def frozen_value(model, seq, target, deltas) -> float:
    logits = centred(FrozenRun(model, seq).logits(deltas, hold=set()))
    return sum(
        w * float(logits[p, t])
        for p, t, w in zip(target.positions, target.tokens, target.weights, strict=True)
    )


def test_one_layer_steering_equals_fixed_deltas(toy):
    model, tokenizer, transcoders, k = toy
    seqs, n_context = sequences_of(tokenizer)
    targets = target_rows(
        [s[n_context:] for s in seqs], n_context, [0] * 3, pooling="mean", position_shift=0
    )
    steerer = Steerer(model, transcoders, batch_size=8)
    for s, seq in enumerate(seqs):
        h, _ = mlp_io(model, seq, LAYER)
        acts = acts_by_hand(transcoders, LAYER, h, k)
        features = chosen_features(acts)
        W_dec = transcoders.layers[LAYER].W_dec
        for eps in (-1.0, 0.5):
            deltas = torch.zeros(transcoders.n_layers, len(seq), model.config.hidden_size)
            for f in features:
                act = acts[f["position"], f["feature"]]
                deltas[LAYER, f["position"]] += eps * np.sign(f["H_c"]) * act * W_dec[f["feature"]]
            expected = frozen_value(model, seq, targets[s], deltas)
            got = steerer.measure(seqs, targets, [Row(s, Steer.of(features, eps))])[0]
            assert got == pytest.approx(expected, abs=1e-4)
            unsteered = frozen_value(model, seq, targets[s], torch.zeros_like(deltas))
            assert abs(expected - unsteered) > 1e-3  # the steering does something


def test_eps_minus_one_zeroes_a_positive_feature(toy):
    model, tokenizer, transcoders, k = toy
    seq = sequences_of(tokenizer)[0][0]
    h, out = mlp_io(model, seq, LAYER)
    acts = acts_by_hand(transcoders, LAYER, h, k)
    t = 9
    f = int(acts[t].argmax())
    assert acts[t, f] > 0
    steerer = Steerer(model, transcoders, batch_size=1)
    feature = [{"layer": LAYER, "position": t, "feature": f, "H_c": 0.2}]
    plan = steerer.plan([Steer.of(feature, -1.0)])
    steered = steering_hook(transcoders, plan)(LAYER, h[None], out[None])[0]
    tc = transcoders.layers[LAYER]
    error = out[t] - (acts[t] @ tc.W_dec + tc.b_dec)  # what the transcoder misses, kept
    zeroed = acts[t].clone()
    zeroed[f] = 0.0
    torch.testing.assert_close(steered[t] - error, zeroed @ tc.W_dec + tc.b_dec, atol=1e-5, rtol=0)
    others = torch.arange(len(seq)) != t
    assert torch.equal(steered[others], out[others])
    assert steering_hook(transcoders, plan)(LAYER + 1, h[None], out[None]) is None


def test_batched_equals_one_by_one(toy):
    model, tokenizer, transcoders, k = toy
    seqs, n_context = sequences_of(tokenizer)
    targets = target_rows(
        [s[n_context:] for s in seqs], n_context, [0] * 3, pooling="mean", position_shift=1
    )
    h, _ = mlp_io(model, seqs[0], 0)
    acts0 = acts_by_hand(transcoders, 0, h, k)
    h, _ = mlp_io(model, seqs[0], 2)
    acts2 = acts_by_hand(transcoders, 2, h, k)
    features = [  # two layers: the later one reads the earlier one's steering
        {"layer": 0, "position": 7, "feature": int(acts0[7].argmax()), "H_c": 1.0},
        {"layer": 2, "position": 14, "feature": int(acts2[14].argmax()), "H_c": -1.0},
    ]
    rows = [Row(s, None) for s in range(3)]
    rows += [Row(s, Steer.of(features[: 1 + s % 2], eps)) for eps in (-1, 0.5, 1) for s in range(3)]
    batched = Steerer(model, transcoders, batch_size=16)
    single = Steerer(model, transcoders, batch_size=1)
    together = batched.measure(seqs, targets, rows)
    alone = single.measure(seqs, targets, rows)
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-4)
    assert (batched.forward_passes, single.forward_passes) == (1, len(rows))
    assert np.ptp(together[3:]) > 1e-2
