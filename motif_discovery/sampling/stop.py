"""The stop rule and the text of a continuation (docs/method.md, "Stage 2", stop rule).

A continuation ends with the first token whose text contains a stop character (that token is
its last), or at an EOS token (not part of it), or after max_new_tokens tokens. Its text is
what the tokens decode to after the prefix's context, exactly as generated (leading space
included).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Draw:
    """One sampled continuation: its tokens (stop token included) and the EOS id that ended
    it (None when a stop character or max_new_tokens ended it)."""

    token_ids: tuple[int, ...]
    eos_id: int | None


class StopRule:
    """Cuts generated token ids at the first stop character or EOS; per-token checks are
    cached, so only the tokens actually generated are ever decoded."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, stop: Sequence[str], eos_ids: Iterable[int]
    ):
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.eos_ids = frozenset(eos_ids)
        self._stops: dict[int, bool] = {}

    def is_stop(self, token: int) -> bool:
        """The token's text contains a stop character."""
        if token not in self._stops:
            text = self.tokenizer.decode([token], clean_up_tokenization_spaces=False)
            self._stops[token] = token not in self.eos_ids and any(c in text for c in self.stop)
        return self._stops[token]

    def cut(self, generated: Sequence[int]) -> Draw:
        """The continuation in `generated`: up to and including the first stop token, or up
        to (excluding) the first EOS."""
        kept: list[int] = []
        for token in generated:
            if token in self.eos_ids:
                return Draw(tuple(kept), int(token))
            kept.append(int(token))
            if self.is_stop(token):
                break
        return Draw(tuple(kept), None)

    def text(self, context: Sequence[int], token_ids: Sequence[int]) -> str:
        """decode(context + tokens) minus decode(context) (keeps the leading space that some
        tokenizers drop when a sequence starts with the continuation); decode(tokens) when
        the first is not an extension of the second."""
        decode = self.tokenizer.decode
        head = decode(list(context), clean_up_tokenization_spaces=False)
        whole = decode([*context, *token_ids], clean_up_tokenization_spaces=False)
        if whole.startswith(head):
            return whole[len(head) :]
        return decode(list(token_ids), clean_up_tokenization_spaces=False)
