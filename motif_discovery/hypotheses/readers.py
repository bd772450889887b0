"""What the hypotheses experiments read of a run: its config, its prefixes, and per prefix
the partitions of RD, KM-S (semantic view only) and KM-A (attribution view only, both at
RD's K) at the prefix's studied config (studied_config) beside the features' planted labels
and each continuation's correctness.

One config per prefix: the configs of one prefix cluster the same continuations, so
figures of several configs of a prefix are not independent; every test and share is over
prefixes (H1, H2) or over the motifs of the studied configs (H3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motif_discovery.clustering.outputs import grid_configs, load_config_result, prefix_dir
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import FeatureSet, load_features
from motif_discovery.embedding.labels import CORRECT_KIND, CORRECT_NAME, world_path
from motif_discovery.toy_world.grammar import World, load_world
from motif_discovery.toy_world.labels import label
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

FEATURES_DIR = "4_feature_extraction"
RESOLVED = "config.resolved.json"
SINGLE_VIEW = ("KM-S", "KM-A")  # the baselines' names in the stage-5 record
METHODS = ("RD", *SINGLE_VIEW)
CORRECTNESS_LABELERS = ("toy_world", "answers")  # data.labeler values that give correctness


@dataclass(frozen=True)
class RunSettings:
    """The keys of the run's config the experiments read."""

    K_clamp: int
    labeler: str | None
    clozes: str


def run_config(run_dir: Path) -> RunSettings:
    """clustering.K_clamp, data.labeler and data.clozes of the config the run's stages last
    ran with (`config.resolved.json`; read as JSON, so a run made by an older version with
    other keys still reads)."""
    path = Path(run_dir) / RESOLVED
    if not path.is_file():
        raise InputError(f"{path}: missing; is {run_dir} a run directory?")
    tree = read_json(path)
    try:
        return RunSettings(
            int(tree["clustering"]["K_clamp"]), tree["data"]["labeler"], tree["data"]["clozes"]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: no clustering.K_clamp, data.labeler or data.clozes") from err


def toy_world(settings: RunSettings) -> World:
    """The world beside data.clozes (embedding/labels.world_path)."""
    return load_world(world_path(settings.clozes))


@dataclass
class Partitions:
    """One prefix at its studied (beta, gamma): each method's assignment over the same N
    continuations, the features (labels, texts, P_n) and the prefix text."""

    prefix_id: str
    text: str
    beta: float
    gamma: float
    K: int
    assign: dict[str, np.ndarray]  # method -> [N] ints
    features: FeatureSet

    @property
    def config(self) -> str:
        return f"beta={self.beta!r},gamma={self.gamma!r}"


def centre_distance(value: float, grid: list[float]) -> float:
    """|rank of value - middle rank| in the sorted distinct grid values (0 at the middle)."""
    return abs(grid.index(value) - (len(grid) - 1) / 2)


def studied_config(
    grid: list[tuple[float, float, int]], K_clamp: int
) -> tuple[float, float] | None:
    """The one (beta, gamma) of a prefix the experiments study, of its stage-5 configs
    `grid` ((beta, gamma, K)): among the eligible ones (1 < K <= K_clamp) the nearest to the
    grid's centre in grid steps, d = |i - (n_beta - 1)/2| + |j - (n_gamma - 1)/2| (i, j: the
    ranks of its beta and gamma among the grid's), ties to the larger beta, then the larger
    gamma. A run of one config (clustering.beta and gamma single numbers): that config when
    eligible. None: no eligible config."""
    betas = sorted({b for b, _, _ in grid})
    gammas = sorted({g for _, g, _ in grid})
    eligible = [(b, g) for b, g, K in grid if 1 < K <= K_clamp]
    if not eligible:
        return None
    return min(
        eligible,
        key=lambda c: (centre_distance(c[0], betas) + centre_distance(c[1], gammas), -c[0], -c[1]),
    )


def prefix_config(run_dir: Path, prefix_id: str, K_clamp: int) -> tuple[float, float] | None:
    """studied_config of one prefix's stage-5 grid (summary.json)."""
    return studied_config(grid_configs(run_dir, prefix_id), K_clamp)


def partitions(run_dir: Path, config: RunSettings) -> list[Partitions]:
    """Per prefix its studied config (prefix_config) with the single-view baselines present;
    a prefix without stage-5 output or without an eligible config is skipped."""
    run_dir = Path(run_dir)
    out = []
    for row in load_prefixes(run_dir):
        prefix_id = row["prefix_id"]
        if not (prefix_dir(run_dir, prefix_id) / "summary.json").is_file():
            continue
        chosen = prefix_config(run_dir, prefix_id, config.K_clamp)
        if chosen is None:
            continue
        features = load_features(run_dir / FEATURES_DIR, prefix_id)
        result = load_config_result(run_dir, prefix_id, *chosen)
        baselines = result.record.get("baseline_assign", {})
        missing = [m for m in SINGLE_VIEW if m not in baselines]
        if missing:
            raise InputError(
                f"{prefix_dir(run_dir, prefix_id)}/{result.name}.json: baseline_assign "
                f"lacks {missing}; rerun stage 5 with them in clustering.baselines"
            )
        assign = {"RD": result.assign.numpy()}
        assign |= {m: np.asarray(baselines[m]) for m in SINGLE_VIEW}
        for method, values in assign.items():
            if len(values) != features.n:
                raise InputError(
                    f"{prefix_dir(run_dir, prefix_id)}/{result.name}.json: {method} has "
                    f"{len(values)} assignments, the features {features.n}"
                )
        out.append(
            Partitions(
                prefix_id,
                row.get("text", ""),
                result.beta,
                result.gamma,
                result.K,
                assign,
                features,
            )
        )
    return out


def correctness(parts: Partitions, config: RunSettings, world: World | None) -> np.ndarray:
    """[N] floats: 1 correct, 0 wrong, NaN unknown. From the features' 'correct' labels
    (data.labeler 'answers'), else in the toy world from toy_world/labels.label: recall
    and copy of the true fact are correct, shortcut, default and wrong copies are wrong,
    family 'other' (not of the language's shape, or another meaning) is unknown."""
    features = parts.features
    if CORRECT_KIND in features.labels:
        names = features.label_names[CORRECT_KIND]
        return np.array([float(names[v] == CORRECT_NAME) for v in features.labels[CORRECT_KIND]])
    if config.labeler == "toy_world" and world is not None:
        if features.texts is None:
            raise InputError(f"{FEATURES_DIR}/{parts.prefix_id}.json: no 'texts' to label")
        found = [label(parts.text, text, world) for text in features.texts]
        return np.array([np.nan if x.family == "other" else float(bool(x.correct)) for x in found])
    raise InputError(
        f"{parts.prefix_id}: no correctness: the features have no '{CORRECT_KIND}' labels and "
        f"data.labeler is {config.labeler!r} (use 'answers' or 'toy_world')"
    )
