"""The rate-distortion EM loop: E-step, exact M-step, split, junk until L settles."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from motif_discovery.clustering.adaptive_control import (
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
    remember_state,
    state_from_assignment,
    tensor_bytes,
)
from motif_discovery.clustering.inputs import validate_inputs, validate_parameters
from motif_discovery.clustering.rd_objective import (
    ObjectiveTerms,
    assign_by_cost,
    entropy,
    objective_value,
    rd_objective,
    view_weights,
)
from motif_discovery.clustering.result import RDResult
from motif_discovery.clustering.settings import LLOYD_STEPS, FitSettings

__all__ = ["LLOYD_STEPS", "FitSettings", "e_step", "fit_rd", "state_terms"]


def e_step(problem: Problem, state: State) -> Tensor:
    """c(n) = argmin_k [-ln Pbar_k + beta_e ||e_n - mu_e_k||^2 + beta_a ||a_n - mu_a_k||_1]
    (first k on ties), from the state's distance matrices and priors."""
    return assign_by_cost(problem.cost(state.De, state.Da), state.centres.prior)


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
    new = e_step(problem, state)
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


def verdict_key(problem: Problem, members_key: bytes) -> bytes:
    """Cache key of a split verdict: the motif's members and every setting the test depends
    on besides them (its centre is its members' exact M-step)."""
    tag = (problem.beta_e, problem.beta_a, problem.semantic_center, problem.seed)
    return members_key + repr((*tag, problem.lloyd_steps)).encode()


def split_step(problem: Problem, state: State, K_max: int) -> list[dict]:
    """Split test of every motif (verdicts cached by members and weights across the fits on
    the same data), then accept the gains."""
    if K_max <= state.K:
        return []
    verdicts = []
    for k, members_key in enumerate(state.keys()):
        key = verdict_key(problem, members_key)
        verdict = problem.cache.verdicts.get(key)
        if verdict is None:
            verdict = split_test(problem, state, k)
            size = tensor_bytes((verdict.members, verdict.half, verdict.mu_e, verdict.mu_a))
            problem.cache.verdicts.put(key, verdict, size)
        verdicts.append((k, verdict))
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
    settings: FitSettings | None = None,
    *,
    init: RDResult | None = None,
    progress: bool = False,
    **changes: Any,
) -> RDResult:
    """Minimize L = H + beta_e D_e + beta_a D_a over hard assignments and K <= K_max.

    settings: FitSettings (default: its defaults), with any field replaced by `changes`
    (e.g. K_max=2). Start at K = 1 (or init's assignment, a warm start); each iteration:
    E-step, exact M-step, split every motif whose best refined bipartition lowers L, junk
    motifs whose deletion lowers L; stop when |L_prev - L| <= tol |L_prev| (converged) or
    after max_iter.
    """
    settings = dataclasses.replace(settings or FitSettings(), **changes)
    validate_parameters(beta, gamma)
    e, a, p = validate_inputs(e, a, p)
    K_max, tol = settings.K_max, settings.tol
    beta_e, beta_a = view_weights(beta, gamma, e.shape[1], a.shape[1], settings.distortion_scale)
    problem = Problem(
        e,
        a,
        p,
        beta_e,
        beta_a,
        settings.semantic_center,
        dataset_cache(e, a, p),
        settings.seed,
        settings.lloyd_steps,
    )
    start = initial_assignment(p, K_max, init.assign if init else None)
    state = state_from_assignment(problem, start)
    terms = state_terms(problem, state)
    history = [_record(0, terms, state.K, [])]
    converged, iterations = False, 0
    for iterations in tqdm(range(1, settings.max_iter + 1), disable=not progress, desc="rd-em"):
        em_step(problem, state)
        events = split_step(problem, state, K_max)
        events += junk_loop(problem, state)
        previous, terms = terms, state_terms(problem, state)
        history.append(_record(iterations, terms, state.K, events))
        if abs(previous.L - terms.L) <= tol * abs(previous.L):
            converged = True
            break
    slack = 64 * torch.finfo(e.dtype).eps
    Ls = [h["L"] for h in history]
    monotone = all(b <= a_ + slack * max(1.0, abs(a_)) for a_, b in itertools.pairwise(Ls))
    remember_state(problem, state)
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
        distortion_scale=settings.distortion_scale,
        semantic_center=settings.semantic_center,
        iterations=iterations,
        converged=converged,
        monotone=monotone,
        history=history,
    )
