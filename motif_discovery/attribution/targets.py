"""Targets of a continuation: which tokens (span), read where (position), with what weight.

For continuation n with tokens t_0 .. t_{T-1} after a context of P tokens, target j is the
centred logit of t_j,

    target_j = logit(t_j) - (1 / |V|) sum_v logit(v) = (W_U[t_j] - mean_v W_U[v]) . h_L,

read at position P - 1 + j (the position that predicts t_j; j = 0: the last prefix position).
With the reference's shift it is read at P + j, the position of t_j itself: every target
reads the distribution one token late, and the last one, at the continuation's last token,
scores t_{T-1} as the token after the continuation (kept, as the reference does).

Pooling weights w_j over S_n (one backward pass with every target injected at its weight,
except max): mean 1/|S_n|; sum 1; surprisal s_j / sum_{i in S_n} s_i with
s_j = -ln p(t_j | prefix, t_<j) under the model at temperature 1 (stage 2's token
log-probabilities): a token the model was certain of (a forced word of the wording) carries
no choice between branches and gets no weight; max takes the largest per-token value.

Span S_n (L_n = the longest token prefix t_0 .. t_{L_n - 1} that continuation n shares with
any sibling of the same prefix):
    full:          S_n = {0, .., T-1}
    lcs_plus_one:  S_n = {max(L_n - 1, 0), .., T-1}  (keeps one token of the shared part,
                   its last one, as a target; under the reference shift that target is read
                   at the first diverging token's position)
    post_lcs:      S_n = {L_n, .., T-1}; a continuation that is all shared (L_n = T, a
                   token prefix of a sibling) keeps its last token.
EOS is not a target (it is not a continuation token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True)
class TargetRow:
    """One backward pass row: continuation `owner`, its targets (position, token, weight)."""

    owner: int
    positions: tuple[int, ...]
    tokens: tuple[int, ...]
    weights: tuple[float, ...]


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading tokens a and b share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def shared_prefix_lengths(continuations: Sequence[Sequence[int]]) -> list[int]:
    """L_n = max over siblings m != n of the common token prefix length (0 when alone).
    Sorting makes it O(N log N): the longest common prefix with any other sequence is
    reached at a lexicographic neighbour."""
    order = sorted(range(len(continuations)), key=lambda i: list(continuations[i]))
    lengths = [0] * len(continuations)
    for left, right in pairwise(order):
        n = common_prefix_length(continuations[left], continuations[right])
        lengths[left] = max(lengths[left], n)
        lengths[right] = max(lengths[right], n)
    return lengths


def span_start(n_tokens: int, shared: int, span: str) -> int:
    """First target index j of S_n (see the module docstring)."""
    if span == "full":
        return 0
    if span == "lcs_plus_one":
        return max(shared - 1, 0)
    if span == "post_lcs":
        return min(shared, n_tokens - 1)
    raise ValueError(f"unknown span {span!r}")


MIN_SURPRISAL = 1e-6  # below this total a span has no choice to weight by: uniform weights


def pooling_weights(pooling: str, surprisal: Sequence[float]) -> list[float]:
    """w_j over a span's targets (`surprisal`: s_j = -ln p(t_j | prefix, t_<j) of each):

        mean: 1 / |S|     sum, max: 1     surprisal: s_j / sum_{i in S} s_i

    (surprisal falls back to 1 / |S| when the span's total surprisal is below 1e-6)."""
    size = len(surprisal)
    if pooling == "surprisal":
        total = float(sum(surprisal))
        if total >= MIN_SURPRISAL:
            return [float(s) / total for s in surprisal]
        return [1.0 / size] * size
    return [1.0 / size if pooling == "mean" else 1.0] * size


def target_rows(
    continuations: Sequence[Sequence[int]],
    n_context: int,
    starts: Sequence[int],
    *,
    pooling: str,
    position_shift: int,
    per_token: bool = False,
    surprisal: Sequence[Sequence[float]] | None = None,
) -> list[TargetRow]:
    """The rows of one prefix. mean/sum/surprisal: one row per continuation holding every
    target of its span with its pooling weight (pooling_weights), i.e. one backward pass;
    max, or `per_token`: one row per target (weight 1 for max, the pooling weight
    otherwise). `surprisal[n][j]` = -ln p(t_j) of continuation n's tokens (stage 2's
    token_logprobs, negated); needed by pooling = "surprisal" only."""
    if pooling == "surprisal" and surprisal is None:
        raise ValueError("pooling 'surprisal' needs each continuation's token surprisals")
    rows = []
    for owner, (tokens, start) in enumerate(zip(continuations, starts, strict=True)):
        js = range(start, len(tokens))
        span_surprisal = (
            [surprisal[owner][j] for j in js] if surprisal is not None else [0.0] * len(js)
        )
        weights = pooling_weights(pooling, span_surprisal)
        targets = [(n_context - 1 + position_shift + j, int(tokens[j])) for j in js]
        if per_token or pooling == "max":
            rows += [
                TargetRow(owner, (p,), (t,), (w,))
                for (p, t), w in zip(targets, weights, strict=True)
            ]
        else:
            positions, ids = zip(*targets, strict=True)
            rows.append(TargetRow(owner, positions, ids, tuple(weights)))
    return rows
