"""The beta path: for one gamma, follow RD's partition from K = 1 as beta grows.

For a fixed partition H, D_e and D_a do not depend on beta, so

    L(beta) = H + beta W,   W = w_e D_e + w_a D_a,   (w_e, w_a) = view_weights(1, gamma)

(gamma and 1 - gamma under distortion_scale "sum", divided by d_e and d_a under "per_dim").
Splitting motif k into two halves changes L by dL(beta) = dH + beta dW with dH > 0, so a
split with dW < 0 pays from its critical beta* = dH / (-dW) on. The best split of k is
refined under the objective, so it moves with beta; the smallest critical beta of k is the
smallest ratio dH / (-dW) over its bipartitions, found by Dinkelbach's iteration: at
lambda, split_test returns the bipartition minimizing dH + lambda dW (its L change at
beta = lambda); lambda <- that bipartition's ratio; stop when the ratio no longer drops.

The path advances event by event: jump to the smallest critical beta over all motifs,
apply that split, run the EM fit at beta* (1 + REL_STEP) warm-started from the split
partition (it may reassign members, split further or junk motifs) and a cold fit (from
K = 1) at the same beta, and go on from whichever of the two scores the lower L there (a
hierarchy grown at smaller betas is not always the best one at a larger beta). It stops
when K reaches K_clamp (or K_max), after the first event past beta_max, or when no
bipartition of any motif lowers the distortion W.

A fit can land on a partition several splits away from the previous one, whose
line H + beta W undercuts the previous partitions before beta* already (on planted data, the
full split of K = 1 into the planted motifs pays before any single split does). So the
events reported are the lower envelope of the lines of all partitions found: each event is
the partition with the lowest L from its beta (a crossing of two lines, the split's beta*
for a plain split) up to the next event's, with its K, L, H, D_e, D_a, assignment, and which
motif of the previous event became which.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from motif_discovery.clustering.adaptive_control import split_test
from motif_discovery.clustering.em_loop import fit_rd, state_terms
from motif_discovery.clustering.initialize import (
    DatasetCache,
    Problem,
    State,
    dataset_cache,
    state_from_assignment,
)
from motif_discovery.clustering.inputs import validate_inputs
from motif_discovery.clustering.median_index import membership_key
from motif_discovery.clustering.rd_objective import (
    attribution_distortion,
    objective_value,
    rate,
    semantic_distortion,
    view_weights,
)
from motif_discovery.clustering.result import RDResult
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.utils.errors import InputError

log = logging.getLogger(__name__)

# The fit after an event runs at beta* (1 + REL_STEP), where the split strictly pays.
REL_STEP = 1e-4
# Dinkelbach iterations per motif at most; a ratio within ROOT_TOL of lambda has converged.
DINKELBACH_ROUNDS = 20
ROOT_TOL = 1e-9
# Where Dinkelbach restarts inside [start, beta*] (fractions of the way, geometrically).
PROBES = (1 / 3, 2 / 3)
# When a fit undoes the split that triggered it, the next event lies at least this much
# (relative) further along beta.
STALL_STEP = 0.05
# Events per path at most, as a multiple of the K it may reach.
EVENTS_PER_K = 4


@dataclass(frozen=True)
class SplitCandidate:
    """A bipartition (half True = stays) of one motif and its beta-free changes of H, D_e,
    D_a; with dW = w_e dD_e + w_a dD_a < 0 it pays for beta > beta_star = dH / (-dW)."""

    members: Tensor
    half: Tensor
    dH: float
    dD_e: float
    dD_a: float
    dW: float
    proposal: str

    @property
    def beta_star(self) -> float:
        """The root of dH + beta dW (inf when the split lowers no distortion)."""
        return self.dH / -self.dW if self.dW < 0 else float("inf")

    def to_json(self, motif: int) -> dict:
        return {
            "motif": motif,
            "beta_star": self.beta_star,
            "dH": self.dH,
            "dD_e": self.dD_e,
            "dD_a": self.dD_a,
            "sizes": [int(self.half.sum()), int((~self.half).sum())],
            "proposal": self.proposal,
        }


@dataclass(frozen=True)
class PathProblem:
    """The data of one path (P normalized) and the view weights per unit beta, w_e, w_a."""

    e: Tensor
    a: Tensor
    p: Tensor
    w_e: float
    w_a: float
    settings: FitSettings
    cache: DatasetCache

    def at(self, beta: float) -> Problem:
        """The fit's problem at beta: beta_e = beta w_e, beta_a = beta w_a."""
        s = self.settings
        return Problem(
            self.e,
            self.a,
            self.p,
            beta * self.w_e,
            beta * self.w_a,
            s.semantic_center,
            self.cache,
            s.seed,
            s.lloyd_steps,
        )

    def slope(self, D_e: float, D_a: float) -> float:
        """W = w_e D_e + w_a D_a, the slope of L(beta) = H + beta W."""
        return objective_value(0.0, D_e, D_a, self.w_e, self.w_a)


