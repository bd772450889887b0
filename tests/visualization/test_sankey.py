"""Sankey flows: link masses against a hand-built crosstab, conservation, figure and PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motif_discovery.clustering.outputs import load_beta_paths
from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.sankey_plots import (
    beta_path_flows,
    partition_flows,
    sankey_figure,
    save_sankey_png,
)
from tests.visualization.helpers import read_png_size


def crosstab(z0: list[int], z1: list[int], p: list[float]) -> dict[tuple[int, int], float]:
    """Sum of P_n / sum P over the pairs (z0[n], z1[n]), by plain loops."""
    total = sum(p)
    table: dict[tuple[int, int], float] = {}
    for a, b, w in zip(z0, z1, p, strict=True):
        table[(a, b)] = table.get((a, b), 0.0) + w / total
    return table


def links_by_motif(data, t: int) -> dict[tuple[int, int], float]:
    """The links from column t to t+1 as (motif, motif) -> P-mass."""
    return {
        (data.node_motif[s], data.node_motif[d]): w
        for s, d, w in zip(data.source, data.target, data.value, strict=True)
        if data.node_column[s] == t
    }


def assert_conserved(data) -> None:
    """Each column sums to 1; each node's inflow and outflow equal its mass."""
    nodes = range(len(data.node_mass))
    for t in range(len(data.column_names)):
        assert sum(data.node_mass[i] for i in data.column_nodes(t)) == pytest.approx(1.0)
    for i in nodes:
        inflow = sum(w for d, w in zip(data.target, data.value, strict=True) if d == i)
        outflow = sum(w for s, w in zip(data.source, data.value, strict=True) if s == i)
        if data.node_column[i] > 0:
            assert inflow == pytest.approx(data.node_mass[i])
        if data.node_column[i] < len(data.column_names) - 1:
            assert outflow == pytest.approx(data.node_mass[i])


def test_partition_flows_match_crosstab():
    rng = np.random.default_rng(0)
    n = 300
    p = rng.random(n) ** 3
    zs = [rng.integers(0, 4, n), rng.integers(0, 6, n), np.zeros(n, int), rng.integers(0, 3, n)]
    zs[1][zs[1] == 5] = 2  # a motif id with no member: no node
    data = partition_flows(zs, ["A", "B", "C", "D"], p)
    for t in range(3):
        expected = crosstab(zs[t].tolist(), zs[t + 1].tolist(), p.tolist())
        got = links_by_motif(data, t)
        assert got.keys() == expected.keys()
        for key, w in expected.items():
            assert got[key] == pytest.approx(w)
    assert 5 not in [m for m, c in zip(data.node_motif, data.node_column, strict=True) if c == 1]
    assert_conserved(data)


def test_beta_path_flows_on_toy_world(stage5_run, toy_prefix, tmp_path):
    features, _, _ = toy_prefix
    record = load_beta_paths(stage5_run, features.prefix_id)[0]
    p = features.p.numpy()
    data = beta_path_flows(record, p)
    events = record["events"]
    assert len(data.column_names) == len(events)
    for t, event in enumerate(events):
        assert len(data.column_nodes(t)) == event["K"]
    for t in range(len(events) - 1):
        expected = crosstab(events[t]["assign"], events[t + 1]["assign"], p.tolist())
        got = links_by_motif(data, t)
        assert got.keys() == expected.keys()
        assert [got[k] for k in expected] == pytest.approx(list(expected.values()))
    assert_conserved(data)

    figure = sankey_figure(data, f"{features.prefix_id}: beta path")
    sankey = json.loads(figure.to_json())["data"][0]
    assert sankey["type"] == "sankey"
    assert len(sankey["node"]["label"]) == sum(e["K"] for e in events)
    assert sankey["node"]["label"][0].startswith("β=0 · motif 0 (100%)")
    path = save_sankey_png(data, "beta path", tmp_path / "path.png", dpi=50)
    width, height = read_png_size(path)
    assert (width, height) == (round(1.8 * len(events) * 50), round(5.5 * 50))


def test_methods_flows_on_toy_world(toy_prefix, tmp_path):
    features, result, _ = toy_prefix
    baselines = result.record["baseline_assign"]
    names = [m for m in ("KM-S", "KM-A") if m in baselines]
    assigns = [np.asarray(baselines[names[0]]), result.assign.numpy()]
    assigns += [np.asarray(baselines[m]) for m in names[1:]]
    data = partition_flows(assigns, [names[0], "RD", *names[1:]], features.p.numpy())
    assert_conserved(data)
    json.loads(sankey_figure(data, "KM-S → RD → KM-A").to_json())
    assert read_png_size(save_sankey_png(data, "methods", tmp_path / "m.png", dpi=40))


def test_one_column_draws(tmp_path):
    data = partition_flows([np.array([0, 0, 1])], ["RD"], np.array([1.0, 1.0, 2.0]))
    assert data.node_mass == pytest.approx([0.5, 0.5]) and data.value == []
    sankey_figure(data, "one").to_json()
    assert read_png_size(save_sankey_png(data, "one", tmp_path / "one.png", dpi=40))


def test_bad_inputs_raise():
    with pytest.raises(InputError, match="shape"):
        partition_flows([np.array([0, 1])], ["RD"], np.ones(3))
    with pytest.raises(InputError, match="positive sum"):
        partition_flows([np.array([0, 1])], ["RD"], np.zeros(2))
    with pytest.raises(InputError, match="'events'"):
        beta_path_flows({"prefix_id": "x", "gamma": 0.5}, np.ones(2))
    with pytest.raises(InputError, match="lack"):
        beta_path_flows({"events": [{"beta": 0.0, "K": 1}]}, np.ones(2))


def test_close_betas_get_distinct_column_names():
    def names(betas):
        events = [{"beta": b, "K": 1, "assign": [0, 0]} for b in betas]
        return beta_path_flows({"events": events}, np.ones(2)).column_names

    assert names([0.0, 0.6573, 1.12336]) == ["β=0", "β=0.657", "β=1.12"]
    assert names([0.0, 3.0512, 3.0547]) == ["β=0", "β=3.051", "β=3.055"]
    assert len(set(names([1.0, 1.0000001, 2.0]))) == 3
