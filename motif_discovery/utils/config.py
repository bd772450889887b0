"""JSON configuration: `extends` merging, typed validation, `--set` overrides.

Every config is merged on top of `configs/default_config.json`, which holds every key
with the paper's defaults and documents it (a key `_name` documents `name`). The
merged tree is validated against the dataclasses below before any work is done:
unknown keys, wrong types and out-of-range values raise `InputError` naming the key
path (with a suggestion for misspelt keys).
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from motif_discovery.utils.errors import InputError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default_config.json"


def _positive(v: float) -> bool:
    return v > 0


def _positive_or_path(v: float | str) -> bool:
    return v == "path" or (not isinstance(v, str) and v > 0)


def _finite_positive_or_null(v: float | None) -> bool:
    return v is None or 0 < v < float("inf")


def _unit_interval(v: float) -> bool:
    return 0.0 <= v <= 1.0


def _at_least_one(v: int) -> bool:
    return v >= 1


def _field(check: typing.Callable[[Any], bool], rule: str) -> Any:
    """A config field whose value (each element of a non-empty list) must satisfy `check`."""
    return field(metadata={"check": check, "rule": rule, "non_empty": True})


@dataclass(frozen=True)
class RunConfig:
    """Where and how the pipeline runs."""

    run_dir: str
    seed: int
    device: Literal["auto", "cpu", "cuda"]
    dtype: Literal["float32", "float64"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _open_unit_interval_right(v: float) -> bool:
    return 0.0 < v <= 1.0


def _positive_int_or_null(v: int | None) -> bool:
    return v is None or v >= 1


@dataclass(frozen=True)
class DataConfig:
    """Stage 1: which prefixes the pipeline studies (docs/method.md, "Stage 1")."""

    source: Literal["clozes", "synthetic"]
    clozes: str
    n_prefixes: int = _field(_at_least_one, "must be >= 1")
    seed: int
    min_words: int | None = _field(_positive_int_or_null, "must be >= 1 (or null)")
    max_words: int | None = _field(_positive_int_or_null, "must be >= 1 (or null)")
    datasets: list[str] | None
    prompt_format: Literal["raw", "chat"]
    labeler: Literal["toy_world", "answers"] | None


@dataclass(frozen=True)
class ModelConfig:
    """The language model and its transcoders (stages 2, 3 and 7)."""

    name: str
    transcoders: str
    bos_stand_in: str | None
    dtype: Literal["auto", "float32", "bfloat16", "float16"]
    max_context: int | None = _field(_positive_int_or_null, "must be >= 1 (or null)")


@dataclass(frozen=True)
class VllmConfig:
    """Stage 2's vLLM engine (sampling.backend = vllm); speed and memory only."""

    gpu_memory_utilization: float = _field(_open_unit_interval_right, "must be in (0, 1]")
    max_model_len: int | None = _field(_positive_int_or_null, "must be >= 1 (or null)")
    tensor_parallel_size: int = _field(_at_least_one, "must be >= 1")
    enforce_eager: bool


@dataclass(frozen=True)
class SamplingConfig:
    """Stage 2: branch sampling (docs/method.md, "Stage 2")."""

    backend: Literal["auto", "hf", "vllm"]
    temperature: float = _field(_positive, "must be > 0")
    top_p: float = _field(_open_unit_interval_right, "must be in (0, 1]")
    max_new_tokens: int = _field(_at_least_one, "must be >= 1")
    batch_size: int = _field(_at_least_one, "must be >= 1")
    max_calls: int = _field(_at_least_one, "must be >= 1")
    patience: int = _field(_at_least_one, "must be >= 1")
    n: int = _field(_at_least_one, "must be >= 1")
    first_token_min_prob: float = _field(_unit_interval, "must be in [0, 1]")
    stop: list[str] = _field(lambda v: len(v) > 0, "must be a non-empty string")
    vllm: VllmConfig


@dataclass(frozen=True)
class AttributionConfig:
    """Stage 3: prefix -> continuation attribution (docs/method.md, "Stage 3")."""

    max_feature_nodes: int = _field(_at_least_one, "must be >= 1")
    span: Literal["full", "lcs_plus_one", "post_lcs"]
    pooling: Literal["surprisal", "mean", "sum", "max"]
    batch_size: int = _field(_at_least_one, "must be >= 1")


