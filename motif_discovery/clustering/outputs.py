"""Reading stage 5's results of one prefix (what stages 6, 7 and 8 consume).

`5_gaussian_clustering/<prefix_id>/summary.json` lists the grid configs ("configs") and the
beta paths ("beta_paths"); each grid config has `beta<b>_gamma<g>.json` (K, L, H, D_e,
D_a, priors, history, assignments, baselines' assignments and scores) and
`.safetensors` (assign, prior, mu_e, mu_a, mu_a_raw); each beta path has
`beta_path_gamma<g>.json` (events with beta, K, type, children, merges, assignment).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json

CLUSTERING_DIR = "5_gaussian_clustering"
CENTRE_KEYS = ("assign", "prior", "mu_e", "mu_a", "mu_a_raw")


CONFIG_FILES = "beta*_gamma*.*"  # files named by config_name or a beta path's name


def config_name(beta: float, gamma: float) -> str:
    """File stem of one (beta, gamma) result (repr: distinct floats, distinct names)."""
    return f"beta{beta!r}_gamma{gamma!r}"


def prefix_dir(run_dir: str | Path, prefix_id: str) -> Path:
    """Stage 5's folder of one prefix."""
    return Path(run_dir) / CLUSTERING_DIR / prefix_id


@dataclass
class ConfigResult:
    """RD's partition of one prefix at one (beta, gamma), with its centres and record."""

    prefix_id: str
    beta: float
    gamma: float
    K: int
    assign: torch.Tensor  # [N] long
    prior: torch.Tensor  # [K]
    mu_e: torch.Tensor  # [K, d_e]
    mu_a: torch.Tensor  # [K, d_a] normalized units
    mu_a_raw: torch.Tensor  # [K, d_a] raw units: s * mu_a + H_0
    record: dict

    @property
    def name(self) -> str:
        return config_name(self.beta, self.gamma)

    def members(self, motif: int) -> torch.Tensor:
        """Row indices of motif `motif`'s continuations."""
        return torch.nonzero(self.assign == motif).squeeze(1)


def read_summary(run_dir: str | Path, prefix_id: str) -> dict:
    """summary.json of one prefix; missing means stage 5 has not run on it."""
    path = prefix_dir(run_dir, prefix_id) / "summary.json"
    if not path.is_file():
        raise InputError(
            f"{path}: missing; prefix {prefix_id} has no stage 5 output (run stage 5 first)"
        )
    return read_json(path)


def load_config_result(
    run_dir: str | Path, prefix_id: str, beta: float, gamma: float
) -> ConfigResult:
    """One grid config's result, checked (files present, shapes agree)."""
    folder, stem = prefix_dir(run_dir, prefix_id), config_name(beta, gamma)
    json_path, tensor_path = folder / f"{stem}.json", folder / f"{stem}.safetensors"
    for path in (json_path, tensor_path):
        if not path.is_file():
            raise InputError(f"{path}: missing; rerun stage 5")
    record = read_json(json_path)
    tensors = load_tensors(tensor_path)
    missing = [k for k in CENTRE_KEYS if k not in tensors]
    if missing:
        raise InputError(f"{tensor_path}: missing tensors {missing}")
    K = int(record.get("K", -1))
    if tensors["prior"].shape != (K,) or tensors["mu_a"].shape[0] != K:
        raise InputError(f"{tensor_path}: centres do not match K = {K} of {json_path}")
    return ConfigResult(
        prefix_id=prefix_id,
        beta=float(beta),
        gamma=float(gamma),
        K=K,
        assign=tensors["assign"].long(),
        prior=tensors["prior"],
        mu_e=tensors["mu_e"],
        mu_a=tensors["mu_a"],
        mu_a_raw=tensors["mu_a_raw"],
        record=record,
    )


def grid_configs(run_dir: str | Path, prefix_id: str) -> list[tuple[float, float, int]]:
    """(beta, gamma, K) of every grid config stage 5 wrote for this prefix."""
    summary = read_summary(run_dir, prefix_id)
    return [(float(r["beta"]), float(r["gamma"]), int(r["K"])) for r in summary.get("configs", [])]


def eligible_results(run_dir: str | Path, prefix_id: str, K_clamp: int) -> list[ConfigResult]:
    """The grid configs stages 6 and 7 study: 1 < K <= K_clamp (docs/method.md)."""
    return [
        load_config_result(run_dir, prefix_id, beta, gamma)
        for beta, gamma, K in grid_configs(run_dir, prefix_id)
        if 1 < K <= K_clamp
    ]


def load_beta_paths(run_dir: str | Path, prefix_id: str) -> list[dict]:
    """The beta path records (one per gamma) listed in the prefix's summary.json."""
    summary = read_summary(run_dir, prefix_id)
    out = []
    for row in summary.get("beta_paths", []):
        path = prefix_dir(run_dir, prefix_id) / row["file"]
        if not path.is_file():
            raise InputError(f"{path}: listed in summary.json but missing; rerun stage 5")
        out.append(read_json(path))
    return out
