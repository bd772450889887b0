"""The synthetic generator: shapes, stage-4 preprocessing checked with numpy, seeds, files."""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from motif_discovery.data.synthetic import (
    SyntheticParams,
    active_count,
    generate_synthetic,
    motif_table,
    resolve_synthetic_args,
    sample_planted,
    write_synthetic_run,
)
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl

SMALL = SyntheticParams(n=120, d_e=48, d_a=600, n_meanings=3, n_active=40, n_spurious=20)


def l1_cost(x: np.ndarray, w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sum_n w_n |x_nj - m_j| per column j (float64)."""
    return (w[:, None] * np.abs(x - m[None, :])).sum(0)


@pytest.mark.parametrize("setting", ["easy", "crossed"])
def test_default_shapes_norms_and_labels(setting):
    fs = generate_synthetic(SyntheticParams(setting=setting), seed=3)
    n = 500
    assert fs.e.shape == (n, 768) and fs.a.shape == (n, 8192)
    assert fs.p.shape == (n,) and fs.H_0.shape == (8192,)
    assert fs.e.dtype == fs.a.dtype == torch.float32
    np.testing.assert_allclose(fs.e.double().norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert (fs.p > 0).all()
    # the centred, scaled view has mean squared norm 1 by construction of s
    assert float(fs.a.double().square().sum(1).mean()) == pytest.approx(1.0, rel=1e-5)
    # sparse-ish: most coordinates of a row are exactly zero (H_0 is zero off the patterns)
    assert float((fs.a != 0).float().mean()) < 0.05
    table = motif_table(setting, 4)
    motif = np.array(fs.labels["motif"])
    assert sorted(set(motif.tolist())) == list(range(len(table)))
    for name, col in (("semantic", 0), ("mechanism", 1)):
        np.testing.assert_array_equal(fs.labels[name], [table[k][col] for k in motif])
    assert len(fs.continuation_ids) == len(set(fs.continuation_ids)) == n


def test_crossed_table_needs_both_views():
    """Each meaning and each mechanism is shared by exactly two motifs; no pair repeats."""
    for m in (2, 3, 5):
        table = motif_table("crossed", m)
        assert len(table) == 2 * m == len(set(table))
        for col in (0, 1):
            counts = np.bincount([t[col] for t in table])
            assert counts.tolist() == [2] * m
    assert motif_table("easy", 3) == [(0, 0), (1, 1), (2, 2)]


def test_h0_is_weighted_median_and_scale_as_defined():
    """H_0 minimizes sum_n P_n |a_nj - m| per coordinate (checked against every data value
    of the column), s = sqrt(mean_n ||a_n - H_0||^2), a = (a_raw - H_0) / s; numpy float64."""
    seed = 5
    raw = sample_planted(SMALL, seed)
    fs = generate_synthetic(SMALL, seed=seed)
    x = raw.a_raw.astype(np.float64)
    w = raw.p.astype(np.float64)
    h_0 = fs.H_0.double().numpy()
    best = np.full(x.shape[1], np.inf)
    for candidate in x:  # the optimum of a weighted L1 is attained at a data value
        best = np.minimum(best, l1_cost(x, w, candidate))
    np.testing.assert_allclose(l1_cost(x, w, h_0), best, rtol=1e-9, atol=1e-9)
    assert np.count_nonzero(h_0) >= SMALL.n_shared  # the shared baseline was removed
    s = np.sqrt(np.mean(np.sum((x - h_0) ** 2, axis=1)))
    assert fs.scale == pytest.approx(s, rel=1e-6)
    np.testing.assert_allclose(fs.a.numpy(), (x - h_0) / s, atol=1e-6)
    np.testing.assert_allclose(fs.raw_attribution(fs.a).numpy(), x, atol=1e-5)
    np.testing.assert_array_equal(fs.e.numpy(), raw.e)


def test_reproducible_by_seed():
    one, two = generate_synthetic(SMALL, seed=7), generate_synthetic(SMALL, seed=7)
    for key in ("e", "a", "p", "H_0"):
        assert torch.equal(getattr(one, key), getattr(two, key))
    assert one.labels == two.labels and one.scale == two.scale
    other = generate_synthetic(SMALL, seed=8)
    assert not torch.equal(one.a, other.a)


def test_small_d_a_shrinks_the_supports():
    """d_a = 128 leaves (128 - 32) // 3 = 32 coordinates per mechanism: every row's pattern
    lies on its mechanism's support, disjoint between mechanisms."""
    params = SyntheticParams(**{**SMALL.__dict__, "d_a": 128, "noise": 0.0, "p_active": 1.0})
    assert active_count(params) == 32
    fs = generate_synthetic(params, seed=0)
    mechanism = np.array(fs.labels["mechanism"])
    supports = [set(np.flatnonzero(fs.a[mechanism == c].abs().sum(0)).tolist()) for c in range(3)]
    assert all(len(s) == 32 for s in supports)
    assert not (supports[0] & supports[1] or supports[1] & supports[2] or supports[0] & supports[2])


def test_noise_zero_gives_exact_planted_views():
    """Without noise the semantic view is exactly the meaning centres."""
    fs = generate_synthetic(SyntheticParams(**{**SMALL.__dict__, "noise": 0.0}), seed=1)
    meaning = np.array(fs.labels["semantic"])
    e = fs.e.numpy()
    for i in set(meaning.tolist()):
        rows = e[meaning == i]
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-7)


