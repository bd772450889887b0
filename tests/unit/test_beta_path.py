"""The beta path against independent computations: a critical beta by hand and by brute
force over every bipartition, the planted partition on the path, and cold fits."""

import itertools
import math
import re

import numpy as np
import pytest
import torch

from motif_discovery.clustering import stage as stage5
from motif_discovery.clustering.beta_path import follow_beta_path, lineage, lower_envelope
from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.metrics import ari
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.data.prefixes import PREFIXES_FILE
from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic
from motif_discovery.embedding.features import save_features
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json, write_jsonl

pytestmark = pytest.mark.usefixtures("one_thread")

# Two groups: A = rows 0-1, B = rows 2-4, apart in both views, a little spread inside.
E = np.array([[1.0, 0.0], [0.8, 0.6], [-1.0, 0.0], [-0.8, 0.6], [-0.8, -0.6]])
A = np.array(
    [
        [2.0, 0.0, 0.0],
        [2.5, 0.1, 0.0],
        [0.0, 0.0, 3.0],
        [0.2, 0.0, 3.5],
        [0.0, -0.1, 2.5],
    ]
)
P = np.array([0.1, 0.3, 0.2, 0.15, 0.25])


def weighted_median(x, w):
    """argmin_m sum_n w_n |x_n - m| per column, by trying every data value (brute force)."""
    cost = (w[:, None, None] * np.abs(x[:, None, :] - x[None, :, :])).sum(0)
    return x[cost.argmin(0), np.arange(x.shape[1])]


def terms(e, a, p, labels):
    """(H, D_e, D_a) of a partition with numpy: weighted means, brute-force medians."""
    p = p / p.sum()
    H = D_e = D_a = 0.0
    for k in np.unique(labels):
        m = labels == k
        w = p[m]
        H -= w.sum() * math.log(w.sum())
        mu_e = (w[:, None] * e[m]).sum(0) / w.sum()
        D_e += (w * ((e[m] - mu_e) ** 2).sum(1)).sum()
        D_a += (w * np.abs(a[m] - weighted_median(a[m], w)).sum(1)).sum()
    return H, D_e, D_a


def view_weights_by_hand(gamma, scale, d_e, d_a):
    return (gamma, 1 - gamma) if scale == "sum" else (gamma / d_e, (1 - gamma) / d_a)


def root(split, gamma, scale, e=E, a=A, p=P):
    """beta* = dH / -(w_e dD_e + w_a dD_a) of splitting everything into (split, ~split)."""
    H0, De0, Da0 = terms(e, a, p, np.zeros(len(p), int))
    H1, De1, Da1 = terms(e, a, p, split.astype(int))
    w_e, w_a = view_weights_by_hand(gamma, scale, e.shape[1], a.shape[1])
    dW = w_e * (De1 - De0) + w_a * (Da1 - Da0)
    return (H1 - H0) / -dW if dW < 0 else math.inf, (H1 - H0, De1 - De0, Da1 - Da0)


