"""The plan of a run (`run_pipeline.sh --dry-run [--json]`): per stage the artifacts it writes,
the models it loads with their memory, and estimated time per prefix and in total. Loads no
weights and imports no torch: sizes come from config.json files or a table (plan.sizes),
times from measured work scaled by FLOPs or by size (plan.estimates).

Memory is the weights' (parameters x bytes of their dtype; activations are extra); with
the vLLM backend stage 2 also reserves sampling.vllm.gpu_memory_utilization of the GPU
(GPU_MEMORY_GB assumed).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from typing import Any, Protocol

from motif_discovery.model.paths import local_path
from motif_discovery.plan.estimates import (
    CPU,
    GPU,
    TOY_WORK,
    clustering_seconds,
    cpu_seconds,
    model_seconds,
    visualization_seconds,
)
from motif_discovery.plan.sizes import BYTES, Size, model_size, transcoder_size
from motif_discovery.utils.config import Config

GPU_MEMORY_GB = 80
GB = 1e9
COMMON = "manifest.json, config.resolved.json, logs/<stage>.log, .done/<stage>/<prefix_id>.json"
ARTIFACTS = {
    "1_data_preparation": ["1_data_preparation/prefixes.jsonl"],
    "2_branch_sampling": [
        "2_branch_sampling/<prefix_id>.jsonl",
        "2_branch_sampling/<prefix_id>.summary.json",
    ],
    "3_attribution_graphs": ["3_attribution_graphs/<prefix_id>.{safetensors,json}"],
    "4_feature_extraction": ["4_feature_extraction/<prefix_id>.{safetensors,json}"],
    "synthetic data (stands in for 1-4)": [
        "1_data_preparation/prefixes.jsonl",
        "4_feature_extraction/<prefix_id>.{safetensors,json}",
    ],
    "6_semantic_graphs": [
        "6_semantic_graphs/<prefix_id>/beta<b>_gamma<g>.{json,safetensors,png} (configs with "
        "1 < K <= clustering.K_clamp)",
        "6_semantic_graphs/<prefix_id>/summary.json",
    ],
    "7a_graph_validation": ["7_validation/7a/<prefix_id>.json", "7_validation/7a_summary.json"],
    "7c_steering": ["7_validation/7c/<prefix_id>.json", "7_validation/7c_summary.json"],
    "8_visualization": [
        "8_visualization/index.html",
        "8_visualization/prefix_<prefix_id>.html",
        "8_visualization/assets/plotly.min.js",
        "8_visualization/png/",
    ],
}
RUN_DEVICE_STAGES = ("5_gaussian_clustering",)  # no model, but its arrays live on run.device
USES = {  # which models a stage loads: lm (language model), tc (transcoders), emb (embedder)
    "2_branch_sampling": ("lm",),
    "3_attribution_graphs": ("lm", "tc"),
    "4_feature_extraction": ("emb",),
    "7a_graph_validation": ("lm", "tc"),
    "7c_steering": ("lm", "tc"),
}


class StageLike(Protocol):
    number: int
    name: str


def device_name(config: Config) -> str:
    """run.device; `auto` is taken as cuda when nvidia-smi is on PATH, else cpu."""
    if config.run.device != "auto":
        return config.run.device
    return "cuda" if shutil.which("nvidia-smi") else "cpu"


def weights_dtype(config: Config, device: str) -> str:
    """model.dtype; `auto` is bfloat16 on cuda, float32 on cpu (model.loading.model_dtype)."""
    if config.model.dtype != "auto":
        return config.model.dtype
    return "bfloat16" if device == "cuda" else "float32"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def grid_results(config: Config) -> tuple[int, int, list[str]]:
    """Stage 5's results per prefix: grid configs (beta x gamma; none with beta = "path"),
    beta paths (one per gamma, with beta = "path" or clustering.beta_path), and its files."""
    clustering = config.clustering
    gammas = clustering.gamma if isinstance(clustering.gamma, list) else [clustering.gamma]
    files = []
    count = 0
    if clustering.beta != "path":
        betas = clustering.beta if isinstance(clustering.beta, list) else [clustering.beta]
        count = len(betas) * len(gammas)
        files.append(
            f"5_gaussian_clustering/<prefix_id>/beta<b>_gamma<g>.{{json,safetensors}} "
            f"({plural(count, 'config')})"
        )
    paths = len(gammas) if clustering.beta == "path" or clustering.beta_path else 0
    if paths:
        files.append(
            f"5_gaussian_clustering/<prefix_id>/beta_path_gamma<g>.{{json,safetensors}} "
            f"({plural(paths, 'path')})"
        )
    files.append("5_gaussian_clustering/<prefix_id>/summary.json")
    return count, paths, files


def model_row(kind: str, name: str, size: Size, dtype: str) -> dict[str, Any]:
    """One model of the plan: name, kind, parameters, dtype, weights' memory (GB)."""
    memory = None if size.params is None else size.params * BYTES[dtype] / GB
    return {
        "kind": kind,
        "name": name,
        "params": size.params,
        "dtype": dtype,
        "memory_gb": memory,
        "source": size.source,
    }


