"""Rewriting clozes with a local causal LM so each ends right before its answer
(0_preprocess/llm_improve_clozes.py).

For each row with an answer ('answers' or 'answer'; the first alias is shown), the prompt is
the template with {text} and {answer} filled in, as the model sees it under the prompt
format (model/context.prefix_ids: `chat` through the chat template, `raw` as is, after the
BOS). The rewrite is one draw of the project's sampler (sampling/backend.py: hf or vllm,
the same Sampler protocol), seeded by sampling/backend.call_seed(run.seed, prefix id, 0),
which runs to EOS or max_new_tokens (sampling/stop.StopRule with no stop characters,
whatever sampling.stop says, so a chat model's leading newline does not end it). The
rewrite is the first non-blank line of what it wrote, whitespace-collapsed and stripped of
enclosing quotes; it is finished when a newline or EOS follows it. The defaults make the
draw greedy: top_p = 1e-6 keeps only the most likely token at every step.

A rewrite is accepted unless (first reason that applies) it is `empty`, `unfinished` (no
newline or EOS follows it within max_new_tokens), `states_answer` (it contains one of the
row's answers as whole words, case-folded), `too_long` (more than max_words words) or
`ends_sentence` (it ends with . ! or ?, so nothing is left for the answer). A row without
an answer (`no_answer`) or whose prompt does not fit the model's context with
max_new_tokens more tokens (`prompt_too_long`) is not sent to the model. A rejected row is
kept as it was and listed in the report with its line number, the reason and what the
model wrote: rows are never dropped.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from motif_discovery.data.cloze_text import answers, collapse_whitespace, stated_answer
from motif_discovery.data.clozes import Cloze
from motif_discovery.data.preprocess import out_row
from motif_discovery.model.context import max_context, prefix_ids
from motif_discovery.model.loading import load_model_config, load_tokenizer
from motif_discovery.sampling.backend import backend_name, call_seed
from motif_discovery.sampling.stage import Models
from motif_discovery.utils.config import Config
from motif_discovery.utils.errors import InputError

CHAT_TEMPLATE = (
    "Rewrite the sentence below so that it stops right before its answer: the answer must be "
    "the words that naturally come next, and the rewrite must not contain it.\n"
    "Sentence: {text}\nAnswer: {answer}\n"
    "Reply with the rewritten sentence only, on one line."
)
RAW_TEMPLATE = (
    "Sentence: The Eiffel Tower, in Paris, was finished in 1889.\nAnswer: Paris\n"
    "Cut before the answer: The Eiffel Tower stands in the city of\n\n"
    "Sentence: {text}\nAnswer: {answer}\nCut before the answer:"
)
TEMPLATES = {"chat": CHAT_TEMPLATE, "raw": RAW_TEMPLATE}
FIELDS = ("{text}", "{answer}")
QUOTES = re.compile(r'^(["\'“‘])(.*)(["\'”’])$')
SENTENCE_END = (".", "!", "?")


@dataclass(frozen=True)
class Rewriting:
    """The prompt template (with {text} and {answer}) and the word limit of a rewrite."""

    template: str
    max_words: int

    def __post_init__(self) -> None:
        missing = [f for f in FIELDS if f not in self.template]
        if missing:
            raise InputError(f"prompt template: missing the placeholder(s) {missing}")
        if self.max_words < 1:
            raise InputError(f"max_words: must be >= 1, got {self.max_words}")

    def prompt(self, text: str, answer: str) -> str:
        """The template with {text} and {answer} filled in (no other braces are read)."""
        return self.template.replace("{text}", text).replace("{answer}", answer)


def clean(generated: str) -> str:
    """Whitespace-collapsed, without one pair of enclosing quotes."""
    text = collapse_whitespace(generated)
    match = QUOTES.match(text)
    return match.group(2).strip() if match else text


def rejection(
    rewrite: str, finished: bool, aliases: list[str], max_words: int
) -> tuple[str, str] | None:
    """(reason, detail) of the first check a cleaned rewrite fails, else None."""
    if not rewrite:
        return "empty", "the model wrote nothing usable"
    if not finished:
        return "unfinished", "no newline or EOS within max_new_tokens"
    stated = stated_answer(rewrite, aliases)
    if stated is not None:
        return "states_answer", f"the rewrite contains the answer {stated!r}"
    if len(rewrite.split()) > max_words:
        return "too_long", f"{len(rewrite.split())} words > max_words {max_words}"
    if rewrite.endswith(SENTENCE_END):
        return "ends_sentence", f"ends with {rewrite[-1]!r}: nothing is left for the answer"
    return None


def first_line(generated: str, eos: bool) -> tuple[str, bool]:
    """(the first non-blank line of `generated`, whether a newline or EOS ends it)."""
    lines = generated.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            return line, eos or i < len(lines) - 1
    return "", eos


def generate(
    models: Models, config: Config, prefix_id: str, context: list[int]
) -> tuple[str, bool]:
    """(what the model wrote, whether EOS ended it) after `context`: one seeded draw."""
    _, sampler, rule = models.get()
    seed = call_seed(config.run.seed, prefix_id, 0)
    draw = rule.cut(sampler.draw(context, [None], seed)[0])
    return rule.text(context, draw.token_ids), draw.eos_id is not None


def rewrite_clozes(
    clozes: list[Cloze], path: str | Path, config: Config, rewriting: Rewriting
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(every row, rewritten or as it was; report) of the clozes read from `path`; the
    config's sampling.stop is ignored (generation runs to EOS or max_new_tokens)."""
    aliases = [answers(c.extra, f"{path}:{c.line}") for c in clozes]  # all checked first
    config = replace(config, sampling=replace(config.sampling, stop=[]))
    backend = backend_name(config.sampling.backend)
    fmt = config.data.prompt_format
    tokenizer = load_tokenizer(config.model)
    limit = max_context(load_model_config(config.model), config.model)
    n_new = config.sampling.max_new_tokens
    models = Models(config, tokenizer, limit, backend)
    rows, rewritten, rejected = [], [], []
    pairs = list(zip(clozes, aliases, strict=True))
    for cloze, alias in tqdm(pairs, desc="rewriting", file=sys.stderr):
        where = {"line": cloze.line, "id": out_row(cloze, cloze.text)["id"]}
        generated = None
        if not alias:
            reason = ("no_answer", "the row has no 'answer' or 'answers'")
        else:
            prompt = rewriting.prompt(cloze.text, alias[0])
            context = prefix_ids(tokenizer, prompt, config.model, fmt)
            if len(context) + n_new > limit:
                n = len(context)
                reason = ("prompt_too_long", f"{n} prompt + {n_new} new tokens > {limit}")
            else:
                generated, eos = generate(models, config, cloze.prefix_id, context)
                rewrite, finished = first_line(generated, eos)
                reason = rejection(clean(rewrite), finished, alias, rewriting.max_words)
        if reason is None:
            after = clean(rewrite)
            rows.append(out_row(cloze, after))
            rewritten.append({**where, "before": cloze.text, "after": after})
            continue
        rows.append(out_row(cloze, cloze.text))
        entry = {**where, "reason": reason[0], "detail": reason[1], "text": cloze.text}
        rejected.append({**entry, "generated": generated})
    reasons = sorted({r["reason"] for r in rejected})
    report = {
        "input": str(path),
        "model": config.model.name,
        "backend": backend,
        "prompt_format": fmt,
        "template": rewriting.template,
        "max_words": rewriting.max_words,
        "seed": config.run.seed,
        "sampling": {
            "temperature": config.sampling.temperature,
            "top_p": config.sampling.top_p,
            "max_new_tokens": n_new,
        },
        "n_read": len(clozes),
        "n_rewritten": len(rewritten),
        "n_unchanged": sum(r["before"] == r["after"] for r in rewritten),
        "n_rejected": len(rejected),
        "rejected_by_reason": {r: sum(x["reason"] == r for x in rejected) for r in reasons},
        "rewritten": rewritten,
        "rejected": rejected,
    }
    return rows, report
