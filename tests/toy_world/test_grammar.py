"""The generator: seeded, parseable, and its samples follow the planted distribution."""

import random
from collections import Counter

import pytest

from motif_discovery.toy_world.clozes import cloze_prefixes
from motif_discovery.toy_world.grammar import (
    Border,
    Cloze,
    Nickname,
    Prefix,
    families,
    make_world,
    parse_prefix,
    sample_episode,
    sample_prefix,
    vocabulary,
)
from motif_discovery.toy_world.tokenizer import build_tokenizer
from motif_discovery.utils.errors import InputError


def test_world_is_seeded_and_facts_are_one_to_one():
    a, b, c = make_world(0), make_world(0), make_world(1)
    assert a == b
    assert a.facts != c.facts
    for attribute, facts in a.facts.items():
        assert len(set(facts.values())) == len(facts) == len(a.countries), attribute
    assert len(make_world(0, small=True).countries) < len(a.countries)


def test_episodes_are_reproducible_and_in_vocabulary():
    world = make_world(3)
    rng_a, rng_b = random.Random(7), random.Random(7)
    assert [sample_episode(rng_a, world) for _ in range(50)] == [
        sample_episode(rng_b, world) for _ in range(50)
    ]
    vocab = set(vocabulary())
    rng = random.Random(0)
    for _ in range(500):
        prefix, family = sample_episode(rng, world)
        assert set((prefix.text + family.continuation).split()) <= vocab
        assert family.continuation.startswith(" ") and family.continuation.endswith(" .")
        assert family.continuation.count(".") == 1


def test_parse_prefix_inverts_text():
    world = make_world(0)
    rng = random.Random(1)
    for _ in range(300):
        prefix = sample_prefix(rng, world)
        assert parse_prefix(prefix.text) == prefix


@pytest.mark.parametrize(
    "text", ["", "the capital of velkaria", "velkaria likes ormia . velkaria is famous for"]
)
def test_parse_prefix_rejects_other_text(text):
    with pytest.raises(InputError):
        parse_prefix(text)


def test_planted_distribution_by_hand():
    """Weights recall 1.0, copy 1.2, shortcut 0.5, default 0.3 over the enabled families."""
    world = make_world(0)
    x, y = world.countries[0], world.countries[1]
    prefix = Prefix(Cloze(x, "capital"), (Border(x, y), Nickname(x, "capital", "the white city")))
    got = {f.name: (f.continuation, f.prob) for f in families(prefix, world)}
    assert got == {
        "recall_capital": (f" {world.facts['capital'][x]} .", pytest.approx(1.0 / 3.0)),
        "copy_capital": (" the white city .", pytest.approx(1.2 / 3.0)),
        "shortcut_capital": (f" {world.facts['capital'][y]} .", pytest.approx(0.5 / 3.0)),
        "default_capital": (" a big city .", pytest.approx(0.3 / 3.0)),
    }
    plain = {f.name: f.prob for f in families(Prefix(Cloze(x, "river")), world)}
    assert plain == {
        "recall_river": pytest.approx(1 / 1.3),
        "default_river": pytest.approx(0.3 / 1.3),
    }


def _layout(prefix: Prefix) -> tuple:
    nick = [s.attribute for s in prefix.nicknames()]
    return prefix.cloze.attribute, prefix.border_other() is not None, tuple(nick)


def test_samples_follow_planted_distribution():
    """Family frequencies of 30k episodes, pooled by layout, match families() within 4 sigma."""
    world = make_world(0)
    rng = random.Random(5)
    counts: dict[tuple, Counter] = {}
    planted: dict[tuple, dict[str, float]] = {}
    for _ in range(30000):
        prefix, family = sample_episode(rng, world)
        key = _layout(prefix)
        counts.setdefault(key, Counter())[family.name] += 1
        planted[key] = {f.name: f.prob for f in families(prefix, world)}
    assert len(counts) >= 12
    for key, observed in counts.items():
        n = sum(observed.values())
        assert set(observed) <= set(planted[key])
        for name, p in planted[key].items():
            sigma = (p * (1 - p) / n) ** 0.5
            assert abs(observed[name] / n - p) < 4 * sigma + 1e-9, (key, name)


def test_clozes_have_rich_prefixes():
    world = make_world(0)
    prefixes = cloze_prefixes(world, n=32, seed=0)
    assert len({p.text for p in prefixes}) == 32
    rich = [p for p in prefixes if sum(f.prob > 0.05 for f in families(p, world)) >= 4]
    assert len(rich) >= 8
    names = set().union(*({f.name for f in families(p, world)} for p in prefixes))
    assert {"recall_capital", "recall_river", "copy_capital", "copy_river"} <= names
    assert {"shortcut_capital", "default_capital", "default_people"} <= names


def test_tokenizer_round_trip_and_ids():
    tok = build_tokenizer()
    assert tok.pad_token_id == 0 and tok.bos_token_id == tok.eos_token_id != 0
    world = make_world(0)
    rng = random.Random(2)
    for _ in range(100):
        prefix, family = sample_episode(rng, world)
        p_ids = tok(prefix.text, add_special_tokens=False).input_ids
        c_ids = tok(family.continuation, add_special_tokens=False).input_ids
        both = tok(prefix.text + family.continuation, add_special_tokens=False).input_ids
        assert both == p_ids + c_ids
        assert tok.unk_token_id not in both
        assert tok.decode(c_ids) == family.continuation
        assert (
            tok.decode([tok.bos_token_id, *both], skip_special_tokens=True)
            == " " + prefix.text + family.continuation
        )