def prefix_count(config: Config, warnings: list[str]) -> int:
    """Prefixes the run studies (at most data.n_prefixes; the synthetic generator's count)."""
    if config.data.source == "synthetic":
        return config.synthetic.n_prefixes
    if local_path(config.data.clozes) is None:
        warnings.append(
            f"data.clozes: {config.data.clozes} not found here; stage 1 stops until it exists"
        )
    return config.data.n_prefixes


def build_plan(config: Config, stages: Sequence[StageLike], config_path: str) -> dict[str, Any]:
    """The plan of running `stages` with `config` (module docstring)."""
    warnings: list[str] = []
    device = GPU if device_name(config) == "cuda" else CPU
    dtype = weights_dtype(config, device.name)
    synthetic = config.data.source == "synthetic"
    lm = Size(None) if synthetic else model_size(config.model.name, "model.name")
    tc = (
        Size(None)
        if synthetic
        else transcoder_size(config.model.transcoders, lm, "model.transcoders")
    )
    emb = Size(None) if synthetic else model_size(config.embedding.model, "embedding.model")
    models = {
        "lm": model_row("language model", config.model.name, lm, dtype),
        "tc": model_row("transcoders", config.model.transcoders, tc, dtype),
        "emb": model_row("sentence embedder", config.embedding.model, emb, "float32"),
    }
    backend = config.sampling.backend
    if backend == "auto":
        backend = "vllm" if device.name == "cuda" else "hf"
    n_prefixes = prefix_count(config, warnings)
    sampling = config.sampling
    n = config.synthetic.n if synthetic else sampling.n
    new = sampling.max_new_tokens
    tokens = TOY_WORK["context_tokens"] + new
    drawn = TOY_WORK["samples_drawn"] * n / 500
    P = lm.params
    Pt = tc.params or 0
    replaced = min(config.validation.replacement_continuations, n)
    configs, paths, clustering_files = grid_results(config)
    d_a = (
        None
        if lm.layers is None
        else config.attribution.max_feature_nodes
        + (lm.layers + 1) * round(TOY_WORK["context_tokens"])
    )
    d_e = emb.d_model
    if synthetic:
        d_a, d_e = config.synthetic.d_a, config.synthetic.d_e
    dims = None if d_a is None or d_e is None else d_a + d_e
    flops = {
        "2_branch_sampling": None if P is None else 2 * P * (drawn * new + n * tokens),
        "3_attribution_graphs": None if P is None else 6 * (P + Pt) * n * tokens,
        "4_feature_extraction": None if emb.params is None else 2 * emb.params * n * tokens,
        "7a_graph_validation": None if P is None else 2 * (2 * P + Pt) * replaced * tokens,
        "7c_steering": None if P is None else 2 * P * TOY_WORK["steering_sequences"] * tokens,
    }
    reads = {"2_branch_sampling": (P or 0) * BYTES[dtype] * drawn / sampling.batch_size * new}
    rows = []
    for stage in stages:
        uses = USES.get(stage.name, ())
        memory = [models[m]["memory_gb"] for m in uses]
        known = all(m is not None for m in memory)
        gb = sum(m for m in memory if m is not None)
        if stage.name == "2_branch_sampling" and backend == "vllm":
            gb += sampling.vllm.gpu_memory_utilization * GPU_MEMORY_GB
        if stage.name in flops:
            seconds = model_seconds(stage.name, flops[stage.name], reads.get(stage.name, 0), device)
        elif stage.name == "5_gaussian_clustering":
            seconds = clustering_seconds(n, dims, configs + paths)
        elif stage.name == "8_visualization":
            seconds = visualization_seconds(n, configs + paths)
        elif stage.name == "6_semantic_graphs":
            seconds = cpu_seconds(stage.name, n, configs)
        elif stage.name == "1_data_preparation":
            seconds = cpu_seconds(stage.name, n, 1)
        else:
            seconds = None
        rows.append(
            {
                "number": stage.number,
                "name": stage.name,
                "artifacts": clustering_files
                if stage.name == "5_gaussian_clustering"
                else ARTIFACTS[stage.name],
                "models": [models[m]["name"] for m in uses]
                + (
                    ["vLLM engine"]
                    if stage.name == "2_branch_sampling" and backend == "vllm"
                    else []
                ),
                "device": device.name if uses or stage.name in RUN_DEVICE_STAGES else "cpu",
                "memory_gb": gb if uses else 0.0,
                "memory_lower_bound": not known,
                "seconds_per_prefix": seconds,
                "seconds_lower_bound": "tc" in uses and tc.params is None,
                "seconds_total": None if seconds is None else seconds * n_prefixes,
            }
        )
    timed = [r["seconds_per_prefix"] for r in rows if r["seconds_per_prefix"] is not None]
    return {
        "config": config_path,
        "run_dir": config.run.run_dir,
        "device": device.name,
        "dtype": dtype,
        "sampling_backend": backend,
        "n_prefixes": n_prefixes,
        "models": [models[k] for k in ("lm", "tc", "emb") if not synthetic],
        "stages": rows,
        "totals": {
            "seconds_per_prefix": sum(timed),
            "seconds": sum(timed) * n_prefixes,
            "peak_memory_gb": max((r["memory_gb"] for r in rows), default=0.0),
            "lower_bound": any(r["memory_lower_bound"] or r["seconds_lower_bound"] for r in rows),
            "stages_without_estimate": [r["name"] for r in rows if r["seconds_per_prefix"] is None],
        },
        "every_stage_writes": COMMON,
        "assumptions": {
            "device": device.note,
            "gpu_memory_gb": GPU_MEMORY_GB,
            "tokens_per_sequence": tokens,
            "formula": "per prefix: max(toy-world seconds, c x params x sequences x tokens / "
            "throughput, weight reads / bandwidth); c = 2 forward, 6 forward + backward; "
            "stages 5 and 8 (one CPU thread): measured on synthetic data (N = 500, "
            "d_e + d_a = 8960, 20 configs + 5 beta paths), 5 scaled by N (d_e + d_a) and "
            "results, 8 by N (t-SNE) and results; stage 5 runs on run.device, so on cuda its "
            "CPU figure is an upper bound (docs/real_models.md)",
        },
        "warnings": warnings,
    }


