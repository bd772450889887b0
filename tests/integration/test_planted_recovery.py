"""RD recovers planted motifs; on crossed motifs two views beat either view alone.

The (beta, gamma) choices follow from the generator's scale (see the docstring of
motif_discovery.data.synthetic): "easy" motifs pay for their rate at beta = 1, gamma = 0.5;
crossed motifs that share a mechanism differ only semantically, which pays only for
beta_e > 4 ln 2 / Delta_e ~ 1.6, while beta_a must stay small enough that noise never pays
(beta = 3, gamma = 0.8: beta_e = 2.4, beta_a = 0.6).
"""

import numpy as np
import pytest

from motif_discovery.clustering import em_loop
from motif_discovery.clustering.baselines import run_baselines
from motif_discovery.clustering.metrics import ari, evaluate_partition
from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic

pytestmark = pytest.mark.usefixtures("one_thread")


def test_easy_planted_motifs_are_recovered():
    fs = generate_synthetic(SyntheticParams(setting="easy", n_meanings=4), seed=0)
    result = em_loop.fit_rd(fs.e, fs.a, fs.p, 1.0, 0.5)
    truth = fs.labels["motif"]
    assert ari(truth, result.assign) >= 0.9
    planted = evaluate_partition(fs.e, fs.a, fs.p, truth, 1.0, 0.5)
    assert planted["L"] + 1e-6 >= result.terms.L


def test_crossed_two_views_beat_one_view():
    beta, gamma = 3.0, 0.8
    fs = generate_synthetic(SyntheticParams(setting="crossed", n_meanings=3), seed=0)
    truth = np.array(fs.labels["motif"])
    result = em_loop.fit_rd(fs.e, fs.a, fs.p, beta, gamma)
    rd_ari = ari(truth, result.assign)
    scores = run_baselines(
        fs.e, fs.a, fs.p, result.K, beta, gamma, labels=truth, distortion_scale="sum"
    )
    assert rd_ari >= 0.9
    for name in ("KM-S", "KM-A"):
        assert rd_ari > scores[name]["ARI"] + 0.2, name
        assert scores[name]["L"] > result.terms.L, name  # RD minimizes L; one view does not
    # one view alone sees only the three meanings or the three mechanisms
    for view in ("semantic", "mechanism"):
        assert ari(truth, fs.labels[view]) < 0.6
