"""Stage 3's rows on the real toy model, checked against the real model's logits and
circuit-tracer's own `attribute()`."""

import pytest
import torch
from circuit_tracer import attribute

from motif_discovery.attribution.backward import (
    Unembedding,
    forward,
    pad,
    target_gradients,
)
from motif_discovery.attribution.compute import (
    AttributionSettings,
    attribute_prefix,
    attribute_rows,
)
from motif_discovery.attribution.sources import SourceIndex
from motif_discovery.attribution.targets import target_rows
from tests.attribution.conftest import COPY_PREFIX, TEXTS, centred_logits, context_ids, tokens

pytestmark = pytest.mark.usefixtures("one_thread")


def complete_rows(replacement, prefix, cont, rows):
    """Per row: (sum over every source of the whole sequence, constant terms). Constants
    are what no source holds: each transcoder's b_dec at positions >= 1 and the MLP
    outputs at position 0 (whose features and error are zeroed)."""
    seq = [*prefix, *cont]
    ctx = replacement.setup_attribution(torch.tensor(seq))
    sources = SourceIndex.from_context(ctx, len(seq), None)
    run = forward(replacement, ctx, pad([seq] * len(rows), 0, "cpu"))
    grads = target_gradients(run, rows, Unembedding.of(replacement))
    constants = torch.zeros(len(rows), dtype=torch.float64)
    for layer, transcoder in enumerate(replacement.transcoders._module):
        g = grads[layer + 1].double()
        constants += (g[:, 1:] @ transcoder.b_dec.double()).sum(1)
        constants += g[:, 0] @ run.writes[layer + 1][0, 0].detach().double()
    return sources.contract(grads).double().sum(1), constants


def test_forced_token_is_read_at_its_predicting_position(replacement, real):
    """' course' after ' , of' is certain; its target is its centred logit where it is
    predicted (the top logit there), and the shifted variant reads another position."""
    model, tok = real
    prefix, cont = context_ids(tok, COPY_PREFIX), tokens(tok, " mostly wood , of course .")
    j = cont.index(tok.convert_tokens_to_ids("course"))
    centred = centred_logits(model, [*prefix, *cont])
    at = len(prefix) - 1 + j
    assert centred[at].softmax(-1)[cont[j]] > 0.99
    values = {}
    for shift in (0, 1):
        rows = target_rows([cont], len(prefix), [0], pooling="max", position_shift=shift)
        total, constants = complete_rows(replacement, prefix, cont, rows[j : j + 1])
        values[shift] = (total + constants).item()
    assert values[0] == pytest.approx(centred[at, cont[j]].item(), abs=1e-4)
    assert values[0] == pytest.approx(centred[at].max().item(), abs=1e-4)
    assert values[1] == pytest.approx(centred[at + 1, cont[j]].item(), abs=1e-4)
    assert values[0] - values[1] > 5.0


@pytest.mark.parametrize("shift", [0, 1])
def test_completeness_of_pooled_mean(replacement, real, shift):
    """Sources + constants = mean of the centred logits over the continuation, to 1e-4."""
    model, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    for text in TEXTS[:3]:
        cont = tokens(tok, text)
        rows = target_rows([cont], len(prefix), [0], pooling="mean", position_shift=shift)
        total, constants = complete_rows(replacement, prefix, cont, rows)
        centred = centred_logits(model, [*prefix, *cont])
        positions = torch.arange(len(cont)) + len(prefix) - 1 + shift
        expected = centred[positions, torch.tensor(cont)].mean()
        assert (total + constants).item() == pytest.approx(expected.item(), abs=1e-4)


def test_one_token_row_equals_circuit_tracer_attribute(replacement, real):
    _, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    first = tokens(tok, " hardwood !")[:1]
    ours = attribute_prefix(replacement, prefix, [first], AttributionSettings(None))
    graph = attribute(torch.tensor(prefix), replacement, attribution_targets=torch.tensor(first))
    edges = graph.adjacency_matrix[-1, :-1]
    assert ours.a.shape == (1, len(edges))
    torch.testing.assert_close(ours.a[0], edges, rtol=0, atol=1e-6)
    expected_features = graph.active_features[graph.selected_features]
    found = torch.stack(
        [ours.sources.feature_layer, ours.sources.feature_position, ours.sources.feature_id], dim=1
    )
    assert torch.equal(found, expected_features)


