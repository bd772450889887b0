"""Time estimates per prefix: measured work scaled by FLOPs or by size (estimates only).

Measured on the toy world (configs/toy_world.json, 8 prefixes, N = 500):
`TOY_SECONDS` are each stage's seconds per prefix (benchmarks/bench_pipeline.py ->
benchmarks/results/bench_pipeline_toy_world.json, stage_s / 8), `TOY_WORK` the work per
prefix in sequences and tokens (benchmarks/plan_work_toy_world.py ->
benchmarks/results/plan_work_toy_world.json).

A stage that runs a model of P parameters (plus P_t transcoder parameters where it runs
them) over S sequences of T = context + sampling.max_new_tokens tokens costs

    t = max(toy seconds per prefix,  FLOPs / R,  weight reads / B),    FLOPs = c P S T

with c = 2 for a forward pass, 6 for forward + backward; R the assumed throughput and B the
assumed memory bandwidth of the device (decoding reads all weights once per generated
token of a call). The toy world's own seconds are the floor: the per-call and per-row
overheads that do not scale with the model.

Stages 5 and 8 (no model, one CPU thread) scale `SYN_SECONDS`, CPU seconds per prefix
measured on real-shaped synthetic data (configs/synthetic.json with the generator's
"realistic" setting, 15 planted motifs, grid K up to 50: N_0 = 500, d_e = 768, d_a = 8192,
the default grid of 20 configs + 5 beta paths, every default baseline;
benchmarks/plan_cpu_stages.py -> benchmarks/results/plan_cpu_stages.json). With R results
per prefix (grid configs + beta paths; R_0 = 25):

    t_5 = max(toy_5 N / N_0,  syn_5 x N (d_e + d_a) / (N_0 (768 + 8192)) x R / R_0)
    t_8 = max(toy_8 N / N_0,  tsne x N / N_0 + (syn_8 - tsne) / R_0 x R)

(stage 5's fits, E-steps and baselines are linear in N and the feature dimension and run
per result; they also grow with K, so data with fewer motifs takes less: 14.6 s on the
crossed setting, K <= 8, benchmarks/results/plan_cpu_stages_crossed.json; stage 8's t-SNE
runs once per view and prefix, its figures per result; the toy world's seconds, 1 config
+ 1 path, are the floor). Stages 1 and 6 scale the toy world's seconds by N / 500 and (6)
by the number of grid configs (the toy world runs 1).
"""

from __future__ import annotations

from dataclasses import dataclass

TOY_SECONDS = {  # seconds per prefix, toy world on one CPU thread
    "1_data_preparation": 0.036 / 8,
    "2_branch_sampling": 77.392 / 8,
    "3_attribution_graphs": 13.026 / 8,
    "4_feature_extraction": 27.148 / 8,
    "5_gaussian_clustering": 26.191 / 8,
    "6_semantic_graphs": 0.299 / 8,
    "7a_graph_validation": 1.821 / 8,
    "7c_steering": 35.217 / 8,
    "8_visualization": 75.194 / 8,
}
TOY_WORK = {  # per prefix, toy world
    "samples_drawn": 4060.0,
    "context_tokens": 9.25,
    "steering_sequences": 3024.0,
}
TOY_N = 500
TOY_CONFIGS = 1  # beta = 1.0, gamma = 0.5
SYN_SECONDS = {  # CPU seconds per prefix, real-shaped synthetic data on one thread
    "5_gaussian_clustering": 25.771,
    "8_visualization": 31.308,
}
SYN_TSNE = 3.74  # of SYN_SECONDS["8_visualization"]: the t-SNE of both views
SYN_N = 500
SYN_DIMS = 768 + 8192  # d_e + d_a
SYN_RESULTS = 20 + 5  # grid configs + beta paths


@dataclass(frozen=True)
class Device:
    """Assumed throughput R (FLOP/s) and bandwidth B (bytes/s) of the run's device."""

    name: str
    flops: float
    bandwidth: float
    note: str


GPU = Device(
    "cuda",
    0.4 * 989e12,
    0.6 * 3.35e12,
    "40% of an H100's dense bfloat16 peak (989 TFLOP/s) and 60% of its 3.35 TB/s; "
    "an A100 80 GB (312 TFLOP/s, 2.0 TB/s) takes about 3x longer",
)
CPU = Device(
    "cpu",
    9e10,
    1e10,
    "90 GFLOP/s (what the toy world's stage 4 achieves: 2 x 22.7M params x 474 continuations "
    "x 14.5 tokens in 3.4 s on one thread) and 10 GB/s",
)


def model_seconds(
    stage: str, flops: float | None, weight_reads: float, device: Device
) -> float | None:
    """max(toy seconds, FLOPs / R, weight reads / B) of a stage that runs a model; None
    when a model's size is unknown."""
    if flops is None:
        return None
    return max(TOY_SECONDS[stage], flops / device.flops, weight_reads / device.bandwidth)


def cpu_seconds(stage: str, n: int, configs: int) -> float:
    """The toy world's seconds of a model-free stage scaled by N and configs."""
    return TOY_SECONDS[stage] * n / TOY_N * configs / TOY_CONFIGS


def clustering_seconds(n: int, dims: int | None, results: int) -> float:
    """t_5 (module docstring); dims = d_e + d_a, None when unknown (taken as measured)."""
    scale = n / SYN_N * results / SYN_RESULTS * ((dims or SYN_DIMS) / SYN_DIMS)
    floor = TOY_SECONDS["5_gaussian_clustering"] * n / TOY_N
    return max(floor, SYN_SECONDS["5_gaussian_clustering"] * scale)


def visualization_seconds(n: int, results: int) -> float:
    """t_8 (module docstring): t-SNE by N, the figures by results."""
    per_result = (SYN_SECONDS["8_visualization"] - SYN_TSNE) / SYN_RESULTS
    floor = TOY_SECONDS["8_visualization"] * n / TOY_N
    return max(floor, SYN_TSNE * n / SYN_N + per_result * results)