@dataclass(frozen=True)
class EmbeddingConfig:
    """Stage 4: the semantic view's sentence embedder (docs/method.md, "Stage 4")."""

    model: str
    batch_size: int = _field(_at_least_one, "must be >= 1")
    max_length: int | None = _field(_positive_int_or_null, "must be >= 1 (or null)")


@dataclass(frozen=True)
class CompatConfig:
    """Switches that reproduce the reference implementation (docs/method.md)."""

    reference_position_shift: bool


@dataclass(frozen=True)
class SyntheticConfig:
    """The planted two-view generator (hypotheses_experiment/generate_data.py)."""

    setting: Literal["easy", "crossed"]
    n_prefixes: int = _field(_at_least_one, "must be >= 1")
    n: int = _field(_at_least_one, "must be >= 1")
    d_e: int = _field(_at_least_one, "must be >= 1")
    d_a: int = _field(_at_least_one, "must be >= 1")


@dataclass(frozen=True)
class ClusteringConfig:
    """Stage 5: rate-distortion clustering (docs/method.md, "Stage 5")."""

    beta: float | list[float] | Literal["path"] = _field(
        _positive_or_path, "must be > 0 (or the string 'path')"
    )
    gamma: float | list[float] = _field(_unit_interval, "must be in [0, 1]")
    K_max: int = _field(_at_least_one, "must be >= 1")
    K_clamp: int = _field(_at_least_one, "must be >= 1")
    beta_max: float | None = _field(
        _finite_positive_or_null, "must be a finite number > 0 (or null)"
    )
    distortion_scale: Literal["sum", "per_dim"]
    semantic_center: Literal["mean", "spherical"]
    tol: float = _field(_positive, "must be > 0")
    max_iter: int = _field(_at_least_one, "must be >= 1")
    warm_start: bool
    beta_path: bool
    baselines: list[Literal["Single", "KM-S", "KM-A", "Co-Reg"]]


@dataclass(frozen=True)
class GraphsConfig:
    """Stage 6: semantic graphs of the motifs (docs/method.md, "Stage 6")."""

    top_features: int = _field(_at_least_one, "must be >= 1")
    examples: int = _field(_at_least_one, "must be >= 1")
    activation_examples: int = _field(_at_least_one, "must be >= 1")


def _nonzero(v: float) -> bool:
    return v != 0


@dataclass(frozen=True)
class ValidationConfig:
    """Stage 7: graph validation (7a) and steering validation (7c) (docs/method.md, "Stage 7")."""

    B: list[int] = _field(_at_least_one, "must be >= 1")
    epsilons: list[float] = _field(_nonzero, "must be non-zero (the unsteered pass is added)")
    selections: list[Literal["full", "positive", "negative"]]
    methods: list[Literal["RD", "KM-Sem", "Single", "random"]]
    max_members: int = _field(_at_least_one, "must be >= 1")
    seed: int
    batch_size: int = _field(_at_least_one, "must be >= 1")
    replacement_continuations: int = _field(_at_least_one, "must be >= 1")

    def __post_init__(self) -> None:
        """7c's slope and correlations of change vs eps need eps to vary."""
        if len(set(self.epsilons)) < 2:
            raise InputError("validation.epsilons: needs at least two distinct values")


@dataclass(frozen=True)
class VisualizationConfig:
    """Stage 8: plots and the HTML explorer (docs/method.md, "Stage 8")."""

    tsne_perplexity: float = _field(_positive, "must be > 0")
    seed: int
    max_examples: int = _field(_at_least_one, "must be >= 1")
    dpi: int = _field(_at_least_one, "must be >= 1")


def _non_negative(v: int) -> bool:
    return v >= 0


def _positive_or_null(v: float | None) -> bool:
    return v is None or v > 0


@dataclass(frozen=True)
class SlurmConfig:
    """The SLURM jobs of `run_pipeline.sh --slurm N` (docs/cluster.md); no stage reads it."""

    partition: str | None
    gpus_per_task: int = _field(_non_negative, "must be >= 0")
    cpus_per_task: int = _field(_at_least_one, "must be >= 1")
    mem_gb: float | None = _field(_positive_or_null, "must be > 0 (or null)")
    time_min: int = _field(_at_least_one, "must be >= 1")
    array_parallelism: int = _field(_at_least_one, "must be >= 1")
    setup: list[str]
    sbatch_options: list[str] = field(
        metadata={
            "check": lambda v: "=" in v and not v.startswith("-"),
            "rule": "must be KEY=VALUE without dashes, e.g. account=myproject",
        }
    )


