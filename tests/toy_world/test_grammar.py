"""The generator: seeded, parseable, and its samples follow the planted distribution."""

import math
import random
from collections import Counter
from itertools import product

import pytest

from motif_discovery.toy_world.clozes import cloze_prefixes
from motif_discovery.toy_world.grammar import (
    ATTRIBUTES,
    MEANINGS,
    Border,
    Cloze,
    Prefix,
    Statement,
    continuation_distribution,
    entropy,
    families,
    make_world,
    parse_prefix,
    sample_episode,
    sample_prefix,
    vocabulary,
)
from motif_discovery.toy_world.tokenizer import build_tokenizer, pad_rows
from motif_discovery.utils.errors import InputError


def test_world_is_seeded_balanced_and_every_country_has_a_partner():
    a, b, c = make_world(0), make_world(0), make_world(1)
    assert a == b
    assert a.facts != c.facts
    for world in (a, c, make_world(0, small=True)):
        for attribute, facts in world.facts.items():
            counts = Counter(facts.values())
            assert max(counts.values()) - min(counts.values()) <= 1, attribute
        for x in world.countries:
            partners = world.partners(x)
            assert partners
            assert all(world.facts[a][y] != world.facts[a][x] for y in partners for a in ATTRIBUTES)
    assert len(make_world(0, small=True).countries) < len(a.countries)


def test_word_sets_are_disjoint():
    """A content word has one meaning and one role (recall or stated): text decides family."""
    words = [
        w
        for meanings in MEANINGS.values()
        for recall, stated in meanings.values()
        for w in (*recall, *stated)
    ]
    assert len(words) == len(set(words))


def test_episodes_are_reproducible_and_in_vocabulary():
    world = make_world(3)
    rng_a, rng_b = random.Random(7), random.Random(7)
    assert [sample_episode(rng_a, world) for _ in range(50)] == [
        sample_episode(rng_b, world) for _ in range(50)
    ]
    vocab = set(vocabulary())
    rng = random.Random(0)
    for _ in range(500):
        prefix, family, text = sample_episode(rng, world)
        assert set((prefix.text + text).split()) <= vocab
        assert text in family.continuations()
        assert text.startswith(" ") and text[-1] in ".!"


def test_parse_prefix_inverts_text():
    world = make_world(0)
    rng = random.Random(1)
    for _ in range(300):
        prefix = sample_prefix(rng, world)
        assert parse_prefix(prefix.text) == prefix


@pytest.mark.parametrize(
    "text",
    [
        "",
        "the main export of velkaria",
        "velkaria likes ormia . velkaria is famous for",
        "velkaria sells fish . velkaria is famous for",  # a recall word is never stated
        "velkaria enjoys tuna . velkaria is famous for",  # an export word as a pastime
    ],
)
def test_parse_prefix_rejects_other_text(text):
    with pytest.raises(InputError):
        parse_prefix(text)


def test_planted_distribution_by_hand():
    """Weights recall 1.0, copy 1.0, shortcut 0.7, default 0.5 over the enabled families."""
    world = make_world(0)
    x = world.countries[0]
    y = world.partners(x)[0]
    stated = MEANINGS["export"][world.facts["export"][x]][1][0]
    prefix = Prefix(Cloze(x, "export"), (Border(x, y), Statement(x, "export", stated)))
    got = {f.name: (f.semantic, f.contents, f.prob) for f in families(prefix, world)}
    ex, ey = world.facts["export"][x], world.facts["export"][y]
    assert got == {
        "recall_export": (f"export:{ex}", MEANINGS["export"][ex][0], pytest.approx(1 / 3.2)),
        "copy_export": (f"export:{ex}", (stated,), pytest.approx(1 / 3.2)),
        "shortcut_export": (f"export:{ey}", MEANINGS["export"][ey][0], pytest.approx(0.7 / 3.2)),
        "default": (
            "beaches",
            ("beaches", "coastline", "shores", "seaside"),
            pytest.approx(0.5 / 3.2),
        ),
    }
    plain = {f.name: f.prob for f in families(Prefix(Cloze(x, None)), world)}
    assert plain == {
        "recall_export": pytest.approx(0.7 / 1.9),
        "recall_pastime": pytest.approx(0.7 / 1.9),
        "default": pytest.approx(0.5 / 1.9),
    }