def test_write_run_round_trip(tmp_path):
    params = SyntheticParams(**{**SMALL.__dict__, "setting": "crossed"})
    ids = write_synthetic_run(tmp_path, params, n_prefixes=2, seed=4)
    rows = read_jsonl(tmp_path / "1_data_preparation" / "prefixes.jsonl")
    assert [r["prefix_id"] for r in rows] == ids
    assert all(r["source"] == "synthetic" and r["setting"] == "crossed" for r in rows)
    assert all(isinstance(r["text"], str) and r["text"] for r in rows)
    for i, prefix_id in enumerate(ids):
        loaded = load_features(tmp_path / "4_feature_extraction", prefix_id)
        direct = generate_synthetic(params, seed=(4, i), prefix_id=prefix_id)
        for key in ("e", "a", "p", "H_0"):
            assert torch.equal(getattr(loaded, key), getattr(direct, key))
        assert loaded.scale == pytest.approx(direct.scale, rel=1e-6)  # stored as float32
        assert loaded.labels == direct.labels
        assert loaded.continuation_ids == direct.continuation_ids
        assert loaded.texts == direct.texts
    a0 = load_features(tmp_path / "4_feature_extraction", ids[0]).a
    assert not torch.equal(a0, load_features(tmp_path / "4_feature_extraction", ids[1]).a)


@pytest.mark.parametrize(
    "change",
    [
        {"setting": "hard"},
        {"n": 5},
        {"d_a": 20},
        {"noise": -1.0},
        {"n_meanings": 0},
        {"setting": "crossed", "n_meanings": 1},
    ],
)
def test_bad_parameters_raise(change):
    with pytest.raises(InputError):
        generate_synthetic(SyntheticParams(**{**SMALL.__dict__, **change}))


SCRIPT = Path(__file__).resolve().parents[2] / "hypotheses_experiment" / "generate_data.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_cli_flags_and_config_defaults(tmp_path):
    """Flags alone; then the driver's call: config keys are defaults, explicit flags win."""
    proc = run_script(
        "--run-dir",
        str(tmp_path / "a"),
        "--setting",
        "crossed",
        "--n-prefixes",
        "2",
        "--n",
        "60",
        "--d-e",
        "16",
        "--d-a",
        "200",
        "--seed",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    loaded = load_features(tmp_path / "a" / "4_feature_extraction", "synthetic_crossed_001")
    params = SyntheticParams(setting="crossed", n=60, d_e=16, d_a=200)
    assert torch.equal(loaded.a, generate_synthetic(params, seed=(3, 1)).a)

    config = Path(__file__).resolve().parents[2] / "configs" / "synthetic.json"
    proc = run_script(
        "--config",
        str(config),
        "--run-dir",
        str(tmp_path / "b"),
        "--set",
        "synthetic.n=50",
        "--set",
        "synthetic.d_e=8",
        "--set",
        "synthetic.d_a=100",
        "--setting",
        "easy",
        "--shard",
        "1/2",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_jsonl(tmp_path / "b" / "1_data_preparation" / "prefixes.jsonl")
    assert len(rows) == 2 and {r["setting"] for r in rows} == {"easy"}  # synthetic.n_prefixes
    written = sorted(p.name for p in (tmp_path / "b" / "4_feature_extraction").iterdir())
    assert written == ["synthetic_easy_001.json", "synthetic_easy_001.safetensors"]
    loaded = load_features(tmp_path / "b" / "4_feature_extraction", "synthetic_easy_001")
    params = SyntheticParams(setting="easy", n=50, d_e=8, d_a=100)
    assert torch.equal(loaded.e, generate_synthetic(params, seed=(42, 1)).e)  # run.seed 42


def test_cli_bad_input_exits_2(tmp_path):
    proc = run_script("--run-dir", str(tmp_path), "--n", "3")
    assert proc.returncode == 2 and "synthetic.n" in proc.stderr
    flags = dict.fromkeys(["config", "run_dir", "setting", "n", "d_e", "d_a", "n_meanings"])
    flags |= dict.fromkeys(["noise", "n_prefixes", "seed"])
    with pytest.raises(InputError, match="--run-dir or --config"):
        resolve_synthetic_args(argparse.Namespace(**flags))
