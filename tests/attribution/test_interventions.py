"""Interventions on the real toy model (Hugging Face forward, our own hooks) against the
rows' predictions: adding eps * a_s * W_dec[s] at the top-attributed features' (layer,
position) changes the pooled target by eps * sum_s A(s -> target).

A is a direct effect: attention patterns, normalization scales and every other MLP output
are held at their clean values (attribution/frozen.py holds exactly these on the real
model; no circuit-tracer involved), which makes the model linear in the intervention: the
change must match for small and large eps alike. Left free, the norms' scale invariance
cancels much of it (benchmarks/attribution_interventions.py).
"""

import pytest
import torch

from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.attribution.frozen import FrozenRun, centred
from tests.attribution.conftest import COPY_PREFIX, centred_logits, context_ids, tokens

pytestmark = pytest.mark.usefixtures("one_thread")
HOLD = {"norm", "attention", "mlp"}


def test_clean_run_reproduces_the_model(real):
    model, tok = real
    seq = [*context_ids(tok, COPY_PREFIX), *tokens(tok, " mostly wood , of course .")]
    run = FrozenRun(model, seq)
    torch.testing.assert_close(centred(run.clean), centred_logits(model, seq), rtol=0, atol=1e-4)
    zero = torch.zeros(len(model.model.layers), len(seq), model.config.hidden_size)
    for hold in ({"norm"}, {"attention"}, HOLD):
        torch.testing.assert_close(run.logits(zero, hold), run.clean, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="unknown parts"):
        run.logits(zero, {"mlps"})


TEXTS = [" hardwood .", " mostly wood , of course .", " mostly lumber ."]


def top_feature_intervention(replacement, tok, text, top_k=5):
    """(sum of the top-|A| features' attributions, the deltas a_s W_dec[s] that add them
    once more at their layer and position, the sequence, the pooled target's reader)."""
    prefix, cont = context_ids(tok, COPY_PREFIX), tokens(tok, text)
    seq = [*prefix, *cont]
    result = attribute_prefix(replacement, prefix, [cont], AttributionSettings(None))
    src, a = result.sources, result.a[0, : result.sources.n_features]
    top = a.abs().argsort(descending=True)[:top_k]
    positions = torch.arange(len(cont)) + len(prefix) - 1
    W_dec = [tc.W_dec.detach() for tc in replacement.transcoders._module]
    deltas = torch.zeros(len(W_dec), len(seq), W_dec[0].shape[1])
    for i in top:
        layer, pos = src.feature_layer[i], src.feature_position[i]
        deltas[layer, pos] += src.feature_activation[i] * W_dec[layer][src.feature_id[i]]

    def pooled(logits):
        return centred(logits)[positions, torch.tensor(cont)].mean().item()

    return a[top].sum().item(), deltas, seq, pooled


@pytest.mark.parametrize("text", TEXTS)
def test_scaling_top_features_moves_target_as_predicted(replacement, real, text):
    model, tok = real
    attributed, deltas, seq, pooled = top_feature_intervention(replacement, tok, text)
    run = FrozenRun(model, seq)
    for eps in (0.01, -1.0):
        predicted = eps * attributed
        real_change = pooled(run.logits(eps * deltas, HOLD)) - pooled(run.clean)
        assert real_change * predicted > 0
        assert real_change == pytest.approx(predicted, rel=2e-3, abs=1e-5)


@pytest.mark.parametrize("text", TEXTS)
def test_removing_top_features_moves_the_free_model_in_the_predicted_direction(
    replacement, real, text
):
    """The real model left free (norms, attention and later MLPs respond): removing the
    top-attributed features (eps = -1) moves the target in the predicted direction. The
    amount is not the predicted one (here 0.13x-1x; benchmarks/attribution_interventions.py:
    84% of 32 planted continuations agree in sign, median real/predicted 1.14; small eps
    agree in sign only 41% of the time, the norms' scale invariance absorbing them)."""
    model, tok = real
    attributed, deltas, seq, pooled = top_feature_intervention(replacement, tok, text)
    run = FrozenRun(model, seq)
    real_change = pooled(run.logits(-deltas, set())) - pooled(run.clean)
    assert real_change * -attributed > 0
