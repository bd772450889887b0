"""Measure a toy model against the generator's truth.

- held-out loss: mean token NLL on fresh episodes; on the answer tokens it is compared
  with the generator's own entropy H(family | prefix), the floor any model can reach;
- recall accuracy: argmax next word after "the A of X is" == A(X), over all stored facts;
- family probabilities per cloze: exact (teacher-forced product of token probabilities of
  each planted continuation) and sampled (model.generate at temperature 1, labelled), and
  the total variation between the generator's and the model's exact distribution;
- interventions: remove the nickname statement (copy should vanish), remove the border
  statement (shortcut should vanish), rename the subject to a country absent from the
  prefix (recall of the old fact should vanish; copy, a control, should stay).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from motif_discovery.toy_world.grammar import (
    ATTRIBUTES,
    Border,
    Cloze,
    Nickname,
    Prefix,
    World,
    episode_text,
    families,
    parse_prefix,
    sample_episode,
)
from motif_discovery.toy_world.labels import STOP, label


def _ids(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


@torch.no_grad()
def heldout_loss(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World, n_docs: int, seed: int
) -> dict[str, float]:
    """Token NLL over whole episodes and over answers, with the generator's answer entropy."""
    rng = random.Random(f"heldout-{seed}")
    bos = tokenizer.bos_token_id
    total = answer_nll = entropy = 0.0
    n_tokens = n_answer = 0
    for _ in range(n_docs):
        prefix, family = sample_episode(rng, world)
        n_prefix = 1 + len(_ids(tokenizer, prefix.text))
        ids = torch.tensor([[bos, *_ids(tokenizer, episode_text(prefix, family)), bos]])
        logp = model(input_ids=ids).logits[0, :-1].log_softmax(-1)
        nll = -logp.gather(1, ids[0, 1:, None])[:, 0]
        total += nll.sum().item()
        n_tokens += nll.numel()
        answer = nll[n_prefix - 1 : -1]  # continuation tokens, EOS excluded
        answer_nll += answer.sum().item()
        n_answer += answer.numel()
        entropy -= sum(f.prob * math.log(f.prob) for f in families(prefix, world))
    return {
        "token_nll": total / n_tokens,
        "answer_nll_per_episode": answer_nll / n_docs,
        "generator_answer_entropy_per_episode": entropy / n_docs,
        "answer_tokens": n_answer,
    }


