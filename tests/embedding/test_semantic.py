"""The semantic view: pooled over exactly the continuation's tokens, checked by hand."""

import pytest
import torch

from motif_discovery.embedding.semantic import (
    continuation_embeddings,
    hidden_states,
    load_embedder,
    mean_pool,
    tokenize,
)
from motif_discovery.utils.errors import InputError

# (prefix, continuation, the text's WordPiece tokens, indices of the continuation's tokens)
CASES = [
    # the boundary inside "capital": the straddling token counts (it holds "ital")
    ("The cap", "ital of France.", ["the", "capital", "of", "france", "."], [2, 3, 4, 5]),
    # the boundary between two pieces of one word: "##ization" is the continuation's
    ("The capital", "ization rates.", ["the", "capital", "##ization", "rates", "."], [3, 4, 5]),
    # the toy language: leading space, no straddling
    (
        "ormia is famous for",
        " mostly tuna , they say !",
        ["or", "##mia", "is", "famous", "for", "mostly", "tuna", ",", "they", "say", "!"],
        [6, 7, 8, 9, 10, 11],
    ),
]


@pytest.fixture(scope="module")
def embedder():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_embedder("all-MiniLM-L6-v2", torch.device("cpu"))
    torch.set_num_threads(threads)


def by_hand(embedder, text, indices):
    """Unit mean of the states at the given token indices of `text` encoded alone."""
    ids = embedder.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        states = embedder[0].auto_model(**ids).last_hidden_state[0]
    vector = states[indices].mean(0)
    return vector / vector.norm()


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pooled_span_is_the_continuation_tokens(embedder, padding_side):
    """All cases in one padded batch, either padding side, against states picked by hand."""
    tokenizer = embedder.tokenizer
    for prefix, continuation, tokens, _ in CASES:
        ids = tokenizer(prefix + continuation).input_ids
        assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", *tokens, "[SEP]"]
    side = tokenizer.padding_side
    tokenizer.padding_side = padding_side
    try:
        got = [
            continuation_embeddings(embedder, prefix, [continuation, " x.", continuation])
            for prefix, continuation, _, _ in CASES
        ]
    finally:
        tokenizer.padding_side = side
    for (prefix, continuation, _, indices), rows in zip(CASES, got, strict=True):
        expected = by_hand(embedder, prefix + continuation, indices)
        torch.testing.assert_close(rows[0], expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(rows[2], expected, atol=1e-5, rtol=0)
        assert rows.norm(dim=1).sub(1).abs().max() < 1e-5


def test_pooling_every_token_reproduces_encode(embedder):
    """The states are the model's: pooled over the whole attention mask they give what
    SentenceTransformer.encode (mean pooling, then normalize) gives."""
    texts = ["The capital of France.", "a", "ormia is famous for mostly tuna , they say !"]
    encoded = tokenize(embedder, texts, None)
    ours = mean_pool(hidden_states(embedder, encoded), encoded["attention_mask"].bool())
    theirs = embedder.encode(texts, convert_to_tensor=True)
    torch.testing.assert_close(ours, theirs.cpu(), atol=1e-5, rtol=0)


def test_batch_size_changes_nothing(embedder):
    prefix = "velkaria sells hardwood . the main export of velkaria is"
    texts = [" wood .", " mostly hardwood , of course !", " beaches and more .", " cars !"]
    one = continuation_embeddings(embedder, prefix, texts, batch_size=1)
    all_ = continuation_embeddings(embedder, prefix, texts, batch_size=64)
    torch.testing.assert_close(one, all_, atol=1e-5, rtol=0)


def test_truncated_or_tokenless_continuation_is_named(embedder):
    prefix = "the main export of velkaria is"  # [CLS] + 8 tokens (ve ##lka ##ria)
    fits = continuation_embeddings(embedder, prefix, [" wood ."], max_length=12)
    assert fits.shape == (1, 384)
    with pytest.raises(InputError, match=r"continuation p\.0001: 1 of its 2 tokens are cut off"):
        continuation_embeddings(
            embedder,
            prefix,
            [" a", " wood ."],
            continuation_ids=["p.0000", "p.0001"],
            max_length=11,
        )
    with pytest.raises(InputError, match=r"continuation p\.0001: ' ' has no token"):
        continuation_embeddings(
            embedder, prefix, [" wood .", " "], continuation_ids=["p.0000", "p.0001"]
        )
    with pytest.raises(InputError, match="continuation #0: '' has no token"):
        continuation_embeddings(embedder, prefix, [""])