def size_text(params: int | None) -> str:
    if params is None:
        return "unknown size"
    return f"{params / 1e9:.2f}B params" if params >= 1e8 else f"{params / 1e6:.2f}M params"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "not estimated"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def render(plan: dict[str, Any]) -> str:
    """The plan as text (every time and memory figure is an estimate)."""
    lines = [
        f"plan of {plan['config']} (dry run: no model loaded, nothing written)",
        f"run directory {plan['run_dir']}, device {plan['device']}, weights {plan['dtype']}, "
        f"sampling backend {plan['sampling_backend']}, {plan['n_prefixes']} prefixes",
    ]
    if plan["models"]:
        lines.append("models:")
    for m in plan["models"]:
        size = size_text(m["params"])
        if m["params"] is not None:
            size += f", {m['memory_gb']:.2f} GB {m['dtype']} ({m['source']})"
        lines.append(f"  {m['kind']:<18} {m['name']}: {size}")
    lines.append("stages (memory: weights; time: estimate per prefix, and for all prefixes):")
    for s in plan["stages"]:
        at_least = ">= " if s["memory_lower_bound"] else ""
        memory = f"{s['device']} memory {at_least}{s['memory_gb']:.2f} GB" if s["models"] else ""
        uses = ", ".join(s["models"]) + "; " + memory if s["models"] else f"no model, {s['device']}"
        later = ">= " if s["seconds_lower_bound"] else ""
        lines.append(
            f"  {s['number']} {s['name']}: {uses}; time {later}"
            f"{duration(s['seconds_per_prefix'])} per prefix, "
            f"{later}{duration(s['seconds_total'])} in all"
        )
        lines.extend(f"      writes {path}" for path in s["artifacts"])
    totals = plan["totals"]
    bound = ">= " if totals["lower_bound"] else ""
    lines.append(
        f"total (estimate): {bound}{duration(totals['seconds_per_prefix'])} per prefix, "
        f"{bound}{duration(totals['seconds'])} for {plan['n_prefixes']} prefixes; "
        f"peak memory {bound}{totals['peak_memory_gb']:.1f} GB"
    )
    if totals["stages_without_estimate"]:
        lines.append(f"no time estimate for: {', '.join(totals['stages_without_estimate'])}")
    lines.append(f"every stage also writes {plan['every_stage_writes']}")
    lines.append(f"assumed device: {plan['assumptions']['device']}")
    lines.append(f"formula: {plan['assumptions']['formula']}")
    lines.extend(f"warning: {w}" for w in plan["warnings"])
    return "\n".join(lines)


def print_plan(config: Config, stages: Sequence[StageLike], config_path: str, as_json: bool) -> int:
    """Print the plan (text, or JSON with `as_json`); the driver's exit code 0."""
    plan = build_plan(config, stages, config_path)
    print(json.dumps(plan, indent=1) if as_json else render(plan))
    return 0
