"""The rate-distortion EM loop: E-step, exact M-step, split, junk until L settles."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor
from tqdm import tqdm

from motif_discovery.clustering.adaptive_control import (
    SplitVerdict,
    apply_splits,
    junk_loop,
    refit_motifs,
    split_test,
)
from motif_discovery.clustering.initialize import (
    Problem,
    State,
    compact,
    dataset_cache,
    initial_assignment,
    state_from_assignment,
)
from motif_discovery.clustering.inputs import validate_inputs, validate_parameters
from motif_discovery.clustering.rd_objective import (
    ObjectiveTerms,
    assignment_score,
    entropy,
    l1_distances,
    objective_value,
    rd_objective,
    squared_distances,
    view_weights,
)
from motif_discovery.clustering.result import RDResult
from motif_discovery.utils.errors import InputError

LLOYD_STEPS = 3


def assign_by_cost(cost: Tensor, prior: Tensor) -> Tensor:
    """c(n) = argmin_k [-ln Pbar_k + cost(n, k)] (first k on ties)."""
    return assignment_score(prior, cost).argmin(1)


def e_step(
    e: Tensor,
    a: Tensor,
    mu_e: Tensor,
    mu_a: Tensor,
    prior: Tensor,
    beta_e: float,
    beta_a: float,
) -> Tensor:
    """c(n) = argmin_k [-ln Pbar_k + beta_e ||e_n - mu_e_k||^2 + beta_a ||a_n - mu_a_k||_1]."""
    cost = beta_e * squared_distances(e, mu_e).double() + beta_a * l1_distances(a, mu_a).double()
    return assign_by_cost(cost, prior)


def state_terms(problem: Problem, state: State) -> ObjectiveTerms:
    """L, H, D_e, D_a of the state from its distance matrices (no pass over the data)."""
    c = state.assign[:, None]
    p = problem.p.double()
    H = float(entropy(state.centres.prior))
    D_e = float((p * state.De.gather(1, c)[:, 0].double()).sum())
    D_a = float((p * state.Da.gather(1, c)[:, 0].double()).sum())
    return ObjectiveTerms(objective_value(H, D_e, D_a, problem.beta_e, problem.beta_a), H, D_e, D_a)


def em_step(problem: Problem, state: State) -> None:
    """E-step with Pbar from the previous assignment, then the exact M-step of changed motifs."""
    new = assign_by_cost(problem.cost(state.De, state.Da), state.centres.prior)
    if torch.equal(new, state.assign):
        return
    old_keys = state.keys()
    new, kept = compact(new)
    c = state.centres
    c.mu_e, c.mu_a, c.prior = c.mu_e[kept], c.mu_a[kept], c.prior[kept]
    state.De, state.Da, state.assign = state.De[:, kept], state.Da[:, kept], new
    new_keys = state.keys()
    kept_list = kept.tolist()
    refit_motifs(problem, state, [k for k, j in enumerate(kept_list) if new_keys[k] != old_keys[j]])


def split_step(
    problem: Problem, state: State, K_max: int, cache: dict[bytes, SplitVerdict]
) -> list[dict]:
    """Split test of every motif (verdicts cached by membership), then accept the gains."""
    if K_max <= state.K:
        return []
    verdicts = []
    for k, key in enumerate(state.keys()):
        if key not in cache:
            cache[key] = split_test(problem, state, k)
        verdicts.append((k, cache[key]))
    return apply_splits(problem, state, verdicts, K_max)


def _record(iteration: int, terms: ObjectiveTerms, K: int, events: list[dict]) -> dict:
    return {
        "iteration": iteration,
        "K": K,
        "L": terms.L,
        "H": terms.H,
        "D_e": terms.D_e,
        "D_a": terms.D_a,
        "events": events,
    }


def fit_rd(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    beta: float,
    gamma: float,
    *,
    K_max: int = 50,
    distortion_scale: str = "sum",
    semantic_center: str = "mean",
    tol: float = 1e-3,
    max_iter: int = 50,
    seed: int = 0,
    init: RDResult | None = None,
    progress: bool = False,
    lloyd_steps: int = LLOYD_STEPS,
) -> RDResult:
    """Minimize L = H + beta_e D_e + beta_a D_a over hard assignments and K <= K_max.

    Start at K = 1 (or init's assignment, a warm start); each iteration: E-step, exact
    M-step, split every motif whose best refined bipartition lowers L, junk motifs whose
    deletion lowers L; stop when |L_prev - L| <= tol |L_prev| (converged) or after max_iter.
    """
    validate_parameters(beta, gamma, K_max)
    if semantic_center not in ("mean", "spherical"):
        raise InputError(f"semantic_center must be 'mean' or 'spherical', got {semantic_center!r}")
    e, a, p = validate_inputs(e, a, p)
    beta_e, beta_a = view_weights(beta, gamma, e.shape[1], a.shape[1], distortion_scale)
    problem = Problem(
        e, a, p, beta_e, beta_a, semantic_center, dataset_cache(e, a, p), seed, lloyd_steps
    )
    start = initial_assignment(p, K_max, init.assign if init else None)
    state = state_from_assignment(problem, start)
    terms = state_terms(problem, state)
    history = [_record(0, terms, state.K, [])]
    cache: dict[bytes, SplitVerdict] = {}
    converged, iterations = False, 0
    for iterations in tqdm(range(1, max_iter + 1), disable=not progress, desc="rd-em"):
        em_step(problem, state)
        events = split_step(problem, state, K_max, cache)
        events += junk_loop(problem, state)
        previous, terms = terms, state_terms(problem, state)
        history.append(_record(iterations, terms, state.K, events))
        keys = set(state.keys())
        for key in [key for key in cache if key not in keys]:
            del cache[key]
        if abs(previous.L - terms.L) <= tol * abs(previous.L):
            converged = True
            break
    slack = 64 * torch.finfo(e.dtype).eps
    Ls = [h["L"] for h in history]
    monotone = all(b <= a_ + slack * max(1.0, abs(a_)) for a_, b in itertools.pairwise(Ls))
    c = state.centres
    final = rd_objective(e, a, p, state.assign, c.mu_e, c.mu_a, beta_e, beta_a)
    return RDResult(
        assign=state.assign,
        K=state.K,
        mu_e=c.mu_e,
        mu_a=c.mu_a,
        prior=c.prior,
        terms=final,
        beta=beta,
        gamma=gamma,
        beta_e=beta_e,
        beta_a=beta_a,
        distortion_scale=distortion_scale,
        semantic_center=semantic_center,
        iterations=iterations,
        converged=converged,
        monotone=monotone,
        history=history,
    )