def split_change(path: PathProblem, beta: float, state: State, k: int) -> SplitCandidate | None:
    """split_test's best bipartition of motif k at beta, with its exact beta-free changes:
    dH = -sum_h Pbar_h ln Pbar_h + Pbar_k ln Pbar_k, and dD_e, dD_a (the members'
    distortions to the halves' exact centres minus those to motif k's centre)."""
    verdict = split_test(path.at(beta), state, k)
    if verdict.half is None:
        return None
    members, half = verdict.members, verdict.half
    w = path.p[members]
    e, a = path.e[members], path.a[members]
    side, whole = (~half).long(), torch.zeros_like(members)
    mu_e, mu_a = state.centres.mu_e[k : k + 1], state.centres.mu_a[k : k + 1]
    dD_e = float(
        semantic_distortion(e, w, verdict.mu_e, side) - semantic_distortion(e, w, mu_e, whole)
    )
    dD_a = float(
        attribution_distortion(a, w, verdict.mu_a, side) - attribution_distortion(a, w, mu_a, whole)
    )
    sides = torch.stack([(w.double() * half).sum(), (w.double() * ~half).sum()])
    dH = float(rate(sides).sum() - rate(w.double().sum()))
    return SplitCandidate(members, half, dH, dD_e, dD_a, path.slope(dD_e, dD_a), verdict.proposal)


def dinkelbach(path: PathProblem, state: State, k: int, lam: float) -> SplitCandidate | None:
    """Dinkelbach's iteration for the smallest ratio dH / (-dW) over motif k's bipartitions
    from lambda: candidate = split_test's split at beta = lambda, lambda <- its beta*; stop
    when beta* no longer drops (at most DINKELBACH_ROUNDS split tests)."""
    best: SplitCandidate | None = None
    for _ in range(DINKELBACH_ROUNDS):
        candidate = split_change(path, lam, state, k)
        if candidate is None or candidate.beta_star == float("inf"):
            break
        if best is not None and candidate.beta_star >= best.beta_star * (1 - ROOT_TOL):
            break
        best = candidate
        if abs(candidate.beta_star - lam) <= ROOT_TOL * lam:
            break
        lam = candidate.beta_star
    return best


def critical_split(path: PathProblem, state: State, k: int, start: float) -> SplitCandidate | None:
    """The split of motif k with the smallest critical beta found: Dinkelbach from
    lambda = start, to beta*; split_test is a heuristic whose proposals depend on beta, so
    Dinkelbach runs again from the points start (beta* / start)^f, f in PROBES, inside
    [start, beta*], and the smallest beta* wins."""
    best = dinkelbach(path, state, k, start)
    if best is None or not best.beta_star > start:
        return best
    ratio = best.beta_star / start
    for f in PROBES:
        candidate = dinkelbach(path, state, k, start * ratio**f)
        if candidate is not None and candidate.beta_star < best.beta_star:
            best = candidate
    return best


def lineage(before: Tensor, after: Tensor, p: Tensor) -> tuple[list[list[int]], list[dict]]:
    """Which motif became which. mass[i, j] = sum of P_n over n in motif i before and in j
    after; parent(j) = argmax_i mass[i, j] and children(i) = [j : parent(j) = i];
    heir(i) = argmax_j mass[i, j], and j is a merge when it is the heir of two or more i."""
    K_before, K_after = int(before.max()) + 1, int(after.max()) + 1
    mass = torch.zeros(K_before * K_after, dtype=torch.float64, device=p.device)
    mass.index_add_(0, before * K_after + after, p.double())
    mass = mass.view(K_before, K_after)
    parent, heir = mass.argmax(0).tolist(), mass.argmax(1).tolist()
    children = [[j for j in range(K_after) if parent[j] == i] for i in range(K_before)]
    merges = [
        {"into": j, "from": [i for i in range(K_before) if heir[i] == j]}
        for j in range(K_after)
        if heir.count(j) > 1
    ]
    return children, merges


