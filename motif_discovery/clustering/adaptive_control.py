"""Adaptive K: split tests (several refined bipartitions per motif) and junk (merge) tests.

Both act on a State; every change of L they report is exact (split) or an upper
bound (junk, before the receivers' M-step), so accepting only negative changes
keeps L monotone under the exact M-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from motif_discovery.clustering.centres import semantic_centre, subset_centres
from motif_discovery.clustering.initialize import Problem, State, tensor_bytes
from motif_discovery.clustering.median_index import MotifOrder, crossing, membership_key
from motif_discovery.clustering.rd_objective import (
    Rows,
    assign_by_cost,
    assignment_score,
    entropy,
    l1_distances,
    rate,
    squared_distances,
)

POWER_STEPS = 20
POWER_COS = 0.9999
# Member sets up to this size run the power iteration on their n x n Gram matrix.
DUAL_MAX_MEMBERS = 1024


@dataclass
class SplitVerdict:
    """Best bipartition of one motif: delta_L = L(split) - L(now); half True = stays."""

    delta_L: float
    members: Tensor
    half: Tensor | None = None
    mu_e: Tensor | None = None
    mu_a: Tensor | None = None
    proposal: str = ""


@dataclass
class Members:
    """One motif's members: indices, weights P_n, rows of both views, presorted order."""

    members: Tensor
    key: bytes
    w: Tensor
    E: Rows
    A: Rows
    order: MotifOrder

    @classmethod
    def of(cls, problem: Problem, members: Tensor) -> Members:
        return cls(
            members,
            membership_key(members),
            problem.p[members],
            Rows(problem.e, members),
            Rows(problem.a, members, problem.cache.l1_norms(problem.a)),
            problem.index.order(members),
        )

    def centres(self, problem: Problem, weights: Tensor) -> tuple[Tensor, Tensor]:
        """Exact M-step (mu_e [H, d_e], mu_a [H, d_a]) for reweightings [H, n] of the members."""
        return subset_centres(self.E, problem.index, self.order, weights, problem.semantic_center)

    def halves(self, problem: Problem, half: Tensor) -> tuple[Tensor, ...]:
        """(mu_e [2, d_e], mu_a [2, d_a], Pbar [2], De [n, 2], Da [n, 2]) of the bipartition
        (half, ~half): exact centres and the members' distances to them, cached per data set
        (they depend only on the members and the bipartition)."""
        key = self.key + problem.semantic_center.encode() + half.cpu().numpy().tobytes()
        hit = problem.cache.halves.get(key)
        if hit is None:
            mu_e, mu_a, prior = self.split_centres(problem, half)
            hit = (mu_e, mu_a, prior, self.E.squared(mu_e), self.A.l1(mu_a))
            problem.cache.halves.put(key, hit, tensor_bytes(hit))
        return hit

    def split_centres(self, problem: Problem, half: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Exact M-step of the two halves (half, ~half): mu_e [2, d_e], mu_a [2, d_a], Pbar [2]."""
        weights = torch.stack([self.w * half, self.w * ~half])
        totals = weights.double().sum(1)
        mu_e = semantic_centre(self.E.rmatvec(weights.T).T, totals, problem.semantic_center)
        mu_a = problem.index.split_medians(self.order, self.w, half).to(mu_e.device)
        return mu_e, mu_a, totals

    def cost(self, problem: Problem, mu_e: Tensor, mu_a: Tensor) -> Tensor:
        """[n, H] beta_e ||e_n - mu_e_h||^2 + beta_a ||a_n - mu_a_h||_1."""
        return problem.cost(self.E.squared(mu_e), self.A.l1(mu_a))


def centred_gram(G: Tensor, wn: Tensor) -> Tensor:
    """Gram matrix of the rows minus their wn-weighted mean m: (x_i - m).(x_j - m)."""
    g = G @ wn
    return G - g[:, None] - g[None, :] + wn @ g


def power_iteration(
    views: list[Rows],
    scales: list[list[float]],
    w: Tensor,
    seed: int,
    grams: list[Tensor | None] | None = None,
) -> Tensor:
    """Projections X_a v_a [n, A] on the top principal axis v_a of C_a = X_a^T diag(w) X_a,
    for A axes at once (w normalized).

    X_a = [s_ab (x_b - m_b)] over views b: m_b the w-weighted mean, s_ab = scales[a][b]
    (sqrt(beta_e), sqrt(beta_a) for the joint axis; 1 and 0 for one view's own axis).
    Iterate v <- C v / ||C v|| from a fixed-seed start, <= 20 steps, until
    |cos(v, v_old)| > 0.9999 (each axis stops on its own). Small member sets run the same
    iteration in the dual: v = X^T q with q in R^n, C v = X^T diag(w) (X X^T) q, so only
    the n x n Gram matrices are needed (grams: the full data's Gram matrix per view, if
    known). Larger sets read each view once per step for all axes together.
    """
    wn = (w.double() / w.double().sum()).to(views[0].x.dtype)
    gen = torch.Generator().manual_seed(seed)
    n = views[0].n
    if n <= DUAL_MAX_MEMBERS:
        grams = grams or [None] * len(views)
        centred = [
            centred_gram(R.gram(full), wn.double()) for R, full in zip(views, grams, strict=True)
        ]
        out = []
        for axis in scales:
            gram = sum(s * s * G for s, G in zip(axis, centred, strict=True) if s != 0)
            q = wn.double() * torch.randn(n, generator=gen, dtype=torch.float64).to(gram.device)
            out.append(_dual_power_iteration(gram, wn.double(), q))
        return torch.stack(out, 1).to(wn.dtype)
    return _primal_power_iteration(views, torch.tensor(scales).to(wn), wn, gen)


def _dual_power_iteration(gram: Tensor, wn: Tensor, q: Tensor) -> Tensor:
    """Power iteration on v = X^T q; gram = X X^T; returns X v."""
    y = gram @ q
    norm = (q @ y).clamp_min(0).sqrt()
    if not norm > 0:
        return y
    q, y = q / norm, y / norm
    for _ in range(POWER_STEPS):
        q_next = wn * y
        y_next = gram @ q_next
        norm = (q_next @ y_next).clamp_min(0).sqrt()
        if not norm > 0:
            break
        q_next, y_next = q_next / norm, y_next / norm
        cos = float(y @ q_next)
        q, y = q_next, y_next
        if abs(cos) > POWER_COS:
            break
    return y


def _primal_power_iteration(
    views: list[Rows], scales: Tensor, wn: Tensor, gen: torch.Generator
) -> Tensor:
    """Power iteration on V_b [d_b, A] per view, one pass over each view per step."""
    means = [R.rmatvec(wn) for R in views]
    V = [
        torch.randn(R.d, scales.shape[0], generator=gen, dtype=torch.float64).to(wn) * (s != 0)
        for R, s in zip(views, scales.T, strict=True)
    ]

    def normalized(V: list[Tensor]) -> tuple[list[Tensor], Tensor]:
        norm = torch.sqrt(sum((Vb * Vb).sum(0) for Vb in V))
        return [Vb / norm.clamp_min(torch.finfo(norm.dtype).tiny) for Vb in V], norm

    def project(V: list[Tensor]) -> Tensor:
        parts = zip(views, means, V, scales.T, strict=True)
        return sum(s * (R.matvec(Vb) - m @ Vb) for R, m, Vb, s in parts)

    V, _ = normalized(V)
    Y = project(V)
    active = torch.ones(scales.shape[0], dtype=torch.bool, device=wn.device)
    for _ in range(POWER_STEPS):
        U = wn[:, None] * Y
        parts = zip(views, means, scales.T, strict=True)
        G, norm = normalized([s * (R.rmatvec(U) - m[:, None] * U.sum(0)) for R, m, s in parts])
        cos = sum((Gb * Vb).sum(0) for Gb, Vb in zip(G, V, strict=True))
        active &= norm > 0
        V = [torch.where(active, Gb, Vb) for Gb, Vb in zip(G, V, strict=True)]
        Y = torch.where(active, project(V), Y)
        active &= cos.abs() <= POWER_COS
        if not active.any():
            break
    return Y


def cut_at_weighted_median(projection: Tensor, w: Tensor) -> Tensor | None:
    """half = projection <= its w-weighted median (or < when that leaves one side empty)."""
    order = torch.argsort(projection)
    cw = torch.cumsum(w.double()[order], 0)
    pos = int(crossing(cw, cw[-1] / 2, projection.shape[0] - 1))
    threshold = projection[order[pos]]
    for half in (projection <= threshold, projection < threshold):
        if 0 < int(half.sum()) < projection.shape[0]:
            return half
    return None


def farthest_seed_proposal(problem: Problem, m: Members, own_cost: Tensor) -> Tensor | None:
    """Two seeds, the motif's centre and its member farthest from it (by the objective's
    cost): half = members at least as close to the centre as to that member."""
    f = m.members[int(torch.argmax(own_cost))]
    cost_f = m.cost(problem, problem.e[f][None], problem.a[f][None])[:, 0]
    half = own_cost <= cost_f
    return half if 0 < int(half.sum()) < m.members.shape[0] else None


def split_proposals(problem: Problem, m: Members, own_cost: Tensor) -> dict[str, Tensor | None]:
    """Initial bipartitions: joint axis, semantic axis, attribution axis, farthest seed."""
    grams = [problem.cache.gram("e", problem.e), problem.cache.gram("a", problem.a)]
    axes = {
        "joint_axis": [problem.beta_e**0.5, problem.beta_a**0.5],
        "semantic_axis": [1.0, 0.0],
        "attribution_axis": [0.0, 1.0],
    }
    projections = power_iteration([m.E, m.A], list(axes.values()), m.w, problem.seed, grams)
    out = {name: cut_at_weighted_median(projections[:, i], m.w) for i, name in enumerate(axes)}
    out["farthest_seed"] = farthest_seed_proposal(problem, m, own_cost)
    return out


def canonical(half: Tensor) -> Tensor:
    """A bipartition's label-free form: the side holding the first member is True."""
    return half if bool(half[0]) else ~half


def lloyd_refine(
    problem: Problem, m: Members, half: Tensor, visited: list[Tensor]
) -> tuple[float, Tensor, Tensor, Tensor]:
    """Lloyd steps on one motif's members under its own objective, rate included.

    Repeat (at most problem.lloyd_steps reassignments): exact M-step on both halves,
    then c(n) = argmin_h [-ln Pbar_h + beta_e ||e_n - mu_e_h||^2 + beta_a ||a_n - mu_a_h||_1].
    Stops early at a fixed point, an empty half, or a bipartition in visited (another
    proposal's path, which goes on from there); appends the bipartitions it reaches.
    Returns (L of the final halves at their exact centres, half, mu_e [2], mu_a [2]).
    """
    for step in range(problem.lloyd_steps + 1):
        mu_e, mu_a, prior, De, Da = m.halves(problem, half)
        cost = problem.cost(De, Da)
        own = torch.where(half, cost[:, 0], cost[:, 1])
        L_split = float(rate(prior).sum() + (m.w.double() * own).sum())
        if step == problem.lloyd_steps:
            break
        new = assign_by_cost(cost, prior) == 0
        if torch.equal(new, half) or not 0 < int(new.sum()) < m.w.shape[0]:
            break
        if any(torch.equal(canonical(new), v) for v in visited):
            break
        visited.append(canonical(new))
        half = new
    return L_split, half, mu_e, mu_a


def split_test(problem: Problem, state: State, k: int) -> SplitVerdict:
    """Best refined bipartition of motif k and its exact change of L.

    L(now) = -Pbar_k ln Pbar_k + sum_{n in k} P_n cost(n, k);
    L(split) = sum_{h in halves} [-Pbar_h ln Pbar_h + sum_{n in h} P_n cost(n, h)].
    """
    members = state.members(k)
    verdict = SplitVerdict(float("inf"), members)
    if members.shape[0] < 2:
        return verdict
    m = Members.of(problem, members)
    own_cost = problem.cost(state.De[members, k], state.Da[members, k])
    L_now = float(rate(m.w.double().sum()) + (m.w.double() * own_cost).sum())
    starts: dict[str, Tensor] = {}
    for name, half in split_proposals(problem, m, own_cost).items():
        if half is not None and not any(torch.equal(canonical(half), s) for s in starts.values()):
            starts[name] = canonical(half)
    visited = list(starts.values())
    for name, half in starts.items():
        L_split, half, mu_e, mu_a = lloyd_refine(problem, m, half, visited)
        if L_split - L_now < verdict.delta_L:
            verdict = SplitVerdict(L_split - L_now, members, half, mu_e, mu_a, name)
    return verdict


@dataclass
class JunkVerdict:
    """Deleting motif k, its members moving to targets: delta_L (an upper bound)."""

    delta_L: float
    members: Tensor
    targets: Tensor


def junk_test(problem: Problem, state: State, k: int) -> JunkVerdict:
    """Delete motif k; each member moves to argmin_{j != k} [-ln Pbar_j + cost(n, j)].

    delta_L = H(Pbar') - H(Pbar) + sum_{n in k} P_n [cost(n, target(n)) - cost(n, k)],
    measured against the receivers' current centres (their M-step can only lower it).
    """
    members = state.members(k)
    cost = problem.cost(state.De[members], state.Da[members])
    score = assignment_score(state.centres.prior, cost)
    score[:, k] = float("inf")
    targets = score.argmin(1)
    w = problem.p[members].double()
    prior = state.centres.prior.clone().index_add_(0, targets, w)
    prior[k] = 0.0
    moved = cost.gather(1, targets[:, None])[:, 0] - cost[:, k]
    delta = entropy(prior) - entropy(state.centres.prior) + (w * moved).sum()
    return JunkVerdict(float(delta), members, targets)


def refit_motifs(problem: Problem, state: State, ks: list[int]) -> None:
    """Exact M-step for the motifs ks (members from state.assign), then their distance columns."""
    if not ks:
        return
    c = state.centres
    for k in ks:
        m = Members.of(problem, state.members(k))
        mu_e, mu_a = m.centres(problem, m.w[None])
        c.mu_e[k], c.mu_a[k] = mu_e[0], mu_a[0]
        c.prior[k] = m.w.double().sum()
    refresh_columns(problem, state, ks)


def refresh_columns(problem: Problem, state: State, ks: list[int]) -> None:
    """Recompute De[:, ks], Da[:, ks] against the current centres of ks."""
    idx = torch.tensor(ks, dtype=torch.long, device=state.De.device)
    state.De[:, idx] = squared_distances(problem.e, state.centres.mu_e[idx])
    state.Da[:, idx] = l1_distances(
        problem.a, state.centres.mu_a[idx], problem.cache.l1_norms(problem.a)
    )


def apply_splits(
    problem: Problem, state: State, verdicts: list[tuple[int, SplitVerdict]], K_max: int
) -> list[dict]:
    """Accept every split with delta_L < 0, largest gain first, while K < K_max."""
    c = state.centres
    events, changed = [], []
    for k, v in sorted(verdicts, key=lambda kv: kv[1].delta_L):
        if not v.delta_L < 0 or K_max <= state.K:
            break
        new = state.K
        state.assign[v.members[~v.half]] = new
        w = problem.p[v.members].double()
        c.mu_e = torch.cat([c.mu_e, v.mu_e[1:]])
        c.mu_a = torch.cat([c.mu_a, v.mu_a[1:]])
        c.prior = torch.cat([c.prior, (w * ~v.half).sum()[None]])
        c.mu_e[k], c.mu_a[k], c.prior[k] = v.mu_e[0], v.mu_a[0], (w * v.half).sum()
        changed += [k, new]
        events.append({"type": "split", "motif": k, "delta_L": v.delta_L, "proposal": v.proposal})
    if changed:
        n = state.De.shape[0]
        pad = torch.zeros(
            n, state.K - state.De.shape[1], dtype=state.De.dtype, device=state.De.device
        )
        state.De, state.Da = torch.cat([state.De, pad], 1), torch.cat([state.Da, pad.clone()], 1)
        refresh_columns(problem, state, changed)
    return events


def apply_junk(problem: Problem, state: State, k: int, verdict: JunkVerdict) -> None:
    """Move motif k's members to their targets, delete k, refit the receivers."""
    state.assign[verdict.members] = verdict.targets
    state.assign[state.assign > k] -= 1
    keep = torch.arange(state.K, device=state.assign.device) != k
    c = state.centres
    c.mu_e, c.mu_a, c.prior = c.mu_e[keep], c.mu_a[keep], c.prior[keep]
    state.De, state.Da = state.De[:, keep], state.Da[:, keep]
    receivers = torch.unique(verdict.targets)
    receivers = receivers - (receivers > k).long()
    refit_motifs(problem, state, receivers.tolist())


def junk_loop(problem: Problem, state: State) -> list[dict]:
    """Evaluate every motif's deletion, accept the best if delta_L < 0, repeat."""
    events = []
    while state.K > 1:
        verdicts = [junk_test(problem, state, k) for k in range(state.K)]
        k = min(range(state.K), key=lambda j: verdicts[j].delta_L)
        if not verdicts[k].delta_L < 0:
            break
        apply_junk(problem, state, k, verdicts[k])
        events.append({"type": "junk", "motif": k, "delta_L": verdicts[k].delta_L})
    return events
