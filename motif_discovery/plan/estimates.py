"""Time estimates per prefix: the toy world's measured work scaled by FLOPs (estimates only).

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
overheads that do not scale with the model. Stages without a model (5, 6, 8) scale the toy
world's seconds by N / 500, by the number of (beta, gamma) configs and, for stage 5, by the
feature dimension d_e + d_a.
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
TOY_DIMS = 384 + 916  # d_e (all-MiniLM-L6-v2) + d_a (mean sources per prefix)


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


def cpu_seconds(stage: str, n: int, configs: int, dims: int | None) -> float:
    """The toy world's seconds of a model-free stage scaled by N, configs and dimension."""
    scale = n / TOY_N * configs / TOY_CONFIGS
    if dims is not None:
        scale *= dims / TOY_DIMS
    return TOY_SECONDS[stage] * scale
