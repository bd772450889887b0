"""Stage 5's closing table: rows, means and the label set it picks."""

import math

import numpy as np

from motif_discovery.clustering.report import format_table, match_rows, mean_row, report
from motif_discovery.utils.io import write_json


def summary(prefix_id, n, configs):
    return {"prefix_id": prefix_id, "n": n, "configs": configs}


def config(beta, gamma, K, ari):
    return {
        "beta": beta,
        "gamma": gamma,
        "K": K,
        "scores": {m: {"ARI_family": v, "NMI_family": 0.0} for m, v in ari.items()},
    }


def test_means_match_numpy_and_missing_methods_are_skipped():
    rng = np.random.default_rng(0)
    values = rng.uniform(-0.1, 1, size=(5, 4))
    summaries = [
        summary(
            f"p{i}",
            100 + i,
            [
                config(
                    1.0, 0.5, i + 1, dict(zip(("RD", "KM-S", "KM-A", "Co-Reg"), row, strict=True))
                )
            ],
        )
        for i, row in enumerate(values)
    ]
    del summaries[2]["configs"][0]["scores"]["Co-Reg"]
    rows = match_rows(summaries, "family")
    assert math.isnan(rows[2]["Co-Reg"])
    mean = mean_row(rows)
    assert np.isclose(mean["RD"], values[:, 0].mean())
    assert np.isclose(mean["Co-Reg"], np.delete(values[:, 3], 2).mean())
    assert np.isclose(mean["K"], 3.0)
    table = format_table(rows, "family")
    assert f"{values[:, 1].mean():.3f}" in table.splitlines()[-1]


def test_report_picks_the_first_label_set_present(tmp_path):
    motif_only = config(1.0, 0.5, 2, {"RD": 0.5})
    motif_only["scores"]["RD"] = {"ARI_motif": 0.25}
    write_json(tmp_path / "a" / "summary.json", summary("a", 10, [motif_only]))
    table = report(tmp_path, ["a", "missing"])
    assert table is not None and "motif labels" in table and "0.250" in table
    assert report(tmp_path, ["a"], labels=("family",)) is None