@torch.no_grad()
def next_word_probs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, prefixes: list[str]
) -> torch.Tensor:
    """Next-token distribution after BOS + prefix, one row per prefix (left-padded batch)."""
    rows = [[tokenizer.bos_token_id, *_ids(tokenizer, p)] for p in prefixes]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    position_ids = (mask.cumsum(1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits
    return logits[:, -1].softmax(-1)


def recall_accuracy(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World
) -> float:
    """Share of stored facts A(X) that are the argmax after "the A of X is" (no context)."""
    pairs = [(a, x) for a in ATTRIBUTES for x in world.countries]
    probs = next_word_probs(model, tokenizer, [Cloze(x, a).text for a, x in pairs])
    answers = tokenizer.convert_ids_to_tokens(probs.argmax(-1).tolist())
    return sum(ans == world.facts[a][x] for ans, (a, x) in zip(answers, pairs, strict=True)) / len(
        pairs
    )


@torch.no_grad()
def continuation_prob(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, prefix: str, continuation: str
) -> float:
    """P(continuation | BOS + prefix): the product of its token probabilities, teacher forced."""
    head = [tokenizer.bos_token_id, *_ids(tokenizer, prefix)]
    tail = _ids(tokenizer, continuation)
    ids = torch.tensor([head + tail])
    logp = model(input_ids=ids).logits[0, len(head) - 1 : -1].log_softmax(-1)
    return math.exp(logp.gather(1, torch.tensor(tail)[:, None]).sum().item())


@torch.no_grad()
def sample_continuations(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, prefix: str, n: int, seed: int
) -> list[str]:
    """`n` continuations at temperature 1 (full distribution), cut after the first stop word."""
    torch.manual_seed(seed)
    ids = torch.tensor([[tokenizer.bos_token_id, *_ids(tokenizer, prefix)]])
    stops = [tokenizer.convert_tokens_to_ids(s) for s in STOP if s in tokenizer.get_vocab()]
    out = model.generate(
        ids.expand(n, -1),
        attention_mask=torch.ones(n, ids.shape[1], dtype=torch.long),
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        max_new_tokens=10,
        eos_token_id=[tokenizer.eos_token_id, *stops],
        pad_token_id=tokenizer.pad_token_id,
    )
    texts = []
    for row in out[:, ids.shape[1] :].tolist():
        words = []
        for t in row:
            if t in (tokenizer.eos_token_id, tokenizer.pad_token_id):
                break
            words.append(t)
            if t in stops:
                break
        texts.append(tokenizer.decode(words))
    return texts


def family_table(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    world: World,
    prefix: Prefix,
    n_samples: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    """Per planted family: generator prob, model's exact prob, model's sampled frequency."""
    counts = Counter(
        label(prefix.text, c, world).family
        for c in sample_continuations(model, tokenizer, prefix.text, n_samples, seed)
    )
    table = {
        f.name: {
            "generator": f.prob,
            "model_exact": continuation_prob(model, tokenizer, prefix.text, f.continuation),
            "model_sampled": counts.pop(f.name, 0) / n_samples,
        }
        for f in families(prefix, world)
    }
    table["other"] = {"generator": 0.0, "model_sampled": sum(counts.values()) / n_samples}
    return table


def total_variation(table: dict[str, dict[str, float]]) -> float:
    """TV(generator, model exact) = 1/2 sum_f |g_f - m_f| + 1/2 (1 - sum_f m_f) (mass outside)."""
    rows = [v for name, v in table.items() if name != "other"]
    outside = 1.0 - sum(v["model_exact"] for v in rows)
    return 0.5 * sum(abs(v["generator"] - v["model_exact"]) for v in rows) + 0.5 * outside


def _without(prefix: Prefix, kind: type) -> Prefix:
    return replace(
        prefix, statements=tuple(s for s in prefix.statements if not isinstance(s, kind))
    )


def _renamed(prefix: Prefix, old: str, new: str) -> Prefix:
    """`prefix` with country `old` replaced by `new` in every statement and the stem."""

    def swap(c: str) -> str:
        return new if c == old else c

    statements = tuple(
        Border(swap(s.country), swap(s.other))
        if isinstance(s, Border)
        else replace(s, country=swap(s.country))
        for s in prefix.statements
    )
    return Prefix(replace(prefix.cloze, subject=swap(prefix.cloze.subject)), statements)


INTERVENTIONS = {
    "copy": ("copy", "remove nickname statement"),
    "shortcut": ("shortcut", "remove border statement"),
    "recall": ("recall", "rename subject to a country absent from the prefix"),
    "copy_under_rename": ("copy", "rename subject (control: copy should stay)"),
}


def interventions(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World, prefixes: list[Prefix]
) -> dict[str, dict[str, float | int | str]]:
    """Mean exact probability of a family's planted continuation before and after an edit.

    The edited prefix keeps the original continuation text: e.g. after renaming the
    subject X to X', the recall row measures P(" A(X) .") under the renamed prefix.
    """
    pairs: dict[str, list[tuple[float, float]]] = {name: [] for name in INTERVENTIONS}
    for i, prefix in enumerate(prefixes):
        present = {p.country for p in prefix.statements if isinstance(p, Nickname)}
        present |= {
            c for s in prefix.statements if isinstance(s, Border) for c in (s.country, s.other)
        }
        absent = [c for c in world.countries if c not in present | {prefix.cloze.subject}]
        edits = {
            "copy": _without(prefix, Nickname),
            "shortcut": _without(prefix, Border),
            "recall": _renamed(prefix, prefix.cloze.subject, absent[i % len(absent)]),
        }
        edits["copy_under_rename"] = edits["recall"]
        for f in families(prefix, world):
            before = None
            for name, (mechanism, _) in INTERVENTIONS.items():
                if f.name.split("_")[0] != mechanism:
                    continue
                if before is None:
                    before = continuation_prob(model, tokenizer, prefix.text, f.continuation)
                after = continuation_prob(model, tokenizer, edits[name].text, f.continuation)
                pairs[name].append((before, after))
    return {
        name: {
            "intervention": INTERVENTIONS[name][1],
            "n": len(rows),
            "before": sum(b for b, _ in rows) / len(rows),
            "after": sum(a for _, a in rows) / len(rows),
        }
        for name, rows in pairs.items()
        if rows
    }


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    world: World,
    clozes: list[dict[str, Any]],
    n_samples: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """All figures of the module docstring for the given cloze rows (clozes.jsonl)."""
    prefixes = [parse_prefix(row["text"]) for row in clozes]
    tables = [
        family_table(model, tokenizer, world, p, n_samples, seed + i)
        for i, p in enumerate(prefixes)
    ]
    tv = [total_variation(t) for t in tables]
    per_prefix = {
        row["id"]: {"text": row["text"], "tv_exact": d, **t}
        for row, t, d in zip(clozes, tables, tv, strict=True)
    }
    return {
        "heldout": heldout_loss(model, tokenizer, world, n_docs=1000, seed=seed + 1),
        "recall_accuracy": recall_accuracy(model, tokenizer, world),
        "mean_tv_exact": sum(tv) / len(tv),
        "max_tv_exact": max(tv),
        "per_prefix": per_prefix,
        "interventions": interventions(model, tokenizer, world, prefixes),
    }