def per_token(replacement, prefix, conts, pooling, batch_size=4):
    """Rows of every target alone (one backward pass per token)."""
    ctx = replacement.setup_attribution(torch.tensor(prefix))
    sources = SourceIndex.from_context(ctx, len(prefix), None)
    rows = target_rows(
        conts, len(prefix), [0] * len(conts), pooling=pooling, position_shift=0, per_token=True
    )
    values = attribute_rows(replacement, ctx, sources, prefix, conts, rows, batch_size)
    return values, torch.tensor([r.owner for r in rows])


@pytest.mark.parametrize("pooling", ["mean", "sum", "max"])
def test_pooling_equals_pooled_per_token_rows(replacement, real, pooling):
    _, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    conts = [tokens(tok, t) for t in TEXTS]
    pooled = attribute_prefix(
        replacement, prefix, conts, AttributionSettings(None, pooling=pooling, batch_size=2)
    ).a
    values, owners = per_token(replacement, prefix, conts, pooling)
    for n in range(len(conts)):
        mine = values[owners == n]
        expected = mine.max(0).values if pooling == "max" else mine.sum(0)
        torch.testing.assert_close(pooled[n], expected, rtol=0, atol=1e-5)


def test_batching_and_shared_source_index(replacement, real):
    """Rows do not depend on the batch (padding) and the prefix-only source index gives
    the same columns as each continuation's own full-sequence graph."""
    _, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    conts = [tokens(tok, t) for t in TEXTS]
    one = attribute_prefix(replacement, prefix, conts, AttributionSettings(None, batch_size=1))
    many = attribute_prefix(replacement, prefix, conts, AttributionSettings(None, batch_size=5))
    torch.testing.assert_close(one.a, many.a, rtol=0, atol=1e-5)
    P, src = len(prefix), one.sources
    for n, cont in enumerate(conts[:2]):
        seq = [*prefix, *cont]
        ctx = replacement.setup_attribution(torch.tensor(seq))
        full = SourceIndex.from_context(ctx, len(seq), None)
        rows = target_rows([cont], P, [0], pooling="mean", position_shift=0)
        grads = target_gradients(
            forward(replacement, ctx, pad([seq], 0, "cpu")), rows, Unembedding.of(replacement)
        )
        row = full.contract(grads)[0]
        in_prefix = torch.nonzero(full.feature_position < P).squeeze(1)
        assert torch.equal(full.feature_id[in_prefix], src.feature_id)
        torch.testing.assert_close(full.feature_activation[in_prefix], src.feature_activation)
        L, T = full.n_layers, len(seq)
        errors = row[full.n_features :][: L * T].reshape(L, T)[:, :P].reshape(-1)
        expected = torch.cat([row[in_prefix], errors, row[-T:][:P]])
        torch.testing.assert_close(one.a[n], expected, rtol=0, atol=1e-5)


def test_top_features_by_absolute_activation(replacement, real):
    _, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    ctx = replacement.setup_attribution(torch.tensor(prefix))
    every = SourceIndex.from_context(ctx, len(prefix), None)
    top = SourceIndex.from_context(ctx, len(prefix), 20)
    assert top.n_features == 20 and every.n_features > 20
    threshold = every.feature_activation.abs().sort(descending=True).values[19]
    assert (top.feature_activation.abs() >= threshold).all()
    keys = top.feature_layer * 10**6 + top.feature_position * 10**4 + top.feature_id
    assert torch.equal(keys, keys.sort().values)
    assert (every.feature_position > 0).all()
    assert SourceIndex.from_context(ctx, len(prefix), 10**6).n_features == every.n_features


def test_a_different_context_is_refused(replacement, real):
    """The shared source index holds only while every row starts with the prefix."""
    _, tok = real
    prefix = context_ids(tok, COPY_PREFIX)
    ctx = replacement.setup_attribution(torch.tensor(prefix))
    sources = SourceIndex.from_context(ctx, len(prefix), None)
    other = [*prefix[:-2], prefix[-1], prefix[-2]]
    rows = target_rows([[5]], len(prefix), [0], pooling="mean", position_shift=0)
    with pytest.raises(RuntimeError, match="prefix logits differ"):
        attribute_rows(replacement, ctx, sources, other, [[5]], rows, 1)
