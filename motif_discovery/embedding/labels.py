"""Ground-truth labels stage 4 saves beside the views (data.labeler), for stage 5's ARI/NMI.

A labeler maps (prefix text, continuation texts) to label kinds, each a name per
continuation; the features store each kind as ints with the list of names:
int = index of the name in sorted(set(names)), so label_names[kind][labels[kind][n]] is
continuation n's name.

`toy_world`: toy_world/labels.label with the world of `<folder of data.clozes>/world.json`;
kinds "family", "semantic" and "mechanism".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from motif_discovery.model.paths import local_path
from motif_discovery.toy_world.grammar import World, load_world
from motif_discovery.toy_world.labels import label
from motif_discovery.utils.config import Config
from motif_discovery.utils.errors import InputError

TOY_WORLD_KINDS = ("family", "semantic", "mechanism")

Labeler = Callable[[str, list[str]], dict[str, list[str]]]


def encode(names: dict[str, list[str]]) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """(labels, label_names): each kind's names as indices into its sorted distinct names."""
    labels, label_names = {}, {}
    for kind, values in names.items():
        distinct = sorted(set(values))
        index = {name: i for i, name in enumerate(distinct)}
        labels[kind] = [index[value] for value in values]
        label_names[kind] = distinct
    return labels, label_names


def world_path(config: Config) -> Path:
    """`world.json` beside the cloze file data.clozes; missing is an InputError."""
    clozes = local_path(config.data.clozes)
    path = (clozes.parent if clozes is not None else Path(config.data.clozes).parent) / "world.json"
    if not path.is_file():
        raise InputError(
            f"data.labeler: 'toy_world' needs {path} (the world beside data.clozes "
            f"{config.data.clozes!r})"
        )
    return path


def toy_world_labeler(world: World) -> Labeler:
    """Family, meaning and mechanism of each continuation under `world`."""

    def labeler(prefix: str, texts: list[str]) -> dict[str, list[str]]:
        found = [label(prefix, text, world) for text in texts]
        return {kind: [getattr(x, kind) for x in found] for kind in TOY_WORLD_KINDS}

    return labeler


def make_labeler(config: Config) -> tuple[Labeler | None, tuple[Path, ...]]:
    """(the labeler data.labeler names or None, the files it reads)."""
    if config.data.labeler is None:
        return None, ()
    path = world_path(config)
    return toy_world_labeler(load_world(path)), (path,)
