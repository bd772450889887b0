"""Word-level tokenizer of the toy world (tokenizers WordLevel in a PreTrainedTokenizerFast).

Ids: 0 pad, 1 "<|endoftext|>" (BOS and EOS, as Qwen3's stand-in; nonzero because
circuit-tracer drops a BOS of id 0), 2 unk, then the language's words. No BOS is added
on encoding: callers prepend it. Every token decodes as " word", so a continuation decodes
to " tarno ." with its leading space and decode(prefix + continuation) is the
concatenation of the two decodes.
"""

from __future__ import annotations

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