@pytest.mark.parametrize("gamma", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("scale", ["sum", "per_dim"])
def test_critical_beta_of_a_two_motif_split_matches_the_split_inequality(gamma, scale):
    planted = np.array([0, 0, 1, 1, 1], bool)
    by_hand, (dH, dD_e, dD_a) = root(planted, gamma, scale)
    # dH by hand: the entropy of (0.4, 0.6)
    assert dH == pytest.approx(-(0.4 * math.log(0.4) + 0.6 * math.log(0.6)))
    # brute force: no other bipartition of the 5 points pays earlier
    others = [
        root(np.array(bits, bool), gamma, scale)[0]
        for bits in itertools.product([0, 1], repeat=5)
        if 0 < sum(bits) < 5 and bits[0] == 0 and list(bits) != [0, 0, 1, 1, 1]
    ]
    assert by_hand < min(others)
    e, a, p = (torch.tensor(x) for x in (E, A, P))
    path = follow_beta_path(e, a, p, gamma, FitSettings(distortion_scale=scale), K_clamp=2)
    assert [ev.result.K for ev in path.events] == [1, 2]
    event = path.events[1]
    assert event.beta == pytest.approx(by_hand, rel=1e-9)
    assert event.split["beta_star"] == pytest.approx(by_hand, rel=1e-9)
    assert (event.split["dH"], event.split["dD_e"], event.split["dD_a"]) == pytest.approx(
        (dH, dD_e, dD_a), rel=1e-9
    )
    assert ari(planted.astype(int), event.result.assign) == 1.0
    assert event.children == [[0, 1]]
    # just below the critical beta one motif is best, just above the split (cold fits agree)
    below = fit_rd(e, a, p, by_hand * 0.99, gamma, distortion_scale=scale)
    above = fit_rd(e, a, p, by_hand * 1.01, gamma, distortion_scale=scale)
    assert below.K == 1 and above.K == 2


def test_lineage_and_envelope_by_hand():
    before = torch.tensor([0, 0, 0, 1, 1, 2])
    after = torch.tensor([0, 2, 2, 1, 1, 1])
    p = torch.tensor([0.3, 0.1, 0.1, 0.2, 0.2, 0.1])
    children, merges = lineage(before, after, p)
    assert children == [[0, 2], [1], []]
    assert merges == [{"into": 1, "from": [1, 2]}]
    # lines L = H + beta W: 0 + 4 beta, 1 + 2 beta (crosses at 0.5), 1.1 + 1.9 beta (never
    # lowest), 3 + 0 beta (crosses the second at 1.0)
    assert lower_envelope([0, 1, 1.1, 3], [4, 2, 1.9, 0]) == [(0, 0.0), (1, 0.5), (3, 1.0)]


def planted(setting, seed):
    params = SyntheticParams(setting=setting, n=200, d_e=64, d_a=512)
    f = generate_synthetic(params, seed=seed)
    return f.e.double(), f.a.double(), f.p.double(), np.array(f.labels["motif"])


@pytest.mark.parametrize(("setting", "gamma", "seed"), [("easy", 0.5, 0), ("crossed", 0.8, 1)])
def test_path_passes_through_the_planted_partition(setting, gamma, seed):
    e, a, p, truth = planted(setting, seed)
    path = follow_beta_path(e, a, p, gamma, FitSettings(), K_clamp=10)
    assert path.events[0].result.K == 1 and path.events[0].beta == 0.0
    betas = [ev.beta for ev in path.events]
    assert betas == sorted(betas)
    assert max(ari(truth, ev.result.assign) for ev in path.events) == 1.0
    # every event's figures are those of its partition (numpy, independent of the engine)
    for ev in path.events:
        H, D_e, D_a = terms(e.numpy(), a.numpy(), p.numpy(), ev.result.assign.numpy())
        assert (ev.result.terms.H, ev.result.terms.D_e, ev.result.terms.D_a) == pytest.approx(
            (H, D_e, D_a), rel=1e-9, abs=1e-12
        )


@pytest.mark.parametrize(("setting", "gamma", "seed"), [("easy", 0.5, 2), ("crossed", 0.8, 0)])
def test_path_partition_scores_no_higher_than_a_cold_fit(setting, gamma, seed):
    e, a, p, _ = planted(setting, seed)
    path = follow_beta_path(e, a, p, gamma, FitSettings(), K_clamp=8)
    assert path.stopped == "K_clamp"
    starts = [ev.beta for ev in path.events[1:]] + [path.beta_end]
    betas = [b * f for b in starts for f in (0.7, 1.001)]
    betas = [b for b in betas if b <= path.beta_end]
    assert len(betas) >= 6
    w_e, w_a = view_weights_by_hand(gamma, "sum", e.shape[1], a.shape[1])
    for beta in betas:
        ev = path.at(beta)
        H, D_e, D_a = terms(e.numpy(), a.numpy(), p.numpy(), ev.result.assign.numpy())
        cold = fit_rd(e, a, p, beta, gamma)
        assert H + beta * (w_e * D_e + w_a * D_a) <= cold.terms.L + 1e-9


def test_beta_max_stops_the_path_and_is_validated():
    e, a, p, _ = planted("easy", 0)
    full = follow_beta_path(e, a, p, 0.5, FitSettings(), K_clamp=6)
    cap = full.events[1].beta * 1.0001
    short = follow_beta_path(e, a, p, 0.5, FitSettings(), K_clamp=6, beta_max=cap)
    assert short.stopped == "beta_max" and short.beta_end == cap
    assert [ev.beta for ev in short.events] == [ev.beta for ev in full.events[:2]]
    with pytest.raises(InputError, match="beta_max"):
        follow_beta_path(e, a, p, 0.5, FitSettings(), K_clamp=6, beta_max=-1.0)


def test_config_accepts_path_and_validates_beta_max():
    config = load_config(overrides=["clustering.beta=path", "clustering.beta_max=3.5"])
    assert config.clustering.beta == "path" and config.clustering.beta_max == 3.5
    assert load_config().clustering.beta_max is None
    for override, message in [
        ("clustering.beta=paths", "clustering.beta: 'paths' is not"),
        ("clustering.beta_max=0", "clustering.beta_max: 0.0 must be a finite number > 0"),
        ("clustering.beta_max=Infinity", "clustering.beta_max: inf must be a finite number"),
        ('clustering.beta_max="x"', "clustering.beta_max: 'x' is not"),
    ]:
        with pytest.raises(InputError, match=re.escape(message)):
            load_config(overrides=[override])


def test_stage_5_writes_one_path_per_gamma_and_lists_them(tmp_path):
    features = generate_synthetic(SyntheticParams(n=120, d_e=32, d_a=128), seed=3)
    save_features(tmp_path / "4_feature_extraction", features)
    write_jsonl(tmp_path / PREFIXES_FILE, [{"prefix_id": features.prefix_id}])
    sets = ["clustering.beta=path", "clustering.gamma=[0.3,0.7]", "clustering.K_clamp=4"]
    config = load_config(overrides=[*sets, "run.device=cpu", "run.dtype=float64"])
    stage5.run(config, tmp_path)
    out = tmp_path / "5_gaussian_clustering" / features.prefix_id
    summary = read_json(out / "summary.json")
    assert [row["file"] for row in summary["beta_paths"]] == [
        "beta_path_gamma0.3.json",
        "beta_path_gamma0.7.json",
    ]
    e, a, p = features.e.double(), features.a.double(), features.p.double()
    for row in summary["beta_paths"]:
        record = read_json(out / row["file"])
        assign = load_tensors(out / row["file"].replace(".json", ".safetensors"))["assign"]
        assert assign.tolist() == [event["assign"] for event in record["events"]]
        assert record["events"][0]["K"] == 1
        assert record["stopped"] == "K_clamp" and record["gamma"] == row["gamma"]
        w_e, w_a = view_weights_by_hand(row["gamma"], "sum", 32, 128)
        for event in record["events"]:
            H, D_e, D_a = terms(e.numpy(), a.numpy(), p.numpy(), np.array(event["assign"]))
            assert event["L"] == pytest.approx(H + event["beta_fit"] * (w_e * D_e + w_a * D_a))
    # a rerun with fewer gammas removes the other gamma's files (and says so)
    stage5.run(load_config(overrides=[*sets[:1], "clustering.gamma=0.7", *sets[2:]]), tmp_path)
    assert sorted(path.name for path in out.iterdir()) == [
        "beta_path_gamma0.7.json",
        "beta_path_gamma0.7.safetensors",
        "summary.json",
    ]


def test_grid_with_beta_path_keeps_both_and_summarizes_both(tmp_path):
    features = generate_synthetic(SyntheticParams(n=120, d_e=32, d_a=128), seed=3)
    save_features(tmp_path / "4_feature_extraction", features)
    write_jsonl(tmp_path / PREFIXES_FILE, [{"prefix_id": features.prefix_id}])
    sets = ["clustering.beta=1.0", "clustering.gamma=0.5", "clustering.K_clamp=4"]
    config = load_config(overrides=[*sets, "clustering.beta_path=true", "run.device=cpu"])
    stage5.run(config, tmp_path)
    out = tmp_path / "5_gaussian_clustering" / features.prefix_id
    summary = read_json(out / "summary.json")
    assert [row["beta"] for row in summary["configs"]] == [1.0]
    assert [row["file"] for row in summary["beta_paths"]] == ["beta_path_gamma0.5.json"]
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "beta1.0_gamma0.5.json",
        "beta1.0_gamma0.5.safetensors",
        "beta_path_gamma0.5.json",
        "beta_path_gamma0.5.safetensors",
        "summary.json",
    ]
    # turning the path off removes its files and its summary rows
    stage5.run(load_config(overrides=[*sets, "clustering.beta_path=false"]), tmp_path)
    assert sorted(path.name for path in out.iterdir()) == [n for n in names if "path" not in n]
    assert "beta_paths" not in read_json(out / "summary.json")
