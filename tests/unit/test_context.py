"""The one token context of a prefix: BOS or its stand-in, raw or chat prompt, limits."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from motif_discovery.model.context import check_fits, checked_context, max_context, prefix_ids
from motif_discovery.model.loading import load_model_config, load_tokenizer
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError

PREFIX = "ormia is famous for"
# A template in the shape of Qwen3's: a user turn, the generation prompt, and an empty
# think block when thinking is turned off.
TEMPLATE = (
    "{% for m in messages %}<|endoftext|> {{ m['content'] }} .{% endfor %}"
    "{% if add_generation_prompt %} is{% if enable_thinking is defined and not enable_thinking %}"
    " for{% endif %}{% endif %}"
)


@pytest.fixture(scope="module")
def toy():
    config = load_config().model
    return load_tokenizer(config), config


def words(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens(ids)


def test_raw_prefix_starts_with_the_tokenizers_bos(toy):
    tokenizer, config = toy
    ids = prefix_ids(tokenizer, PREFIX, config, "raw")
    assert ids[0] == tokenizer.bos_token_id
    assert words(tokenizer, ids[1:]) == PREFIX.split()


def test_stand_in_when_the_tokenizer_has_no_bos(toy):
    tokenizer, config = toy
    bare = copy.deepcopy(tokenizer)
    bare.bos_token = None
    with pytest.raises(InputError, match=r"model.bos_stand_in: the tokenizer .* defines no BOS"):
        prefix_ids(bare, PREFIX, config, "raw")
    stand_in = replace(config, bos_stand_in="<|endoftext|>")
    ids = prefix_ids(bare, PREFIX, stand_in, "raw")
    assert words(bare, ids) == ["<|endoftext|>", *PREFIX.split()]
    with pytest.raises(InputError, match="'<nope>' is not a token"):
        prefix_ids(bare, PREFIX, replace(config, bos_stand_in="<nope>"), "raw")


def test_chat_prompt_uses_the_template_with_thinking_off_and_no_second_bos(toy):
    tokenizer, config = toy
    with pytest.raises(InputError, match="'chat', but the tokenizer has no chat template"):
        prefix_ids(tokenizer, PREFIX, config, "chat")
    chat = copy.deepcopy(tokenizer)
    chat.chat_template = TEMPLATE
    ids = prefix_ids(chat, PREFIX, config, "chat")
    # the template's own leading <|endoftext|> is the BOS: not prepended again
    assert words(chat, ids) == ["<|endoftext|>", *PREFIX.split(), ".", "is", "for"]


def test_empty_and_too_long_prefixes_are_named(toy):
    tokenizer, config = toy
    limit = max_context(load_model_config(config), config)
    assert limit == 64  # the toy model's max_position_embeddings
    assert max_context(load_model_config(config), replace(config, max_context=32)) == 32
    with pytest.raises(InputError, match="prefix p7: prefix is empty"):
        checked_context(tokenizer, "p7", "   ", config, "raw", 20, limit)
    with pytest.raises(InputError, match="prefix p8: 'text' is missing"):
        checked_context(tokenizer, "p8", None, config, "raw", 20, limit)
    long_text = " ".join([PREFIX] * 12)  # 48 words + BOS
    with pytest.raises(InputError, match=r"prefix p9: 49 tokens \+ 20 new tokens exceed .* 64"):
        checked_context(tokenizer, "p9", long_text, config, "raw", 20, limit)
    assert len(checked_context(tokenizer, "p9", long_text, config, "raw", 15, limit)) == 49
    check_fits("p", 44, 20, 64)  # exactly full: fits
