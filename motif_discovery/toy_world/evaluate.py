"""Measure a toy model against the generator's truth.

- held-out loss: mean token NLL on fresh episodes; on the continuation tokens it is
  compared with the generator's entropy H(continuation | prefix), the floor of any model;
- recall accuracy: after a bare stem, the most probable content word is a recall word of
  the subject's stored meaning, over all stored facts;
- family probabilities per cloze: m_f = sum of the model's P(text | prefix) over every
  text of family f (teacher forced), against the generator's p_f; total variation;
- the sampler's reach: every continuation whose tokens all lie in the top-p nucleus at
  temperature 1, enumerated exactly, counted per cloze and per labelled family;
- interventions: remove the stated fact (copy should vanish), remove the border statement
  (shortcut should vanish), rename the subject to a country sharing none of its meanings
  (recall should vanish), each with controls that should not move.
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
    MEANINGS,
    Border,
    Cloze,
    Prefix,
    Statement,
    World,
    entropy,
    episode_text,
    families,
    meaning_of,
    parse_prefix,
    sample_episode,
)
from motif_discovery.toy_world.labels import STOP, label
from motif_discovery.toy_world.lm import episode_ids
from motif_discovery.toy_world.tokenizer import pad_rows


def _ids(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


@torch.no_grad()
def heldout_loss(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World, n_docs: int, seed: int
) -> dict[str, float]:
    """Token NLL over whole episodes and over continuations, with the generator's entropy."""
    rng = random.Random(f"heldout-{seed}")
    episodes = [sample_episode(rng, world) for _ in range(n_docs)]
    total = answer_nll = floor = 0.0
    n_tokens = 0
    for start in range(0, n_docs, 256):
        chunk = episodes[start : start + 256]
        rows = [episode_ids(tokenizer, episode_text(p, c)) for p, _, c in chunk]
        ids, mask = pad_rows(rows, tokenizer.pad_token_id)
        logp = model(input_ids=ids, attention_mask=mask).logits[:, :-1].log_softmax(-1)
        nll = -logp.gather(2, ids[:, 1:, None])[..., 0] * mask[:, 1:]
        total += float(nll.sum())
        n_tokens += int(mask[:, 1:].sum())
        for row, (prefix, _, _) in enumerate(chunk):
            n_prefix = 1 + len(_ids(tokenizer, prefix.text))
            answer_nll += float(nll[row, n_prefix - 1 : len(rows[row]) - 2].sum())
            floor += entropy(prefix, world)
    return {
        "token_nll": total / n_tokens,
        "answer_nll_per_episode": answer_nll / n_docs,
        "generator_answer_entropy_per_episode": floor / n_docs,
    }


@torch.no_grad()
def next_token_probs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, contexts: list[list[int]]
) -> torch.Tensor:
    """Next-token distribution after each id row (BOS included by the caller), left-padded."""
    ids, mask = pad_rows(contexts, tokenizer.pad_token_id, left=True)
    position_ids = (mask.cumsum(1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits
    return logits[:, -1].softmax(-1)


def recall_accuracy(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World
) -> float:
    """Share of stored facts whose most probable content word after the bare stem (no
    context) is a recall word of the stored meaning."""
    pairs = [(a, x) for a in ATTRIBUTES for x in world.countries]
    contexts = [[tokenizer.bos_token_id, *_ids(tokenizer, Cloze(x, a).text)] for a, x in pairs]
    probs = next_token_probs(model, tokenizer, contexts)
    vocab = tokenizer.get_vocab()
    content = {w: i for w, i in vocab.items() if meaning_of(w) is not None}
    words, columns = list(content), torch.tensor(list(content.values()))
    hits = 0
    for row, (a, x) in enumerate(pairs):
        best = words[int(probs[row, columns].argmax())]
        hits += best in MEANINGS[a][world.facts[a][x]][0]
    return hits / len(pairs)


@torch.no_grad()
def continuation_logprobs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    prefix: str,
    continuations: list[str],
    batch: int = 512,
) -> list[float]:
    """log P(c | BOS + prefix) for each continuation c: sum of its teacher-forced token
    log-probabilities at temperature 1 (EOS not included)."""
    head = [tokenizer.bos_token_id, *_ids(tokenizer, prefix)]
    out = []
    for start in range(0, len(continuations), batch):
        tails = [_ids(tokenizer, c) for c in continuations[start : start + batch]]
        ids, mask = pad_rows([head + t for t in tails], tokenizer.pad_token_id)
        logp = model(input_ids=ids, attention_mask=mask).logits[:, :-1].log_softmax(-1)
        token_logp = logp.gather(2, ids[:, 1:, None])[..., 0]
        for row, tail in enumerate(tails):
            out.append(float(token_logp[row, len(head) - 1 : len(head) - 1 + len(tail)].sum()))
    return out


def family_masses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    world: World,
    prefix: Prefix,
    text_prefix: Prefix | None = None,
) -> dict[str, float]:
    """m_f = sum over the texts of each planted family f of `prefix` of the model's
    P(text | text_prefix) (text_prefix defaults to prefix; an edited prefix keeps the
    original families' texts)."""
    fams = families(prefix, world)
    texts = [(f.name, t) for f in fams for t in f.continuations()]
    context = (text_prefix or prefix).text
    logps = continuation_logprobs(model, tokenizer, context, [t for _, t in texts])
    masses = dict.fromkeys((f.name for f in fams), 0.0)
    for (name, _), lp in zip(texts, logps, strict=True):
        masses[name] += math.exp(lp)
    return masses


