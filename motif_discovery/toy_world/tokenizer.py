"""Word-level tokenizer of the toy world (tokenizers WordLevel in a PreTrainedTokenizerFast).

Ids: 0 pad, 1 "<|endoftext|>" (BOS and EOS, as Qwen3's stand-in; nonzero because
circuit-tracer drops a BOS of id 0), 2 unk, then the language's words. No BOS is added
on encoding: callers prepend it. Every token decodes as " word", so a continuation decodes
to " mostly fish , of course ." with its leading space and decode(prefix + continuation) is the
concatenation of the two decodes.
"""

from __future__ import annotations

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from motif_discovery.toy_world.grammar import vocabulary

PAD, BOS, UNK = "<pad>", "<|endoftext|>", "<unk>"
SPECIALS = (PAD, BOS, UNK)


def build_tokenizer() -> PreTrainedTokenizerFast:
    """The toy world's tokenizer over grammar.vocabulary()."""
    vocab = {token: i for i, token in enumerate([*SPECIALS, *vocabulary()])}
    core = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.Sequence([decoders.Replace(Regex("^"), " "), decoders.Fuse()])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=BOS,
        unk_token=UNK,
        clean_up_tokenization_spaces=False,
        model_max_length=64,
    )


def pad_rows(
    rows: list[list[int]], pad_id: int, left: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) of token-id rows padded with `pad_id` to the longest row,
    on the right (training, teacher forcing) or on the left (next-token reads at the end)."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask
