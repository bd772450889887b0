"""Weighted medians of member subsets over one motif's presorted attribution columns.

The weighted median is a sort. On CPU, one motif's members are argsorted per
coordinate once (numpy on contiguous rows: SIMD quicksort, or timsort when most
values tie, as in sparse attributions; local indices in uint16, uint16 + one packed
bit, or int32), and every weighted median of any reweighting of those members (the
M-step, each split proposal, each Lloyd step) is then a gather plus a two-level
cumulative sum (block sums, then one block) over that order. Orders are cached by
membership in an LRU budget of CACHE_SHARE x a's bytes; columns beyond it are
re-sorted per call, so memory stays O(N d_a). Elsewhere (CUDA) torch.sort runs per call.

Sparse attributions (mostly exact zeros): a column's median is 0 whenever neither its
negative nor its positive entries carry half the weight, which two sparse products of the
weights with the members' sign pattern decide for every column at once; only the other
columns (a few hundred of thousands, typically) are sorted, each when first needed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from torch import Tensor

from motif_discovery.clustering.rd_objective import CHUNK_ELEMENTS

# Medians skip the columns a sign count decides (median 0) when at least this share of a
# is exactly zero; the margin keeps that decision far from rounding.
SPARSE_SHARE = 0.5
SPARSE_MARGIN = 1e-9
# A motif keeps its rows of sign(a) (for repeated medians) up to this many nonzeros.
SIGN_ROWS_MAX_NONZEROS = 1 << 23
# Cached orders (and sign rows) may take this share of a's bytes (least recently used go
# first); columns beyond the budget are re-sorted per call, so memory stays O(N d_a).
CACHE_SHARE = 0.55
MIN_CACHE_BYTES = 256 << 20


def membership_key(members: Tensor) -> bytes:
    """A digest of a tensor's bytes (a sorted member set, or the weights P)."""
    return hashlib.blake2b(members.cpu().numpy().tobytes(), digest_size=16).digest()


def index_dtype(n: int) -> np.dtype:
    """Smallest dtype for local indices 0..n (n is the padding slot)."""
    return np.dtype(np.uint16) if n < 1 << 16 else np.dtype(np.int32)