def total_variation(generator: dict[str, float], model: dict[str, float]) -> float:
    """TV = 1/2 sum_f |p_f - m_f| + 1/2 (1 - sum_f m_f): the model's mass outside every
    planted text counts as a family of its own."""
    outside = 1.0 - sum(model.values())
    return 0.5 * sum(abs(generator[f] - model[f]) for f in generator) + 0.5 * outside


@torch.no_grad()
def sampler_reach(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    prefix: str,
    top_p: float = 0.9,
    max_new_tokens: int = 20,
    batch: int = 512,
) -> dict[str, float]:
    """Every continuation a temperature-1 top-p sampler can draw after BOS + prefix, with
    its full-distribution probability: a token is reachable when it is in the nucleus (the
    most probable tokens whose cumulative probability first reaches top_p); a text ends
    at its first stop mark or EOS (EOS not part of the text), or after max_new_tokens."""
    head = [tokenizer.bos_token_id, *_ids(tokenizer, prefix)]
    stops = {tokenizer.convert_tokens_to_ids(s) for s in STOP if s in tokenizer.get_vocab()}
    eos = tokenizer.eos_token_id
    frontier: list[tuple[list[int], float]] = [([], 0.0)]
    done: dict[str, float] = {}
    for _ in range(max_new_tokens):
        grown: list[tuple[list[int], float]] = []
        for start in range(0, len(frontier), batch):
            chunk = frontier[start : start + batch]
            probs = next_token_probs(model, tokenizer, [head + t for t, _ in chunk])
            ordered, order = probs.sort(-1, descending=True)
            keep = (ordered.cumsum(-1) - ordered) < top_p  # mass before the token < top_p
            for row, (tail, logp) in enumerate(chunk):
                for token, p in zip(
                    order[row][keep[row]].tolist(), ordered[row][keep[row]].tolist(), strict=True
                ):
                    new_logp = logp + math.log(p)
                    if token == eos:
                        done[tokenizer.decode(tail)] = math.exp(new_logp)
                    elif token in stops:
                        done[tokenizer.decode([*tail, token])] = math.exp(new_logp)
                    else:
                        grown.append(([*tail, token], new_logp))
        frontier = grown
        if not frontier:
            break
    for tail, logp in frontier:
        done[tokenizer.decode(tail)] = math.exp(logp)
    return done


