"""The semantic view of the planted texts: pooling checked by hand, and the meanings found."""

import numpy as np
import pytest
import torch

from motif_discovery.toy_world.clozes import cloze_prefixes
from motif_discovery.toy_world.grammar import make_world, planted_texts
from motif_discovery.toy_world.semantic import (
    continuation_embeddings,
    cross_mechanism_nearest,
    kmeans_ari,
    load_embedder,
)


@pytest.fixture(scope="module")
def embedder():
    torch.set_num_threads(1)
    return load_embedder()


def test_pooling_covers_exactly_the_continuation_tokens(embedder):
    """Against token counting: the prefix's word pieces, then the continuation's, then [SEP]."""
    prefix = "velkaria sells hardwood . the main export of velkaria is"
    texts = [" mostly wood , of course !", " seaside ."]
    got = continuation_embeddings(embedder, prefix, texts)
    tokenizer, encoder = embedder.tokenizer, embedder[0].auto_model
    n_prefix = len(tokenizer(prefix, add_special_tokens=False).input_ids)
    for row, text in enumerate(texts):
        ids = tokenizer(prefix + text, return_tensors="pt")
        with torch.no_grad():
            states = encoder(**ids).last_hidden_state[0]
        vector = states[1 + n_prefix : -1].mean(0)  # skip [CLS] + prefix, drop [SEP]
        expected = (vector / vector.norm()).numpy()
        np.testing.assert_allclose(got[row], expected, atol=1e-5)
        assert np.linalg.norm(got[row]) == pytest.approx(1.0, abs=1e-5)


def test_nearest_rule_by_brute_force():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(30, 5))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    semantic = [f"m{i % 3}" for i in range(30)]
    family = [f"f{i % 6}" for i in range(30)]  # f0 and f3 share m0, etc.
    hits = cases = 0
    for i in range(30):
        partners = [j for j in range(30) if semantic[j] == semantic[i] and family[j] != family[i]]
        others = [j for j in range(30) if semantic[j] != semantic[i]]
        cases += 1
        hits += max(e[i] @ e[j] for j in partners) > max(e[i] @ e[j] for j in others)
    assert cross_mechanism_nearest(e, semantic, family) == (hits, cases)


def test_kmeans_ari_finds_separated_groups():
    rng = np.random.default_rng(1)
    centres = np.eye(4)[:3] * 10
    labels = [str(i % 3) for i in range(60)]
    points = centres[[int(x) for x in labels]] + rng.normal(scale=0.1, size=(60, 4))
    assert kmeans_ari(points, labels) == pytest.approx(1.0)
    shuffled = list(np.random.default_rng(2).permutation(labels))
    assert kmeans_ari(points, shuffled) < 0.2  # labels that ignore the groups score near 0


def test_meanings_are_found_and_recall_sits_with_copy(embedder):
    """Two clozes (cars vs the default -- a default of "people" fails here; recall, copy,
    shortcut and default), all planted texts: k-means with
    the number of meanings recovers them, and recall/copy of one meaning are nearest."""
    world = make_world(0)
    prefixes = cloze_prefixes(world, 32, 0)
    for prefix in (prefixes[21], prefixes[8]):
        texts, semantic, family = planted_texts(prefix, world)
        e = continuation_embeddings(embedder, prefix.text, texts)
        assert kmeans_ari(e, semantic) >= 0.9, prefix.text
        hits, cases = cross_mechanism_nearest(e, semantic, family)
        assert cases > 0 and hits / cases >= 0.9, prefix.text
