"""The one token context of a prefix, shared by sampling (2), attribution (3), steering (7).

    context(prefix) = [BOS] + tokens(prompt(prefix))

prompt(prefix) is the cloze text as it is (`raw`) or the model's chat template with the
generation prompt and thinking turned off (`chat`). BOS is the tokenizer's own, or the
configured stand-in (`model.bos_stand_in`, Qwen3: `<|endoftext|>`) when it has none; it is
not repeated when the prompt already starts with it. Continuation tokens are appended as
sampled, never re-tokenized.
"""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedTokenizerBase

from motif_discovery.utils.config import ModelConfig
from motif_discovery.utils.errors import InputError


def prompt_text(tokenizer: PreTrainedTokenizerBase, text: str, prompt_format: str) -> str:
    """The text the model sees for a prefix: `raw` as is, `chat` through the chat template."""
    if prompt_format == "raw":
        return text
    if not getattr(tokenizer, "chat_template", None):
        raise InputError("data.prompt_format: 'chat', but the tokenizer has no chat template")
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": text}],
        tokenize=False,
        add_generation_prompt=True,
        enable_thinking=False,
    )


def bos_id(tokenizer: PreTrainedTokenizerBase, config: ModelConfig) -> int:
    """The tokenizer's BOS id, else the id of `model.bos_stand_in`."""
    if tokenizer.bos_token_id is not None:
        return int(tokenizer.bos_token_id)
    if config.bos_stand_in is None:
        raise InputError(
            f"model.bos_stand_in: the tokenizer of {config.name!r} defines no BOS token; "
            "name a stand-in (Qwen3: '<|endoftext|>')"
        )
    ids = tokenizer.convert_tokens_to_ids([config.bos_stand_in])
    if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
        raise InputError(
            f"model.bos_stand_in: {config.bos_stand_in!r} is not a token of {config.name!r}"
        )
    return int(ids[0])


def prefix_ids(
    tokenizer: PreTrainedTokenizerBase, text: str, config: ModelConfig, prompt_format: str
) -> list[int]:
    """[BOS] + tokens(prompt(text)); an empty prefix is an error."""
    if not text.strip():
        raise InputError("prefix is empty (only whitespace)")
    ids = tokenizer(prompt_text(tokenizer, text, prompt_format), add_special_tokens=False)
    ids = list(ids.input_ids)
    bos = bos_id(tokenizer, config)
    return ids if ids and ids[0] == bos else [bos, *ids]


def max_context(model_config, config: ModelConfig) -> int:
    """The longest sequence allowed: `model.max_context`, else the model's
    max_position_embeddings (`model_config` is the transformers config; a multimodal one,
    e.g. Gemma 3's, states it in its language model's config, get_text_config())."""
    limit = getattr(model_config.get_text_config(), "max_position_embeddings", None)
    if config.max_context is not None:
        return config.max_context if limit is None else min(config.max_context, limit)
    if limit is None:
        raise InputError("model.max_context: the model states no max_position_embeddings; set it")
    return int(limit)


def check_fits(prefix_id: str, n_prefix: int, n_new: int, limit: int) -> None:
    """A prefix of `n_prefix` tokens plus `n_new` continuation tokens must fit in `limit`."""
    if n_prefix + n_new > limit:
        raise InputError(
            f"prefix {prefix_id}: {n_prefix} tokens + {n_new} new tokens exceed the model's "
            f"context of {limit} tokens"
        )


def checked_context(
    tokenizer: PreTrainedTokenizerBase,
    prefix_id: str,
    text: object,
    config: ModelConfig,
    prompt_format: str,
    n_new: int,
    limit: int,
    where: str | Path | None = None,
) -> list[int]:
    """prefix_ids of one prefix that must leave room for `n_new` more tokens within
    `limit`; every problem (no text, empty, too long) is an InputError naming the prefix,
    after `where` (its file, or file:line) when given."""
    try:
        if not isinstance(text, str):
            raise InputError(f"prefix {prefix_id}: 'text' is missing or not a string")
        try:
            ids = prefix_ids(tokenizer, text, config, prompt_format)
        except InputError as err:
            raise InputError(f"prefix {prefix_id}: {err}") from err
        check_fits(prefix_id, len(ids), n_new, limit)
    except InputError as err:
        if where is None:
            raise
        raise InputError(f"{where}: {err}") from err
    return ids
