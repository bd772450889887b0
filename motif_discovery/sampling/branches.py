"""Sample one prefix's branches until no new text comes, then keep the N best by P_n
(docs/method.md, "Stage 2").

Loop: call c (c = 0, 1, ...) draws sampling.batch_size samples with seed
call_seed(run.seed, prefix id, c) and first tokens from first_tokens.call_plan; each is cut
by the stop rule. Texts are deduplicated (the first draw of a text is kept, later ones
count in its multiplicity); a text that is empty after strip() is dropped and counted.
The loop stops after sampling.patience consecutive calls without a new distinct text, or
after sampling.max_calls calls. Every distinct text is scored (scoring.score); the N with
the largest P_n are kept (ties by text), with ids <prefix_id>.<i:04d> in that order.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm
from transformers import PreTrainedModel

from motif_discovery.sampling.backend import Sampler, call_seed
from motif_discovery.sampling.first_tokens import FirstToken, call_plan
from motif_discovery.sampling.scoring import Scored, score
from motif_discovery.sampling.stop import Draw, StopRule
from motif_discovery.utils.config import SamplingConfig

log = logging.getLogger(__name__)


@dataclass
class Collected:
    """What the sampling loop found for one prefix."""

    draws: dict[str, Draw] = field(default_factory=dict)  # text -> its first draw
    multiplicity: Counter = field(default_factory=Counter)
    samples: int = 0
    empty: int = 0
    eos: int = 0
    truncated: int = 0  # ended by max_new_tokens (no stop character, no EOS)
    calls: int = 0
    stopped: str = "max_calls"


def collect(
    sampler: Sampler,
    rule: StopRule,
    context: Sequence[int],
    first: Sequence[FirstToken],
    settings: SamplingConfig,
    seed: int,
    prefix_id: str,
) -> Collected:
    """Run the sampling loop of one prefix."""
    found = Collected()
    stale = 0
    bar = tqdm(total=settings.max_calls, desc=f"stage 2 {prefix_id}", unit="call", leave=False)
    with bar:
        for call in range(settings.max_calls):
            plan = call_plan(call, settings.batch_size, first)
            rows = sampler.draw(context, plan, call_seed(seed, prefix_id, call))
            new = 0
            for row in rows:
                draw = rule.cut(row)
                text = rule.text(context, draw.token_ids)
                found.samples += 1
                found.eos += draw.eos_id is not None
                ends = draw.token_ids and rule.is_stop(draw.token_ids[-1])
                found.truncated += draw.eos_id is None and not ends
                if not text.strip():
                    found.empty += 1
                    continue
                if text not in found.draws:
                    found.draws[text] = draw
                    new += 1
                found.multiplicity[text] += 1
            found.calls = call + 1
            stale = 0 if new else stale + 1
            bar.update()
            bar.set_postfix(distinct=len(found.draws))
            if stale >= settings.patience:
                found.stopped = "patience"
                break
    return found


def select(found: Collected, scored: Sequence[Scored], n: int) -> list[tuple[str, Draw, Scored]]:
    """The n texts with the largest P_n (ties by text), in that order."""
    rows = list(zip(found.draws, found.draws.values(), scored, strict=True))
    rows.sort(key=lambda row: (-row[2].p_n, row[0]))
    return rows[:n]


def records(
    prefix_id: str,
    kept: Sequence[tuple[str, Draw, Scored]],
    found: Collected,
    backend: str,
    seed: int,
) -> list[dict[str, Any]]:
    """One record per kept continuation (the stage-2 JSONL row format)."""
    total = sum(s.p_n for _, _, s in kept)
    return [
        {
            "continuation_id": f"{prefix_id}.{i:04d}",
            "prefix_id": prefix_id,
            "text": text,
            "token_ids": list(draw.token_ids),
            "token_logprobs": scored.token_logprobs,
            "eos": draw.eos_id is not None,
            "eos_logprob": scored.eos_logprob,
            "p_n": scored.p_n,
            "p_norm": scored.p_n / total,
            "multiplicity": found.multiplicity[text],
            "backend": backend,
            "seed": seed,
        }
        for i, (text, draw, scored) in enumerate(kept)
    ]


def summary(
    prefix_id: str,
    found: Collected,
    kept: Sequence[tuple[str, Draw, Scored]],
    first: Sequence[FirstToken],
    first_texts: Sequence[str],
    settings: SamplingConfig,
    backend: str,
    seed: int,
    context: Sequence[int],
) -> dict[str, Any]:
    """Counts of one prefix's sampling: calls, samples, distinct texts, why it stopped."""
    firsts_kept = Counter(draw.token_ids[0] for _, draw, _ in kept)
    return {
        "prefix_id": prefix_id,
        "backend": backend,
        "seed": seed,
        "prefix_token_ids": [int(t) for t in context],
        "calls": found.calls,
        "stopped": found.stopped,
        "samples": found.samples,
        "distinct": len(found.draws),
        "empty_dropped": found.empty,
        "ended_by_eos": found.eos,
        "truncated": found.truncated,
        "n": settings.n,
        "kept": len(kept),
        "short": len(kept) < settings.n,
        "first_tokens": [
            {"token_id": f.token_id, "text": text, "prob": f.prob, "kept": firsts_kept[f.token_id]}
            for f, text in zip(first, first_texts, strict=True)
        ],
    }


def sample_prefix(
    model: PreTrainedModel,
    sampler: Sampler,
    rule: StopRule,
    context: Sequence[int],
    first: Sequence[FirstToken],
    settings: SamplingConfig,
    seed: int,
    prefix_id: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Sample, score and select one prefix's continuations: (records, summary)."""
    found = collect(sampler, rule, context, first, settings, seed, prefix_id)
    scored = score(model, context, list(found.draws.values()), settings.batch_size)
    kept = select(found, scored, settings.n)
    if len(kept) < settings.n:
        log.warning(
            "%s: %d distinct continuations, fewer than sampling.n = %d (kept all; short)",
            prefix_id,
            len(kept),
            settings.n,
        )
    first_texts = [rule.text(context, [f.token_id]) for f in first]
    rows = records(prefix_id, kept, found, sampler.name, seed)
    info = summary(
        prefix_id, found, kept, first, first_texts, settings, sampler.name, seed, context
    )
    return rows, info