def test_continuation_distribution_sums_to_one_and_counts_texts():
    """5 openers x 6 trailers x 2 stops per content word; texts of a prefix never collide."""
    world = make_world(0)
    for prefix in cloze_prefixes(world, 16, 0):
        dist = continuation_distribution(prefix, world)
        assert sum(p for _, p in dist.values()) == pytest.approx(1.0)
        n_contents = sum(len(f.contents) for f in families(prefix, world))
        assert len(dist) == n_contents * 5 * 6 * 2
        h = -sum(p * math.log(p) for _, p in dist.values())
        assert entropy(prefix, world) == pytest.approx(h)


def _layout(prefix: Prefix, world) -> tuple:
    """Stem, border?, and (attribute, true?) of the stated fact: what families() reads."""
    x = prefix.cloze.subject
    stated = [(s.attribute, s.meaning == world.facts[s.attribute][x]) for s in prefix.stated()]
    return prefix.cloze.attribute, prefix.border_other() is not None, tuple(stated)


def test_samples_follow_planted_distribution():
    """Family frequencies of 30k episodes, pooled by layout, match families() within 4 sigma;
    the wording of one family's texts is independent of the family."""
    world = make_world(0)
    rng = random.Random(5)
    counts: dict[tuple, Counter] = {}
    planted: dict[tuple, dict[str, float]] = {}
    openers: dict[str, Counter] = {}
    for _ in range(30000):
        prefix, family, text = sample_episode(rng, world)
        key = _layout(prefix, world)
        counts.setdefault(key, Counter())[family.name] += 1
        planted[key] = {f.name: f.prob for f in families(prefix, world)}
        openers.setdefault(family.mechanism, Counter())[text.split()[0]] += 1
    assert len(counts) >= 12
    for key, observed in counts.items():
        n = sum(observed.values())
        assert set(observed) <= set(planted[key])
        for name, p in planted[key].items():
            sigma = (p * (1 - p) / n) ** 0.5
            assert abs(observed[name] / n - p) < 4 * sigma + 1e-9, (key, name)
    for mechanism, observed in openers.items():
        n = sum(observed.values())
        for opener in ("mostly", "mainly", "surely", "above"):
            sigma = (0.15 * 0.85 / n) ** 0.5
            assert abs(observed[opener] / n - 0.15) < 4 * sigma, (mechanism, opener)


def test_clozes_plant_the_crosses():
    """Most clozes have >= 4 families above 5%; recall and copy of one meaning co-occur,
    and so do recall of two meanings (the famous-for stem)."""
    world = make_world(0)
    prefixes = cloze_prefixes(world, n=32, seed=0)
    assert len({p.text for p in prefixes}) == 32
    rich = [p for p in prefixes if sum(f.prob > 0.05 for f in families(p, world)) >= 4]
    assert len(rich) >= 20
    same_meaning = same_mechanism = 0
    for prefix in prefixes:
        fams = families(prefix, world)
        for f, g in product(fams, fams):
            if f.name < g.name:
                same_meaning += f.semantic == g.semantic and f.mechanism != g.mechanism
                same_mechanism += f.semantic != g.semantic and f.mechanism == g.mechanism
    assert same_meaning >= 10 and same_mechanism >= 10


def test_tokenizer_round_trip_and_ids():
    tok = build_tokenizer()
    assert tok.pad_token_id == 0 and tok.bos_token_id == tok.eos_token_id != 0
    assert {".", "!", ","} <= set(tok.get_vocab())
    world = make_world(0)
    rng = random.Random(2)
    for _ in range(100):
        prefix, _, text = sample_episode(rng, world)
        p_ids = tok(prefix.text, add_special_tokens=False).input_ids
        c_ids = tok(text, add_special_tokens=False).input_ids
        both = tok(prefix.text + text, add_special_tokens=False).input_ids
        assert both == p_ids + c_ids
        assert tok.unk_token_id not in both
        assert tok.decode(c_ids) == text
        assert (
            tok.decode([tok.bos_token_id, *both], skip_special_tokens=True)
            == " " + prefix.text + text
        )


@pytest.mark.parametrize("left", [False, True])
def test_pad_rows_places_each_row_and_its_mask(left):
    rows = [[5, 6, 7], [8], [9, 10]]
    ids, mask = pad_rows(rows, pad_id=0, left=left)
    assert ids.shape == mask.shape == (3, 3)
    for row, got_ids, got_mask in zip(rows, ids.tolist(), mask.tolist(), strict=True):
        pad = [0] * (3 - len(row))
        assert got_ids == (pad + row if left else row + pad)
        assert got_mask == (
            [0] * len(pad) + [1] * len(row) if left else [1] * len(row) + [0] * len(pad)
        )