def partition_keys(assign: Tensor) -> set[bytes]:
    """The partition as a set of member digests (label-free)."""
    return {
        membership_key(torch.nonzero(assign == k).flatten()) for k in torch.unique(assign).tolist()
    }


@dataclass
class PathEvent:
    """One point of the path: the partition the EM fit settled on at result.beta, just past
    the critical beta of the split that triggered it (beta = 0 at the start, K = 1).

    children[i]: the motifs after the event that took most of their P-mass from motif i
    before it; merges: motifs after it that received most of the mass of two or more.
    """

    beta: float
    result: RDResult
    children: list[list[int]]
    merges: list[dict]
    split: dict | None

    @property
    def kind(self) -> str:
        """start, split, merge, split+merge, or reassign (same K, members moved)."""
        kinds = ["split"] * any(len(c) > 1 for c in self.children) + ["merge"] * bool(self.merges)
        return "+".join(kinds) or ("start" if self.split is None else "reassign")

    def to_json(self) -> dict:
        t = self.result.terms
        return {
            "beta": self.beta,
            "beta_fit": self.result.beta,
            "type": self.kind,
            "K": self.result.K,
            "L": t.L,
            "H": t.H,
            "D_e": t.D_e,
            "D_a": t.D_a,
            "converged": self.result.converged,
            "children": self.children,
            "merges": self.merges,
            "split": self.split,
            "assign": [int(x) for x in self.result.assign],
        }


@dataclass
class BetaPath:
    """The events of one gamma's path from K = 1 on, why it stopped, and beta_end: the path
    covers 0 <= beta <= beta_end (None: every beta, no split lowers W any more)."""

    gamma: float
    distortion_scale: str
    semantic_center: str
    K_clamp: int
    beta_max: float | None
    stopped: str
    beta_end: float | None
    events: list[PathEvent]

    def at(self, beta: float) -> PathEvent:
        """The event whose partition the path holds at beta (the last one starting <= beta)."""
        return [event for event in self.events if event.beta <= beta][-1]

    def to_json(self) -> dict:
        return {
            "gamma": self.gamma,
            "distortion_scale": self.distortion_scale,
            "semantic_center": self.semantic_center,
            "K_clamp": self.K_clamp,
            "beta_max": self.beta_max,
            "stopped": self.stopped,
            "beta_end": self.beta_end,
            "events": [event.to_json() for event in self.events],
        }


def lower_envelope(H: list[float], W: list[float]) -> list[tuple[int, float]]:
    """The lines L_i(beta) = H_i + beta W_i that are lowest somewhere on beta >= 0, as
    (i, beta from which line i is lowest), in order of beta. From the lowest line i at
    beta, the next is the line j with W_j < W_i whose crossing (H_j - H_i) / (W_i - W_j)
    comes first (the smaller W_j on a tie)."""
    i = min(range(len(H)), key=lambda j: (H[j], W[j]))
    beta, out = 0.0, [(i, 0.0)]
    while True:
        crossings = [
            (max(beta, (H[j] - H[i]) / (W[i] - W[j])), W[j], j)
            for j in range(len(H))
            if W[j] < W[i]
        ]
        if not crossings:
            return out
        beta, _, i = min(crossings)
        out.append((i, beta))


@dataclass
class Explored:
    """A partition the path found: the EM fit and the split that triggered it (with
    cold_start: whether the fit started from K = 1 rather than from the split partition)."""

    result: RDResult
    split: dict | None
    W: float