@dataclass(frozen=True)
class Config:
    """The whole pipeline configuration."""

    run: RunConfig
    data: DataConfig
    model: ModelConfig
    sampling: SamplingConfig
    attribution: AttributionConfig
    embedding: EmbeddingConfig
    synthetic: SyntheticConfig
    clustering: ClusteringConfig
    graphs: GraphsConfig
    validation: ValidationConfig
    visualization: VisualizationConfig
    compat: CompatConfig
    slurm: SlurmConfig

    def section(self, name: str) -> Any:
        """One top-level section by name."""
        return getattr(self, name)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; values of `override` win, lists are replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_config_file(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read one JSON config and resolve its `extends` (relative to its own folder)."""
    path = path.resolve()
    if path in chain:
        raise InputError(f"{path}: 'extends' cycle: {' -> '.join(str(p) for p in (*chain, path))}")
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    if not isinstance(tree, dict):
        raise InputError(f"{path}: a config must be a JSON object")
    parent = tree.pop("extends", None)
    if parent is None:
        return tree
    if not isinstance(parent, str):
        raise InputError(f"{path}: 'extends' must be a path string, got {parent!r}")
    return deep_merge(_read_config_file(path.parent / parent, (*chain, path)), tree)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], value); value parsed as JSON, else kept as a string."""
    if "=" not in text:
        raise InputError(f"--set {text!r}: expected KEY=VALUE, e.g. clustering.beta=2.0")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set` overrides to a merged tree (key validity is checked later)."""
    for text in overrides:
        path, value = parse_override(text)
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set {text!r}: {part} is not a section")
        node[path[-1]] = value
    return tree


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted as floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key)
            except InputError as err:
                errors.append(str(err))
        raise InputError(f"{key}: {value!r} is not {_type_name(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise InputError(f"{key}: {value!r} is not one of {list(allowed)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"{key}: expected a list, got {value!r}")
        (inner,) = typing.get_args(tp)
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is type(None):
        if value is not None:
            raise InputError(f"{key}: expected null, got {value!r}")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InputError(f"{key}: expected a string, got {value!r}")
        return value
    if is_dataclass(tp):
        return build_section(tp, value, key)
    raise TypeError(f"unsupported config annotation {tp!r} at {key}")


def _unknown_key_error(key: str, name: str, known: list[str]) -> InputError:
    close = difflib.get_close_matches(name, known, n=1)
    prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
    hint = f"; did you mean {prefix}{close[0]}?" if close else f"; known keys: {sorted(known)}"
    return InputError(f"{key}: unknown key{hint}")


def build_section(cls: type, tree: Any, key: str) -> Any:
    """Validate a dict against dataclass `cls` (types, ranges, unknown and missing keys)."""
    if not isinstance(tree, dict):
        raise InputError(f"{key or 'config'}: expected an object, got {tree!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    for name in tree:
        if name.startswith("_"):
            if name[1:] not in names and name != "_doc":
                raise InputError(f"{key}.{name}: documents no key of {key or 'config'}")
            continue
        if name not in names:
            raise _unknown_key_error(f"{key}.{name}" if key else name, name, names)
    values = {}
    for f in fields(cls):
        path = f"{key}.{f.name}" if key else f.name
        if f.name not in tree:
            raise InputError(f"{path}: missing key (add it to {DEFAULT_CONFIG.name})")
        value = _coerce(tree[f.name], hints[f.name], path)
        if isinstance(value, list) and not value and f.metadata.get("non_empty"):
            raise InputError(f"{path}: the list is empty")
        check = f.metadata.get("check")
        if check is not None:
            for item in value if isinstance(value, list) else [value]:
                if not check(item):
                    raise InputError(f"{path}: {item!r} {f.metadata['rule']}")
        values[f.name] = value
    return cls(**values)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Merge default_config.json <- `path` (with its `extends`) <- `--set` overrides; validate."""
    tree = _read_config_file(DEFAULT_CONFIG)
    if path is not None:
        tree = deep_merge(tree, _read_config_file(Path(path)))
    tree = apply_overrides(tree, list(overrides or []))
    return build_section(Config, tree, "")


def to_dict(config: Any) -> Any:
    """The validated config as plain JSON data (for config.resolved.json and fingerprints)."""
    if is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in fields(config)}
    if isinstance(config, list | tuple):
        return [to_dict(v) for v in config]
    return config
