"""The rate-distortion objective L = H(C) + beta_e D_e + beta_a D_a (docs/method.md, stage 5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from motif_discovery.utils.errors import InputError

# Rows x columns handled per chunk of an L1 distance pass (memory stays O(N d)).
CHUNK_ELEMENTS = 1 << 22
# L1 distances read only the centres' nonzero columns when they are at most this share.
SPARSE_CENTRE_SHARE = 0.25


def view_weights(
    beta: float, gamma: float, d_e: int, d_a: int, distortion_scale: str = "sum"
) -> tuple[float, float]:
    """beta_e = gamma beta, beta_a = (1 - gamma) beta; 'per_dim' divides them by d_e, d_a."""
    beta_e, beta_a = gamma * beta, (1.0 - gamma) * beta
    if distortion_scale == "sum":
        return beta_e, beta_a
    if distortion_scale == "per_dim":
        return beta_e / d_e, beta_a / d_a
    raise InputError(f"distortion_scale must be 'sum' or 'per_dim', got {distortion_scale!r}")


def entropy(prior: Tensor) -> Tensor:
    """H = -sum_k Pbar_k ln Pbar_k >= 0, with 0 ln 0 = 0 (clamped at 0: priors summed from
    float32 weights can exceed 1 by rounding, which would make H = -4e-9 at K = 1)."""
    prior = prior.double()
    return (-torch.special.xlogy(prior, prior).sum()).clamp_min(0.0)


def row_chunks(n_rows: int, n_cols: int) -> list[slice]:
    """Slices of rows such that one chunk holds about CHUNK_ELEMENTS values."""
    step = max(1, CHUNK_ELEMENTS // max(1, n_cols))
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


def squared_distances(e: Tensor, mu_e: Tensor) -> Tensor:
    """[N, K] matrix ||e_n - mu_e_k||^2 = ||e_n||^2 - 2 e_n.mu_k + ||mu_k||^2 (clamped at 0),
    in row chunks."""
    out = torch.empty(e.shape[0], mu_e.shape[0], dtype=e.dtype, device=e.device)
    mu_sq = (mu_e * mu_e).sum(1)[None, :]
    for rows in row_chunks(e.shape[0], e.shape[1]):
        x = e[rows]
        out[rows] = (x * x).sum(1, keepdim=True) - 2.0 * (x @ mu_e.T) + mu_sq
    return out.clamp_min_(0.0)


def l1_distances(a: Tensor, mu_a: Tensor, norms: Tensor | None = None) -> Tensor:
    """[N, K] matrix ||a_n - mu_a_k||_1, computed in row chunks.

    When the centres are zero outside a few columns S (medians of sparse attributions),
    ||a_n - mu_k||_1 = (||a_n||_1 - sum_{j in S} |a_nj|) + sum_{j in S} |a_nj - mu_kj|, which
    reads only the columns S given the row norms ||a_n||_1 (norms, float64; else one pass)."""
    out = torch.empty(a.shape[0], mu_a.shape[0], dtype=a.dtype, device=a.device)
    cols = torch.nonzero((mu_a != 0).any(0)).flatten()
    if SPARSE_CENTRE_SHARE * a.shape[1] < cols.shape[0]:
        for rows in row_chunks(a.shape[0], a.shape[1] * max(1, mu_a.shape[0])):
            out[rows] = torch.cdist(a[rows], mu_a, p=1.0)
        return out
    mu_s = mu_a[:, cols]
    for rows in row_chunks(a.shape[0], a.shape[1] + cols.shape[0] * max(1, mu_a.shape[0])):
        x = a[rows]
        row_norms = x.abs().sum(1, dtype=torch.float64) if norms is None else norms[rows]
        x = x.index_select(1, cols)
        off = row_norms - x.abs().sum(1, dtype=torch.float64)
        out[rows] = torch.cdist(x, mu_s, p=1.0) + off.to(a.dtype)[:, None]
    return out


def semantic_distortion(e: Tensor, p: Tensor, mu_e: Tensor, assign: Tensor) -> Tensor:
    """D_e = sum_n P_n ||e_n - mu_e[c(n)]||_2^2 (float64 scalar)."""
    total = torch.zeros((), dtype=torch.float64, device=e.device)
    for rows in row_chunks(e.shape[0], e.shape[1]):
        diff = e[rows] - mu_e[assign[rows]]
        total += (p[rows].double() * (diff * diff).sum(1).double()).sum()
    return total


def attribution_distortion(a: Tensor, p: Tensor, mu_a: Tensor, assign: Tensor) -> Tensor:
    """D_a = sum_n P_n ||a_n - mu_a[c(n)]||_1 (float64 scalar, row chunks)."""
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for rows in row_chunks(a.shape[0], a.shape[1]):
        dist = (a[rows] - mu_a[assign[rows]]).abs().sum(1)
        total += (p[rows].double() * dist.double()).sum()
    return total


@dataclass(frozen=True)
class ObjectiveTerms:
    """L = H + beta_e D_e + beta_a D_a and its parts."""

    L: float
    H: float
    D_e: float
    D_a: float


def prior_of(assign: Tensor, p: Tensor, K: int) -> Tensor:
    """Pbar_k = sum of P_n over the members of k (float64, length K)."""
    out = torch.zeros(K, dtype=torch.float64, device=p.device)
    return out.index_add_(0, assign, p.double())


def objective_value(H: float, D_e: float, D_a: float, beta_e: float, beta_a: float) -> float:
    """L = H + beta_e D_e + beta_a D_a."""
    return H + beta_e * D_e + beta_a * D_a


def rd_objective(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    assign: Tensor,
    mu_e: Tensor,
    mu_a: Tensor,
    beta_e: float,
    beta_a: float,
) -> ObjectiveTerms:
    """L = H(C) + beta_e D_e + beta_a D_a with Pbar taken from the assignment."""
    H = float(entropy(prior_of(assign, p, mu_e.shape[0])))
    D_e = float(semantic_distortion(e, p, mu_e, assign))
    D_a = float(attribution_distortion(a, p, mu_a, assign))
    return ObjectiveTerms(objective_value(H, D_e, D_a, beta_e, beta_a), H, D_e, D_a)


def d_gamma(D_e: float, D_a: float, gamma: float) -> float:
    """D_gamma = gamma D_e + (1 - gamma) D_a (the baselines' comparison metric)."""
    return gamma * D_e + (1.0 - gamma) * D_a


def rate(prior_k: Tensor) -> Tensor:
    """A motif's share of H: -Pbar_k ln Pbar_k (elementwise, 0 ln 0 = 0)."""
    return -torch.special.xlogy(prior_k, prior_k)


def assignment_score(prior: Tensor, cost: Tensor) -> Tensor:
    """[n, K] -ln Pbar_k + cost(n, k), the E-step's score; a motif without mass (Pbar_k = 0)
    is never chosen (its score is inf even where its centre is undefined)."""
    score = code_length(prior)[None, :] + cost
    return score.masked_fill(prior[None, :] <= 0, float("inf"))


def assign_by_cost(cost: Tensor, prior: Tensor) -> Tensor:
    """The E-step's rule: c(n) = argmin_k [-ln Pbar_k + cost(n, k)] (first k on ties)."""
    return assignment_score(prior, cost).argmin(1)


def code_length(prior: Tensor) -> Tensor:
    """-ln Pbar_k, the E-step's rate cost of choosing motif k (inf for an empty motif)."""
    return -torch.log(prior.double())


# Member rows are gathered once when they hold at most this many values or this share
# of the view; larger sets are read in chunks.
MATERIALIZE_ELEMENTS = 1 << 25
MATERIALIZE_SHARE = 0.2


def matvec(x: Tensor, v: Tensor) -> Tensor:
    """x @ v for v [d] or [d, A] (the latter as (v^T x^T)^T: BLAS is much faster so)."""
    return x @ v if v.ndim == 1 else (v.T.contiguous() @ x.T).T


def rmatvec(x: Tensor, u: Tensor) -> Tensor:
    """x^T @ u for u [n] or [n, A], computed as (u^T x)^T."""
    return u @ x if u.ndim == 1 else (u.T @ x).T


class Rows:
    """The rows x[members] of one view (norms: the L1 norms of all rows of x, if known): the
    whole x, a gathered copy when small, or read in chunks. Products with many members
    (n >= N/3) read contiguous slices of all of x and mask, which is cheaper than gathering
    the members' rows on every pass."""

    def __init__(self, x: Tensor, members: Tensor, norms: Tensor | None = None) -> None:
        self.x, self.members = x, members
        self.norms = None if norms is None else norms[members]
        self.n, self.d = members.shape[0], x.shape[1]
        self.whole = self.n == x.shape[0]
        limit = max(MATERIALIZE_ELEMENTS, MATERIALIZE_SHARE * x.numel())
        self.small = self.n * self.d <= limit
        self.masked = not (self.whole or self.small) and 3 * self.n >= x.shape[0]
        self._rows: Tensor | None = None

    @property
    def rows(self) -> Tensor | None:
        """All member rows at once (x itself, or a copy gathered on first use), or None."""
        if self.whole:
            return self.x
        if self.small and self._rows is None:
            self._rows = self.x[self.members]
        return self._rows

    def chunks(self):
        """Yield (slice of members, their rows)."""
        if self.rows is not None:
            yield slice(0, self.n), self.rows
            return
        for rows in row_chunks(self.n, self.d):
            yield rows, self.x[self.members[rows]]

    def matvec(self, v: Tensor) -> Tensor:
        """x[members] @ v."""
        if self.masked:
            full = torch.empty((self.x.shape[0], *v.shape[1:]), dtype=v.dtype, device=v.device)
            for rows in row_chunks(self.x.shape[0], self.d):
                full[rows] = matvec(self.x[rows], v)
            return full[self.members]
        out = torch.empty((self.n, *v.shape[1:]), dtype=self.x.dtype, device=self.x.device)
        for rows, x in self.chunks():
            out[rows] = matvec(x, v)
        return out

    def rmatvec(self, u: Tensor) -> Tensor:
        """x[members]^T @ u."""
        out = torch.zeros((self.d, *u.shape[1:]), dtype=self.x.dtype, device=self.x.device)
        if self.masked:
            full = torch.zeros((self.x.shape[0], *u.shape[1:]), dtype=u.dtype, device=u.device)
            full[self.members] = u
            for rows in row_chunks(self.x.shape[0], self.d):
                out += rmatvec(self.x[rows], full[rows])
            return out
        for rows, x in self.chunks():
            out += rmatvec(x, u[rows])
        return out

    def l1(self, centres: Tensor) -> Tensor:
        """[n, H] ||x_n - c_h||_1."""
        out = torch.empty(self.n, centres.shape[0], dtype=self.x.dtype, device=self.x.device)
        for rows, x in self.chunks():
            out[rows] = l1_distances(x, centres, None if self.norms is None else self.norms[rows])
        return out

    def squared(self, centres: Tensor) -> Tensor:
        """[n, H] ||x_n - c_h||_2^2."""
        out = torch.empty(self.n, centres.shape[0], dtype=self.x.dtype, device=self.x.device)
        for rows, x in self.chunks():
            out[rows] = squared_distances(x, centres)
        return out

    def gram(self, full: Tensor | None = None) -> Tensor:
        """x[members] x[members]^T in float64 (small member sets), taken from the full
        data's Gram matrix when one is given."""
        if full is not None:
            return full[self.members][:, self.members]
        x = self.rows if self.rows is not None else self.x[self.members]
        return (x @ x.T).double()