def explore(
    path: PathProblem, p: Tensor, gamma: float, K_clamp: int, beta_max: float | None
) -> tuple[list[Explored], str]:
    """Event by event from K = 1 (module docstring): the fits in order, and why it stopped.
    p: the weights as given (the fits normalize them as path.p was, so they share its cache)."""
    settings = path.settings
    K_stop = min(K_clamp, settings.K_max)

    def fit(beta: float, init: RDResult | None, K_max: int = settings.K_max) -> Explored:
        result = fit_rd(path.e, path.a, p, beta, gamma, settings, init=init, K_max=K_max)
        return Explored(result, None, path.slope(result.terms.D_e, result.terms.D_a))

    # K = 1, fit at the beta where a balanced split removing all distortion would pay.
    one = state_from_assignment(
        path.at(1.0), torch.zeros(path.p.shape[0], dtype=torch.long, device=path.p.device)
    )
    terms = state_terms(path.at(1.0), one)
    W_one = path.slope(terms.D_e, terms.D_a)
    explored = [fit(math.log(2.0) / W_one if W_one > 0 else 1.0, None, K_max=1)]
    current, floor = explored[0].result, 0.0
    candidates: dict[bytes, SplitCandidate | None] = {}
    for _ in range(EVENTS_PER_K * K_stop):
        if K_stop <= current.K:
            return explored, "K_clamp" if K_clamp <= settings.K_max else "K_max"
        state = state_from_assignment(path.at(1.0), current.assign)
        keys = state.keys()
        candidates = {
            key: candidates[key]
            if key in candidates
            else critical_split(path, state, k, current.beta)
            for k, key in enumerate(keys)
        }
        live = [(k, candidates[key]) for k, key in enumerate(keys) if candidates[key] is not None]
        if not live:
            return explored, "no_split"
        k, best = min(live, key=lambda kc: kc[1].beta_star)
        beta = max(best.beta_star, floor)
        split = current.assign.clone()
        split[best.members[~best.half]] = current.K
        at = beta * (1 + REL_STEP)
        fits = [fit(at, dataclasses.replace(current, assign=split)), fit(at, None)]
        seen, new = [partition_keys(current.assign)], []
        for found, cold_start in zip(fits, (False, True), strict=True):
            keys = partition_keys(found.result.assign)
            if keys not in seen:
                seen.append(keys)
                found.split = best.to_json(k) | {"cold_start": cold_start}
                new.append(found)
        explored += new
        if beta_max is not None and beta > beta_max:
            # fitted all the same: its partition may undercut the path before beta_max
            return explored, "beta_max"
        if not new:
            floor = beta * (1 + STALL_STEP)
            log.debug("gamma=%g: the fit at beta=%.6g undid the split of motif %d", gamma, beta, k)
            continue
        found = min(new, key=lambda x: x.result.terms.L)
        log.info(
            "beta path gamma=%g: beta*=%.6g, K %d -> %d", gamma, beta, current.K, found.result.K
        )
        current, floor = found.result, found.result.beta
    return explored, "max_events"


def follow_beta_path(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    gamma: float,
    settings: FitSettings,
    K_clamp: int,
    beta_max: float | None = None,
) -> BetaPath:
    """The path of one gamma from K = 1 until K >= min(K_clamp, K_max), the next critical
    beta exceeds beta_max, or no split lowers W. Its events are the lower envelope of the
    partitions found: each is the lowest-L partition found from its beta to the next."""
    if beta_max is not None and not 0 < beta_max < float("inf"):
        raise InputError(f"beta_max must be a finite number > 0 or None, got {beta_max}")
    e, a, p_n = validate_inputs(e, a, p)
    w_e, w_a = view_weights(1.0, gamma, e.shape[1], a.shape[1], settings.distortion_scale)
    path = PathProblem(e, a, p_n, w_e, w_a, settings, dataset_cache(e, a, p_n))
    explored, stopped = explore(path, p, gamma, K_clamp, beta_max)
    ends = {"beta_max": beta_max, "no_split": None}
    beta_end = ends.get(stopped, explored[-1].result.beta)
    envelope = lower_envelope([x.result.terms.H for x in explored], [x.W for x in explored])
    events, before = [], None
    for i, beta in envelope:
        if beta_max is not None and beta > beta_max:
            break
        after = explored[i].result
        children, merges = lineage(before.assign, after.assign, p_n) if before else ([], [])
        events.append(PathEvent(beta, after, children, merges, explored[i].split))
        before = after
    return BetaPath(
        gamma,
        settings.distortion_scale,
        settings.semantic_center,
        K_clamp,
        beta_max,
        stopped,
        beta_end,
        events,
    )