@torch.no_grad()
def sample_continuations(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    prefix: str,
    n: int,
    seed: int,
    top_p: float = 0.9,
    max_new_tokens: int = 20,
) -> list[str]:
    """`n` continuations drawn by model.generate at temperature 1 and `top_p`, each cut
    after its first stop mark (EOS ends a text and is not part of it)."""
    torch.manual_seed(seed)
    ids = torch.tensor([[tokenizer.bos_token_id, *_ids(tokenizer, prefix)]])
    stops = [tokenizer.convert_tokens_to_ids(s) for s in STOP if s in tokenizer.get_vocab()]
    out = model.generate(
        ids.expand(n, -1),
        attention_mask=torch.ones(n, ids.shape[1], dtype=torch.long),
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=top_p,
        max_new_tokens=max_new_tokens,
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


def cloze_figures(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World, prefix: Prefix
) -> dict[str, Any]:
    """Generator vs model family probabilities, TV, and the sampler's reach for one cloze."""
    generator = {f.name: f.prob for f in families(prefix, world)}
    masses = family_masses(model, tokenizer, world, prefix)
    reach = sampler_reach(model, tokenizer, prefix.text)
    per_family = Counter(label(prefix.text, text, world).family for text in reach)
    return {
        "text": prefix.text,
        "generator": generator,
        "model": masses,
        "tv": total_variation(generator, masses),
        "reach_texts": len(reach),
        "reach_texts_per_family": dict(per_family),
        "reach_mass_other": sum(
            p for t, p in reach.items() if label(prefix.text, t, world).family == "other"
        ),
    }


def _without(prefix: Prefix, kind: type) -> Prefix:
    return replace(
        prefix, statements=tuple(s for s in prefix.statements if not isinstance(s, kind))
    )


def _renamed(prefix: Prefix, new: str) -> Prefix:
    """`prefix` with its subject replaced by `new` in every statement and the stem."""
    old = prefix.cloze.subject

    def swap(c: str) -> str:
        return new if c == old else c

    statements = tuple(
        Border(swap(s.country), swap(s.other))
        if isinstance(s, Border)
        else replace(s, country=swap(s.country))
        for s in prefix.statements
    )
    return Prefix(replace(prefix.cloze, subject=new), statements)


def stand_in(world: World, prefix: Prefix, index: int) -> str | None:
    """A country absent from `prefix` that shares no stored meaning with its subject or
    with its border partner (so no family's texts become right for it); None if none."""
    present = {prefix.cloze.subject}
    for s in prefix.statements:
        present |= {s.country, s.other} if isinstance(s, Border) else {s.country}
    excluded = [prefix.cloze.subject, *filter(None, [prefix.border_other()])]
    options = [
        c
        for c in world.countries
        if c not in present
        and all(world.facts[a][c] != world.facts[a][e] for a in ATTRIBUTES for e in excluded)
    ]
    return options[index % len(options)] if options else None


# name: (edit, {mechanism: expected effect}) -- "kill" rows are the test, "keep" the controls
INTERVENTIONS = {
    "remove stated fact": ("statement", {"copy": "kill", "recall": "keep", "shortcut": "keep"}),
    "remove border": ("border", {"shortcut": "kill", "recall": "keep", "copy": "keep"}),
    "rename subject": ("rename", {"recall": "kill", "copy": "keep", "shortcut": "keep"}),
}


def interventions(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, world: World, prefixes: list[Prefix]
) -> list[dict[str, Any]]:
    """Mean model mass m_f of each mechanism's family before and after each edit of the
    prefix (the family's original texts scored under the edited prefix)."""
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i, prefix in enumerate(prefixes):
        before = family_masses(model, tokenizer, world, prefix)
        new_subject = stand_in(world, prefix, i)
        edits = {
            "statement": _without(prefix, Statement) if prefix.stated() else None,
            "border": _without(prefix, Border) if prefix.border_other() else None,
            "rename": _renamed(prefix, new_subject) if new_subject else None,
        }
        for name, (edit, effects) in INTERVENTIONS.items():
            edited = edits[edit]
            if edited is None:
                continue
            after = family_masses(model, tokenizer, world, prefix, text_prefix=edited)
            for family, mass in before.items():
                mechanism = family.split("_")[0]
                if mechanism in effects:
                    rows.setdefault((name, mechanism), []).append((mass, after[family]))
    return [
        {
            "intervention": name,
            "family": mechanism,
            "expected": INTERVENTIONS[name][1][mechanism],
            "n": len(pairs),
            "before": sum(b for b, _ in pairs) / len(pairs),
            "after": sum(a for _, a in pairs) / len(pairs),
        }
        for (name, mechanism), pairs in rows.items()
    ]


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    world: World,
    clozes: list[dict[str, Any]],
    seed: int = 0,
) -> dict[str, Any]:
    """All figures of the module docstring for the given cloze rows (clozes.jsonl)."""
    prefixes = [parse_prefix(row["text"]) for row in clozes]
    per_cloze = {
        row["id"]: cloze_figures(model, tokenizer, world, p)
        for row, p in zip(clozes, prefixes, strict=True)
    }
    return {
        "heldout": heldout_loss(model, tokenizer, world, n_docs=2000, seed=seed + 1),
        "recall_accuracy": recall_accuracy(model, tokenizer, world),
        "per_cloze": per_cloze,
        "interventions": interventions(model, tokenizer, world, prefixes),
    }
