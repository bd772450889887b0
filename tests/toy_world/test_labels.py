"""The labeler: hand-checked examples, and agreement with the generator on its own samples."""

import random

import pytest

from motif_discovery.toy_world.grammar import make_world, sample_episode
from motif_discovery.toy_world.labels import OTHER, Label, label

WORLD = make_world(0)
# seed-0 world, written out by hand so the examples do not depend on the code under test
X, Y = "velkaria", "zembia"
EXPORT, PASTIME = WORLD.facts["export"], WORLD.facts["pastime"]
FULL = f"{X} borders {Y} . {X} sells hardwood . the main export of {X} is"
FAMOUS = f"{X} borders {Y} . {X} enjoys mares . {X} is famous for"
FALSE = f"{X} sells tuna . the main export of {X} is"  # a stated fact that is not stored


def test_seed_zero_world_is_the_one_written_here():
    assert (EXPORT[X], EXPORT[Y], PASTIME[X], PASTIME[Y]) == (
        "timber",
        "cars",
        "music",
        "horses",
    )


@pytest.mark.parametrize(
    ("prefix", "continuation", "expected"),
    [
        (FULL, " wood .", Label("export:timber", "recall", True, "recall_export")),
        (
            FULL,
            " mostly lumber , of course !",
            Label("export:timber", "recall", True, "recall_export"),
        ),
        (
            FULL,
            " above all hardwood as always .",
            Label("export:timber", "copy", True, "copy_export"),
        ),
        (
            FULL,
            " surely cars , they say .",
            Label("export:cars", "shortcut", False, "shortcut_export"),
        ),
        (FULL, " mainly shores and more !", Label("beaches", "default", None, "default")),
        (FULL, " fish .", Label("export:fish", "other", False, "other")),
        (FULL, " woodwork .", Label("export:timber", "other", False, "other")),  # not stated
        (FULL, " music .", OTHER),  # a pastime answering the export stem
        (FULL, " wood", OTHER),  # no stop mark
        (FULL, " wood wood .", OTHER),
        (FULL, " mostly mostly wood .", OTHER),
        (FULL, " wood , of course , of course .", OTHER),
        (FULL, " hello .", OTHER),
        (FULL, "", OTHER),
        (FAMOUS, " songs .", Label("pastime:music", "recall", True, "recall_pastime")),
        (FAMOUS, " timber .", Label("export:timber", "recall", True, "recall_export")),
        (FAMOUS, " mares !", Label("pastime:horses", "copy", False, "copy_pastime")),
        (FAMOUS, " automobiles .", Label("export:cars", "shortcut", False, "shortcut_export")),
        (FAMOUS, " stallions .", Label("pastime:horses", "other", False, "other")),
        (FAMOUS, " coastline .", Label("beaches", "default", None, "default")),
        (FALSE, " tuna .", Label("export:fish", "copy", False, "copy_export")),
        (FALSE, " seafood .", Label("export:fish", "other", False, "other")),
    ],
)
def test_examples(prefix, continuation, expected):
    assert label(prefix, continuation, WORLD) == expected


def test_same_meaning_different_mechanism():
    recall, copy = label(FULL, " wood .", WORLD), label(FULL, " hardwood .", WORLD)
    assert recall.semantic == copy.semantic and recall.mechanism != copy.mechanism


def test_wording_bos_and_spacing_do_not_change_the_label():
    expected = label(FULL, " wood .", WORLD)
    assert label(f"<|endoftext|>{FULL}", " wood.", WORLD) == expected
    assert label(FULL, "wood . ", WORLD) == expected
    for text in (" mostly wood !", " wood , it seems .", " above all wood and more !"):
        assert label(FULL, text, WORLD) == expected


def test_default_world_is_seed_zero():
    assert label(FULL, " wood .") == label(FULL, " wood .", WORLD)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("small", [False, True])
def test_labels_of_generator_samples_are_their_families(seed, small):
    """Independent check: the labeler (facts + statements) recovers the generator's family."""
    world = make_world(seed, small=small)
    rng = random.Random(seed)
    for _ in range(3000):
        prefix, family, text = sample_episode(rng, world)
        got = label(prefix.text, text, world)
        assert (got.family, got.semantic, got.mechanism) == (
            family.name,
            family.semantic,
            family.mechanism,
        ), (prefix.text, text)
        if got.mechanism == "copy":
            stated = prefix.stated()[-1]
            assert got.correct is (
                world.facts[stated.attribute][prefix.cloze.subject] == stated.meaning
            )
        else:
            assert (
                got.correct is {"recall": True, "shortcut": False, "default": None}[got.mechanism]
            )
