"""The fit's fixed problem (data, weights, beta_e, beta_a) and its evolving state."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import Tensor

from motif_discovery.clustering.centres import Centres, m_step
from motif_discovery.clustering.median_index import MedianIndex, membership_key
from motif_discovery.clustering.rd_objective import l1_distances, row_chunks, squared_distances
from motif_discovery.utils.errors import InputError

# Data sets up to this size keep full Gram matrices X X^T of both views for split tests.
GRAM_MAX_N = 2048


# Centres and distances of split halves kept for reuse, in bytes (least recently used go).
HALVES_CACHE_BYTES = 64 << 20
# Split verdicts, and fits' final states (centres, distance matrices), kept for reuse.
VERDICT_CACHE_BYTES = 64 << 20
STATE_CACHE_BYTES = 64 << 20


def tensor_bytes(values: tuple) -> int:
    """Bytes held by the tensors among values."""
    return sum(x.numel() * x.element_size() for x in values if isinstance(x, Tensor))


@dataclass
class LRUCache:
    """A map evicting its least recently used entries beyond `budget` bytes (entry sizes
    are counted once, when stored)."""

    budget: int
    entries: OrderedDict[bytes, tuple[object, int]] = field(default_factory=OrderedDict)
    size: int = 0

    def get(self, key: bytes):
        hit = self.entries.get(key)
        if hit is None:
            return None
        self.entries.move_to_end(key)
        return hit[0]

    def put(self, key: bytes, value: object, nbytes: int) -> None:
        if key in self.entries:
            return
        self.entries[key] = (value, nbytes)
        self.size += nbytes
        while self.size > self.budget and len(self.entries) > 1:
            self.size -= self.entries.popitem(last=False)[1][1]


@dataclass
class DatasetCache:
    """Work shared by every fit on the same data: presorted orders, full Gram matrices,
    (and the L1 norms of a's rows), the exact centres and distances of bipartitions already
    evaluated and of fits' final partitions (they do not depend on beta, gamma, so sweep
    configs reuse them), and split verdicts (keyed by the motif's members and the weights
    they were found under, so a config's restarts reuse its earlier fits' tests)."""

    index: MedianIndex
    grams: dict[str, Tensor]
    halves: LRUCache = field(default_factory=lambda: LRUCache(HALVES_CACHE_BYTES))
    verdicts: LRUCache = field(default_factory=lambda: LRUCache(VERDICT_CACHE_BYTES))
    states: LRUCache = field(default_factory=lambda: LRUCache(STATE_CACHE_BYTES))

    def l1_norms(self, a: Tensor) -> Tensor:
        """||a_n||_1 of every row (float64), computed once."""
        if "l1" not in self.grams:
            self.grams["l1"] = torch.cat(
                [a[rows].abs().sum(1, dtype=torch.float64) for rows in row_chunks(*a.shape)]
            )
        return self.grams["l1"]

    def gram(self, name: str, x: Tensor) -> Tensor | None:
        """x x^T (float64) of the view called name, when N <= GRAM_MAX_N; else None."""
        if x.shape[0] > GRAM_MAX_N:
            return None
        if name not in self.grams:
            self.grams[name] = (x @ x.T).double()
        return self.grams[name]


@dataclass
class SharedWork:
    """What dataset_cache keeps between fits: weak references to e and a, the versions it
    was computed for, and every part of a DatasetCache that holds no reference to e or a."""

    e: weakref.ref
    a: weakref.ref
    versions: tuple
    orders: OrderedDict
    signs: dict
    grams: dict[str, Tensor]
    halves: LRUCache
    verdicts: LRUCache
    states: LRUCache


_SHARED: dict[str, SharedWork] = {}


def dataset_cache(e: Tensor, a: Tensor, p: Tensor) -> DatasetCache:
    """The DatasetCache of (e, a, p), reused while the same unmodified tensors and the same
    weights come back (a sweep's configs share it). Only weak references to e and a are
    kept, and the shared work is dropped when either is garbage-collected."""
    shared = _SHARED.get("entry")
    versions = (e._version, a._version, membership_key(p))
    if shared is not None and shared.e() is e and shared.a() is a and shared.versions == versions:
        index = MedianIndex(a, shared.orders, shared.signs)
        return DatasetCache(index, shared.grams, shared.halves, shared.verdicts, shared.states)

    def drop(_: object) -> None:
        _SHARED.pop("entry", None)

    cache = DatasetCache(MedianIndex(a), {})
    _SHARED["entry"] = SharedWork(
        weakref.ref(e, drop),
        weakref.ref(a, drop),
        versions,
        cache.index._cache,
        cache.index._signs,
        cache.grams,
        cache.halves,
        cache.verdicts,
        cache.states,
    )
    return cache


@dataclass
class Problem:
    """Inputs of one fit: views, normalized weights, view weights and settings."""

    e: Tensor
    a: Tensor
    p: Tensor
    beta_e: float
    beta_a: float
    semantic_center: str
    cache: DatasetCache
    seed: int
    lloyd_steps: int

    @property
    def index(self) -> MedianIndex:
        return self.cache.index

    def cost(self, De: Tensor, Da: Tensor) -> Tensor:
        """beta_e ||e - mu_e||^2 + beta_a ||a - mu_a||_1 from the two distance matrices."""
        return self.beta_e * De.double() + self.beta_a * Da.double()


@dataclass
class State:
    """Assignment, centres, and the distance matrices De, Da [N, K] to the current centres."""

    assign: Tensor
    centres: Centres
    De: Tensor
    Da: Tensor

    @property
    def K(self) -> int:
        return self.centres.mu_e.shape[0]

    def members(self, k: int) -> Tensor:
        """Sorted indices of motif k's members."""
        return torch.nonzero(self.assign == k).flatten()

    def keys(self) -> list[bytes]:
        """Membership digests of every motif (cache keys)."""
        return [membership_key(self.members(k)) for k in range(self.K)]


def compact(assign: Tensor) -> tuple[Tensor, Tensor]:
    """Relabel motifs 0..K-1 in order of first label, dropping empty ones: (assign, kept labels)."""
    kept = torch.unique(assign)
    relabel = torch.full((int(assign.max()) + 1,), -1, dtype=torch.long, device=assign.device)
    relabel[kept] = torch.arange(kept.shape[0], device=assign.device)
    return relabel[assign], kept


def state_key(problem: Problem, assign: Tensor) -> bytes:
    """Cache key of a partition's exact state (its centres do not depend on beta, gamma)."""
    return membership_key(assign) + problem.semantic_center.encode()


def state_from_assignment(problem: Problem, assign: Tensor) -> State:
    """Exact M-step for a given assignment and the distance matrices to its centres (a copy
    of a fit's final state when one ended on this partition: the sweep's restarts)."""
    assign, _ = compact(assign)
    hit = problem.cache.states.get(state_key(problem, assign))
    if hit is not None:
        return copy_state(hit)
    K = int(assign.max()) + 1
    centres = m_step(
        problem.e, problem.a, problem.p, assign, K, problem.semantic_center, problem.index
    )
    De = squared_distances(problem.e, centres.mu_e)
    Da = l1_distances(problem.a, centres.mu_a, problem.cache.l1_norms(problem.a))
    return State(assign, centres, De, Da)


def copy_state(state: State) -> State:
    """A State sharing no tensor with state (fits update theirs in place)."""
    c = state.centres
    centres = Centres(c.mu_e.clone(), c.mu_a.clone(), c.prior.clone())
    return State(state.assign.clone(), centres, state.De.clone(), state.Da.clone())


def remember_state(problem: Problem, state: State) -> None:
    """Keep a copy of a fit's final state for fits that start from its partition."""
    c = state.centres
    size = tensor_bytes((state.assign, c.mu_e, c.mu_a, c.prior, state.De, state.Da))
    problem.cache.states.put(state_key(problem, state.assign), copy_state(state), size)


def initial_assignment(p: Tensor, K_max: int, init_assign: Tensor | None) -> Tensor:
    """K = 1 (all zeros), or a warm start's assignment [N] (relabelled 0..K-1); a warm motif
    without mass under p (its centre would be undefined) joins the heaviest one. A warm
    start of another shape, or with more than K_max motifs, is an InputError."""
    n, device = p.shape[0], p.device
    if init_assign is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    if tuple(init_assign.shape) != (n,):
        raise InputError(
            f"warm start: assignment of shape {tuple(init_assign.shape)}, expected ({n},)"
        )
    warm, _ = compact(init_assign.to(device=device, dtype=torch.long))
    mass = torch.zeros(int(warm.max()) + 1, dtype=torch.float64, device=device)
    mass.index_add_(0, warm, p.double())
    warm, _ = compact(torch.where(mass[warm] > 0, warm, mass.argmax()))
    if int(warm.max()) + 1 > K_max:
        raise InputError(f"warm start: {int(warm.max()) + 1} motifs exceed K_max = {K_max}")
    return warm
