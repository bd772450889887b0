"""Benchmark of stage 5's rate-distortion clustering; prints one JSON object.

  python benchmarks/bench_clustering.py                 # N=500 sweep (20 configs) + step times
  python benchmarks/bench_clustering.py --large 100000  # also one config at N=100,000

Data: a simple planted two-view set (K groups; unit semantic centres plus noise;
sparse attribution centres plus sparse noise, scaled so mean ||a||^2 = 1), float32.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch

from motif_discovery.clustering.centres import m_step
from motif_discovery.clustering.em_loop import e_step, fit_rd
from motif_discovery.clustering.sweep import SweepSettings, grid, run_sweep

BETAS = (0.5, 0.75, 1.0, 1.25)
GAMMAS = (0.1, 0.3, 0.5, 0.7, 0.9)


def planted(n: int, d_e: int, d_a: int, K: int, seed: int = 0):
    """(e, a, p, truth) filled in row chunks, so peak memory stays near the arrays themselves."""
    g = torch.Generator().manual_seed(seed)
    truth = torch.randint(0, K, (n,), generator=g)
    ce = torch.nn.functional.normalize(torch.randn(K, d_e, generator=g), dim=1)
    ca = torch.randn(K, d_a, generator=g) * (torch.rand(K, d_a, generator=g) < 0.05)
    e = torch.empty(n, d_e)
    a = torch.empty(n, d_a)
    for i in range(0, n, 4096):
        t = truth[i : i + 4096]
        m = t.shape[0]
        e[i : i + m] = torch.nn.functional.normalize(
            ce[t] + 0.4 / d_e**0.5 * torch.randn(m, d_e, generator=g), dim=1
        )
        sparse = torch.rand(m, d_a, generator=g) < 0.05
        a[i : i + m] = ca[t] + 0.3 * torch.randn(m, d_a, generator=g) * sparse
    scale = sum(float(a[i : i + 4096].pow(2).sum()) for i in range(0, n, 4096)) / n
    a /= scale**0.5
    p = torch.rand(n, generator=g) + 0.1
    return e, a, p, truth


def best_of(f, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def step_times(e, a, p, result) -> dict:
    """Seconds of one E-step and one M-step (fresh sort, no cache) at the fit's K."""
    c = result
    pn = p / p.sum()
    t_e = best_of(lambda: e_step(e, a, c.mu_e, c.mu_a, c.prior, c.beta_e, c.beta_a))
    t_m = best_of(lambda: m_step(e, a, pn, c.assign, c.K), repeats=1 if e.shape[0] > 10_000 else 3)
    return {"K": c.K, "e_step_s": round(t_e, 4), "m_step_s": round(t_m, 4)}


def sweep(e, a, p, truth, shared: bool) -> dict:
    """The 20-config default sweep as stage 5 runs it (sweep.run_sweep): every config cold,
    then, with shared=True, restarts from the best partition found on the grid."""
    from sklearn.metrics import adjusted_rand_score

    e, a, p = e.clone(), a.clone(), p.clone()  # fresh tensors: no cache from earlier runs
    configs = grid(list(BETAS), list(GAMMAS))
    t0 = time.perf_counter()
    results = run_sweep(e, a, p, configs, SweepSettings(warm_start=shared), progress=False)
    total = time.perf_counter() - t0
    rows = [
        {
            "beta": beta,
            "gamma": gamma,
            "K": r.K,
            "L": round(r.terms.L, 5),
            "iterations": r.iterations,
            "converged": r.converged,
            "ari": round(adjusted_rand_score(truth.numpy(), r.assign.numpy()), 3),
        }
        for (beta, gamma), r in results.items()
    ]
    return {"total_s": round(total, 3), "configs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--d-e", type=int, default=768)
    parser.add_argument("--d-a", type=int, default=8192)
    parser.add_argument("--k", type=int, default=5, help="planted groups")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", type=int, default=0, help="also one config at this N")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = {"machine": platform.processor() or platform.machine(), "threads": args.threads}
    e, a, p, truth = planted(args.n, args.d_e, args.d_a, args.k)
    out["sweep_cold"] = sweep(e, a, p, truth, shared=False)
    out["sweep_stage5"] = sweep(e, a, p, truth, shared=True)
    cold = {(c["beta"], c["gamma"]): c["L"] for c in out["sweep_cold"]["configs"]}
    out["sweep_stage5"]["configs_improved_over_cold"] = sum(
        c["L"] < cold[(c["beta"], c["gamma"])] - 1e-6 for c in out["sweep_stage5"]["configs"]
    )
    r = fit_rd(e, a, p, 1.0, 0.5)
    out["steps"] = {str(args.n): step_times(e, a, p, r)}
    if args.large:
        del e, a
        e, a, p, truth = planted(args.large, args.d_e, args.d_a, args.k, seed=1)
        input_bytes = e.nbytes + a.nbytes + p.nbytes
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        t0 = time.perf_counter()
        r = fit_rd(e, a, p, 1.0, 0.5, progress=True)
        from sklearn.metrics import adjusted_rand_score

        out["large"] = {
            "N": args.large,
            "seconds": round(time.perf_counter() - t0, 1),
            "K": r.K,
            "iterations": r.iterations,
            "ari": round(adjusted_rand_score(truth.numpy(), r.assign.numpy()), 3),
            "input_bytes": input_bytes,
            "peak_rss_bytes_before_fit": rss0,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
        out["large"]["peak_over_input"] = round(out["large"]["peak_rss_bytes"] / input_bytes, 3)
        out["steps"][str(args.large)] = step_times(e, a, p, r)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
