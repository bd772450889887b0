"""The labeler: hand-checked examples, and agreement with the generator on its own samples."""

import random

import pytest

from motif_discovery.toy_world.grammar import make_world, sample_episode
from motif_discovery.toy_world.labels import Label, label

WORLD = make_world(0)
X, Y, Z = WORLD.countries[:3]
CAP, RIV = WORLD.facts["capital"], WORLD.facts["river"]
FULL = f"{X} borders {Y} . {X} calls its capital the white city . the capital of {X} is"
FAMOUS = f"{X} borders {Y} . {X} calls its river the old stream . {X} is famous for"


@pytest.mark.parametrize(
    ("prefix", "continuation", "expected"),
    [
        (FULL, f" {CAP[X]} .", Label(f"capital:{X}", "recall", True, "recall_capital")),
        (FULL, " the white city .", Label(f"capital:{X}", "copy", True, "copy_capital")),
        (FULL, f" {CAP[Y]} .", Label(f"capital:{Y}", "shortcut", False, "shortcut_capital")),
        (FULL, " a big city .", Label("generic:capital", "default", None, "default_capital")),
        (FULL, f" {CAP[Z]} .", Label(f"capital:{Z}", "other", False, "other")),
        (FULL, f" {RIV[X]} .", Label("other", "other", None, "other")),
        (FULL, f" {CAP[X]}", Label("other", "other", None, "other")),
        (FULL, " the red city .", Label("other", "other", None, "other")),
        (FULL, "", Label("other", "other", None, "other")),
        (
            FAMOUS,
            f" its capital {CAP[X]} .",
            Label(f"capital:{X}", "recall", True, "recall_capital"),
        ),
        (FAMOUS, f" its river {RIV[X]} .", Label(f"river:{X}", "recall", True, "recall_river")),
        (FAMOUS, " the old stream .", Label(f"river:{X}", "copy", True, "copy_river")),
        (
            FAMOUS,
            f" its capital {CAP[Y]} .",
            Label(f"capital:{Y}", "shortcut", False, "shortcut_capital"),
        ),
        (FAMOUS, " its people .", Label("generic:people", "default", None, "default_people")),
        (FAMOUS, f" {CAP[X]} .", Label("other", "other", None, "other")),
        # a nickname of another country is copied: the meaning follows the statement
        (
            f"{Y} calls its capital the red gate . the capital of {X} is",
            " the red gate .",
            Label(f"capital:{Y}", "copy", False, "copy_capital"),
        ),
        # a river nickname answering a capital cloze is a wrong copy
        (
            f"{X} calls its river the red flow . the capital of {X} is",
            " the red flow .",
            Label(f"river:{X}", "copy", False, "copy_river"),
        ),
    ],
)
def test_examples(prefix, continuation, expected):
    assert label(prefix, continuation, WORLD) == expected


def test_same_meaning_different_mechanism():
    recall, copy = label(FULL, f" {CAP[X]} .", WORLD), label(FULL, " the white city .", WORLD)
    assert recall.semantic == copy.semantic and recall.mechanism != copy.mechanism


def test_bos_and_spacing_do_not_change_the_label():
    expected = label(FULL, f" {CAP[X]} .", WORLD)
    assert label(f"<|endoftext|>{FULL}", f" {CAP[X]}.", WORLD) == expected
    assert label(FULL, f"{CAP[X]} . ", WORLD) == expected


def test_default_world_is_seed_zero():
    assert label(FULL, f" {CAP[X]} .") == label(FULL, f" {CAP[X]} .", WORLD)


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_of_generator_samples_are_their_families(seed):
    """Independent check: the labeler (facts + statements) recovers the generator's family."""
    world = make_world(seed)
    rng = random.Random(seed)
    for _ in range(3000):
        prefix, family = sample_episode(rng, world)
        got = label(prefix.text, family.continuation, world)
        assert got.family == family.name, (prefix.text, family)
        assert got.correct is (None if got.mechanism == "default" else got.mechanism != "shortcut")
