"""Stage 1 for one run directory: select the prefixes, check them, write prefixes.jsonl.

The cloze file `data.clozes` (format: data/clozes.py) is read and filtered, and
data.n_prefixes of its clozes are drawn with data.seed. Before anything is written, every
selected prefix is checked: its text is not empty after stripping, and its token context
(model/context.prefix_ids with data.prompt_format; only the tokenizer is loaded) plus
sampling.max_new_tokens fits the model's context (model.max_context, else the model
config's max_position_embeddings). The stage is one unit, "prefixes", whatever the shard:
every shard of the later stages needs the whole list. `prefixes.jsonl` is rewritten only
when its rows change.
"""

from __future__ import annotations

from pathlib import Path

from motif_discovery.data.clozes import Cloze, read_clozes, select
from motif_discovery.data.prefixes import PREFIXES_FILE
from motif_discovery.model.context import checked_context, max_context
from motif_discovery.model.loading import load_model_config, load_tokenizer
from motif_discovery.model.paths import local_path
from motif_discovery.utils.config import Config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl, write_jsonl
from motif_discovery.utils.stage import Stage, Unit, run_stage

STAGE = Stage(
    name="1_data_preparation",
    config_keys=(
        "data",
        "model.name",
        "model.bos_stand_in",
        "model.max_context",
        "sampling.max_new_tokens",
    ),
    code=("data/clozes.py", "data/preparation.py", "model/context.py", "utils/io.py"),
)
UNIT = "prefixes"


def clozes_path(config: Config) -> Path:
    """The cloze file data.clozes names (the current directory, else the repository root)."""
    path = local_path(config.data.clozes)
    if path is None or not path.is_file():
        raise InputError(f"data.clozes: no cloze file {config.data.clozes!r}")
    return path


def check_prefixes(path: Path, clozes: list[Cloze], config: Config) -> None:
    """Each prefix is not empty and its context + max_new_tokens fits the model's context."""
    for cloze in clozes:
        if not cloze.text.strip():
            raise InputError(f"{path}:{cloze.line}: prefix {cloze.prefix_id}: text is empty")
    tokenizer = load_tokenizer(config.model)
    limit = max_context(load_model_config(config.model), config.model)
    for cloze in clozes:
        checked_context(
            tokenizer,
            cloze.prefix_id,
            cloze.text,
            config.model,
            config.data.prompt_format,
            config.sampling.max_new_tokens,
            limit,
            where=f"{path}:{cloze.line}",
        )


def selected_prefixes(path: Path, config: Config) -> list[Cloze]:
    """The checked selection from the cloze file `path`; none selected is an error."""
    data = config.data
    chosen = select(
        read_clozes(path), data.n_prefixes, data.seed, data.min_words, data.max_words, data.datasets
    )
    if not chosen:
        raise InputError(
            f"{path}: no cloze passes the filters data.min_words={data.min_words}, "
            f"data.max_words={data.max_words}, data.datasets={data.datasets}"
        )
    check_prefixes(path, chosen, config)
    return chosen


def write_prefixes(run_dir: Path, rows: list[dict]) -> Path:
    """Write prefixes.jsonl unless it already holds exactly `rows`; returns its path."""
    path = run_dir / PREFIXES_FILE
    if not path.is_file() or read_jsonl(path) != rows:
        write_jsonl(path, rows)
    return path


def run(config: Config, run_dir: Path, *, force: bool = False) -> None:
    """Stage 1: select, check and write the prefixes (skipped when nothing changed)."""
    path = clozes_path(config)

    def process(unit_id: str) -> list[Path]:
        rows = [cloze.row() for cloze in selected_prefixes(path, config)]
        return [write_prefixes(run_dir, rows)]

    run_stage(STAGE, config, run_dir, [Unit(UNIT, (path,))], process, force=force)