@dataclass
class PackedOrder:
    """Column orders [columns, width] of local indices 0..n in few bytes: uint16 when
    n < 2^16; uint16 low bits plus one packed high bit when n < 2^17 (2.125 bytes per
    entry, so N = 100,000 fits where int32 would not); int32 otherwise."""

    low: np.ndarray
    high: np.ndarray | None = None
    filled: np.ndarray | None = None

    @staticmethod
    def entry_bits(n: int) -> int:
        return 16 if n < 1 << 16 else (17 if n < 1 << 17 else 32)

    @classmethod
    def empty(cls, n: int, columns: int, width: int) -> PackedOrder:
        bits = cls.entry_bits(n)
        low = np.empty((columns, width), dtype=np.uint16 if bits <= 17 else np.int32)
        high = np.empty((columns, -(-width // 8)), dtype=np.uint8) if bits == 17 else None
        return cls(low, high, np.zeros(columns, dtype=bool))

    def store(self, rows: np.ndarray, order: np.ndarray) -> None:
        """Write the given rows from a plain index array and mark them filled."""
        self.filled[rows] = True
        if self.high is None:
            self.low[rows] = order
            return
        self.low[rows] = order & 0xFFFF
        self.high[rows] = np.packbits(order >> 16 != 0, axis=1)

    def rows_at(self, rows: slice | np.ndarray) -> np.ndarray:
        """Plain index array of the given rows (a slice or an index array)."""
        if self.high is None:
            return self.low[rows]
        bits = np.unpackbits(self.high[rows], axis=1, count=self.low.shape[1])
        return self.low[rows].astype(np.int32) | (bits.astype(np.int32) << 16)

    @property
    def columns(self) -> int:
        return self.low.shape[0]

    @property
    def nbytes(self) -> int:
        return self.low.nbytes + (0 if self.high is None else self.high.nbytes)


@dataclass
class MotifOrder:
    """Members (sorted global indices) and, on CPU, order[j] = argsort of a[members, j]
    padded with index n (a zero-weight slot) to a multiple of the block length, for the
    first order.columns columns (those the cache budget holds; the rest sort per call),
    each column sorted when first needed; signs: the members' rows of sign(a) (sparse data)."""

    members: Tensor
    order: PackedOrder | None
    block: int
    signs: tuple | None = None

    @property
    def width(self) -> int:
        n = self.members.shape[0]
        return -(-n // self.block) * self.block

    @property
    def nbytes(self) -> int:
        """Bytes held by the orders and the sign rows."""
        held = 0 if self.order is None else self.order.nbytes
        if self.signs is not None:
            held += self.signs.data.nbytes + self.signs.indices.nbytes + self.signs.indptr.nbytes
        return held


def argsort_rows(x: np.ndarray) -> np.ndarray:
    """argsort along rows. numpy's SIMD quicksort slows down 5x on many exact ties (sparse
    attributions: mostly zeros); its stable sort (timsort) is then the faster one."""
    many_ties = np.count_nonzero(x) < x.size // 2
    return np.argsort(x, axis=1, kind="stable" if many_ties else "quicksort")


def block_length(n: int) -> int:
    """Block length of the two-level cumulative sum: about sqrt(n), at least 16."""
    return max(16, int(n**0.5))


def crossing(running, half, last: int):
    """The weighted median's rule: the first position (along axis 0) whose running sum of
    sorted weights reaches half the total, i.e. the number of running sums below half,
    at most last (rounding may leave every sum a hair below half). numpy or torch."""
    return (running < half).sum(0).clip(max=last)


def weighted_median_sorted(values: Tensor, order: Tensor, weights: Tensor) -> Tensor:
    """Lower weighted median per column: the first sorted x with cumsum(w) >= sum(w)/2."""
    cw = torch.cumsum(weights.double()[order], dim=0)
    pos = crossing(cw, cw[-1:] / 2, values.shape[0] - 1)
    return values.gather(0, order.gather(0, pos[None]))[0]


def _crossing_block(sums: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of block sums [c, nb] (weights in sorted order): the first block b whose
    cumulative sum reaches half, and the cumulative weight before it."""
    cs = np.cumsum(sums.T, axis=0)
    b = crossing(cs, half, sums.shape[1] - 1)
    before = np.where(b > 0, cs[b - 1, np.arange(sums.shape[0])], 0.0)
    return b, before


def _crossing_position(
    b: np.ndarray, before: np.ndarray, blk: np.ndarray, half: float
) -> np.ndarray:
    """The first sorted position whose cumulative weight reaches half, inside block b
    (blk [c, B] that block's weights): b * B + (count of running sums below half)."""
    running = before + np.cumsum(blk.T.astype(np.float64), axis=0)
    return b * blk.shape[1] + crossing(running, half, blk.shape[1] - 1)


def _blocks(x: np.ndarray, B: int) -> np.ndarray:
    """[c, nb * B] viewed as [c, nb, B]."""
    return x.reshape(x.shape[0], -1, B)


def _block_sums(sorted_w: np.ndarray, B: int) -> np.ndarray:
    """[c, nb] float64 sums of consecutive blocks of B weights along each row."""
    starts = np.arange(0, sorted_w.shape[1], B)
    return np.add.reduceat(sorted_w, starts, axis=1).astype(np.float64)


class MedianIndex:
    """Per-motif sorted orders of the attribution view a [N, d_a]."""

    def __init__(
        self,
        a: Tensor,
        cache: OrderedDict[bytes, MotifOrder] | None = None,
        signs: dict | None = None,
    ) -> None:
        self.a = a
        self.on_cpu = a.device.type == "cpu"
        self.a_np = a.numpy() if self.on_cpu else None
        self._cache: OrderedDict[bytes, MotifOrder] = OrderedDict() if cache is None else cache
        self.budget = max(MIN_CACHE_BYTES, int(CACHE_SHARE * a.numel() * a.element_size()))
        self._signs = {} if signs is None else signs

    @property
    def signs(self) -> sparse.csr_array | None:
        """sign(a) as a sparse int8 matrix when at least SPARSE_SHARE of a is exactly zero
        (built once, in row chunks); None for dense data."""
        if "matrix" not in self._signs:
            matrix = None
            if self.on_cpu:
                n = self.a_np.shape[0]
                step = max(1, CHUNK_ELEMENTS // max(1, self.a_np.shape[1]))
                nonzero = sum(
                    int(np.count_nonzero(self.a_np[i : i + step])) for i in range(0, n, step)
                )
                if nonzero <= (1 - SPARSE_SHARE) * self.a_np.size:
                    matrix = sparse.vstack(
                        [
                            sparse.csr_array(np.sign(self.a_np[i : i + step]).astype(np.int8))
                            for i in range(0, n, step)
                        ],
                        format="csr",
                    )
            self._signs["matrix"] = matrix
        return self._signs["matrix"]

    def undecided(self, motif: MotifOrder, weights: np.ndarray) -> np.ndarray | None:
        """Columns whose weighted median under some row of weights [H, n] may be nonzero;
        None when a is dense (every column). Sorted, the members' values of a column are its
        negatives, its zeros, its positives; with W_- and W_+ the weight on the negatives and
        positives, the crossing of half the total lies among the zeros, so the median is 0,
        when W_- < half and W_+ < half (required here with a relative margin of 1e-9, far
        beyond the rounding of either sum)."""
        if self.signs is None:
            return None
        m = motif.members.numpy()
        d = self.signs.shape[1]
        if motif.signs is None and self._nonzeros(m) > SIGN_ROWS_MAX_NONZEROS:
            sides = self._sides_in_chunks(m, weights)  # too large a motif to keep its rows
        else:
            if motif.signs is None:
                rows = self.signs if m.shape[0] == self.signs.shape[0] else self.signs[m]
                # [2 d, n]: indicators of the positive, then the negative entries, per column
                motif.signs = sparse.vstack(
                    [(rows > 0).T.astype(np.float64), (rows < 0).T.astype(np.float64)],
                    format="csr",
                )
            sides = (motif.signs @ weights.T).T  # [H, 2 d]: W_+ then W_- per column
        half = weights.sum(1, keepdims=True) / 2 * (1 - SPARSE_MARGIN)
        zero = (sides[:, :d] < half) & (sides[:, d:] < half)
        return np.flatnonzero(~zero.all(0))

    def _nonzeros(self, members: np.ndarray) -> int:
        """Nonzero entries of a in the rows members."""
        counts = np.diff(self.signs.indptr)
        return int(counts.sum() if members.shape[0] == counts.shape[0] else counts[members].sum())

    def _sides_in_chunks(self, members: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """[H, 2 d]: W_+ then W_- per column under each row of weights [H, n], by weighted
        counts over the members' nonzeros, a chunk of rows at a time (nothing kept)."""
        d = self.signs.shape[1]
        sides = np.zeros((weights.shape[0], 2 * d))
        step = max(1, members.shape[0] * CHUNK_ELEMENTS // max(1, self._nonzeros(members)))
        for i0 in range(0, members.shape[0], step):
            rows = self.signs[members[i0 : i0 + step]]
            local = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
            column = rows.indices + d * (rows.data < 0)
            for h, w in enumerate(weights[:, i0 : i0 + step]):
                sides[h] += np.bincount(column, weights=w[local], minlength=2 * d)
        return sides

    def partition_undecided(
        self, assign: np.ndarray, p: np.ndarray, K: int
    ) -> list[np.ndarray] | None:
        """undecided() of every motif k of a partition, weighted by p: W_+ and W_- of all
        motifs and columns from weighted counts over a's nonzeros (in row chunks)."""
        signs = self.signs
        if signs is None:
            return None
        n, d = signs.shape
        positive, negative = np.zeros(K * d), np.zeros(K * d)
        step = max(1, n * (CHUNK_ELEMENTS // 4) // max(1, signs.nnz))
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            lo, hi = signs.indptr[r0], signs.indptr[r1]
            rows = np.repeat(np.arange(r0, r1), np.diff(signs.indptr[r0 : r1 + 1]))
            key = assign[rows].astype(np.int64) * d + signs.indices[lo:hi]
            up = signs.data[lo:hi] > 0
            positive += np.bincount(key[up], weights=p[rows[up]], minlength=K * d)
            negative += np.bincount(key[~up], weights=p[rows[~up]], minlength=K * d)
        half = np.bincount(assign, weights=p, minlength=K)[:, None] / 2 * (1 - SPARSE_MARGIN)
        zero = (positive.reshape(K, d) < half) & (negative.reshape(K, d) < half)
        return [np.flatnonzero(~row) for row in zero]

    def order(self, members: Tensor) -> MotifOrder:
        """The cached MotifOrder of a sorted member set (columns sorted on first use)."""
        key = membership_key(members)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        n, d = members.shape[0], self.a.shape[1]
        motif = MotifOrder(members, None, block_length(n))
        if self.on_cpu:
            row_bytes = PackedOrder.empty(n, 1, motif.width).nbytes
            used = sum(m.nbytes for m in self._cache.values())
            while self._cache and used + d * row_bytes > self.budget:
                used -= self._cache.popitem(last=False)[1].nbytes
            columns = min(d, (self.budget - used) // row_bytes)
            motif.order = PackedOrder.empty(n, columns, motif.width)
        self._cache[key] = motif
        return motif

    @staticmethod
    def _step(motif: MotifOrder) -> int:
        """Columns per chunk."""
        return max(1, CHUNK_ELEMENTS // max(1, motif.members.shape[0]))

    def _argsort_at(self, motif: MotifOrder, cols: np.ndarray) -> np.ndarray:
        """[columns, width] argsort of a[members, j] for the columns cols, padded with n."""
        m = motif.members.numpy()
        n = m.shape[0]
        whole = n == self.a_np.shape[0]
        x = self.a_np[:, cols] if whole else self.a_np[np.ix_(m, cols)]
        out = np.full((x.shape[1], motif.width), n, dtype=index_dtype(n))
        out[:, :n] = argsort_rows(np.ascontiguousarray(x.T))
        return out

    def _cached_rows(self, motif: MotifOrder, cols: np.ndarray) -> np.ndarray:
        """The cached orders of cols (all < order.columns), sorting those not yet filled."""
        missing = cols[~motif.order.filled[cols]]
        if missing.shape[0]:
            motif.order.store(missing, self._argsort_at(motif, missing))
        return motif.order.rows_at(cols)

    def _chunks(self, motif: MotifOrder, cols: np.ndarray | None = None):
        """Yield (column indices, order rows) over column chunks of every column, or only of
        cols (sorted): cached columns first, then the rest sorted now."""
        d, cached, step = self.a.shape[1], motif.order.columns, self._step(motif)
        cols = np.arange(d) if cols is None else cols
        split = int(np.searchsorted(cols, cached))
        for i in range(0, split, step):
            chunk = cols[i : min(i + step, split)]
            yield chunk, self._cached_rows(motif, chunk)
        for i in range(split, cols.shape[0], step):
            chunk = cols[i : i + step]
            yield chunk, self._argsort_at(motif, chunk)

    @staticmethod
    def _weights(w: Tensor) -> np.ndarray:
        """Weights in float64 (P spans many orders of magnitude), with a trailing zero for
        the padding index."""
        return np.append(w.double().numpy(), 0.0)

    def _values(
        self, m: np.ndarray, cols: np.ndarray, order: np.ndarray, pos: np.ndarray
    ) -> np.ndarray:
        """a[members[order[j, pos_j]], cols[j]]; positions past the last member (padding,
        reached only when rounding leaves the running sum a hair below half) mean the last."""
        rows = np.arange(order.shape[0])
        pos = np.minimum(pos, m.shape[0] - 1)
        return self.a_np[m[order[rows, pos]], cols]

    def medians(self, motif: MotifOrder, weights: Tensor) -> Tensor:
        """Weighted medians [H, d_a] of the members under each row of weights [H, n]."""
        if not self.on_cpu:
            x = self.a[motif.members]
            order = torch.argsort(x, dim=0)
            return torch.stack([weighted_median_sorted(x, order, w) for w in weights])
        return self.medians_at(motif, weights, self.undecided(motif, weights.double().numpy()))

    def medians_at(self, motif: MotifOrder, weights: Tensor, cols: np.ndarray | None) -> Tensor:
        """medians() given the columns whose median may be nonzero (None: every column; CPU)."""
        m = motif.members.numpy()
        ws = [self._weights(w) for w in weights]
        half = weights.double().sum(1).numpy() / 2
        out = np.zeros((len(ws), self.a.shape[1]), dtype=self.a_np.dtype)
        for chunk, order in self._chunks(motif, cols):
            rows = np.arange(order.shape[0])
            for h, w in enumerate(ws):
                sw = w[order]
                b, before = _crossing_block(_block_sums(sw, motif.block), half[h])
                sw = _blocks(sw, motif.block)
                pos = _crossing_position(b, before, sw[rows, b], half[h])
                out[h, chunk] = self._values(m, chunk, order, pos)
        return torch.from_numpy(out)

    def split_medians(self, motif: MotifOrder, w: Tensor, half: Tensor) -> Tensor:
        """Weighted medians [2, d_a] of the members under w * half and w * ~half.

        Each half's block sums are built from its own weights: subtracting one half's
        sums from the members' total loses a light half to rounding when P is skewed.
        """
        return self.medians(motif, torch.stack([w * half, w * ~half]))
