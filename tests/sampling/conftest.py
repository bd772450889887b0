"""The toy model, small sampling settings and prefix files for the stage-2 tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from motif_discovery.model.context import max_context
from motif_discovery.model.loading import load_model, load_model_config, load_tokenizer
from motif_discovery.sampling.backend import backend_name
from motif_discovery.sampling.stage import Models
from motif_discovery.utils.config import Config, load_config
from motif_discovery.utils.io import read_jsonl

CLOZES = Path(__file__).resolve().parents[2] / "data" / "toy_world" / "clozes.jsonl"
SMALL = [
    "sampling.backend=hf",
    "sampling.batch_size=16",
    "sampling.max_calls=4",
    "sampling.n=40",
    "run.device=cpu",
]


def small_config(*overrides: str) -> Config:
    """Defaults with a small sampling budget (later overrides win)."""
    return load_config(None, [*SMALL, *overrides])


def cloze_rows() -> list[dict]:
    """{"prefix_id", "text"} of every toy cloze."""
    return [{"prefix_id": row["id"], "text": row["text"]} for row in read_jsonl(CLOZES)]


def write_prefixes(run_dir: Path, rows: list[dict]) -> None:
    """A run directory with 1_data_preparation/prefixes.jsonl holding `rows`."""
    path = run_dir / "1_data_preparation" / "prefixes.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def toy_models(config: Config) -> Models:
    """The stage's lazily loaded model and sampler for `config`."""
    tokenizer = load_tokenizer(config.model)
    limit = max_context(load_model_config(config.model), config.model)
    return Models(config, tokenizer, limit, backend_name(config.sampling.backend))


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs torch on one thread."""
    yield


@pytest.fixture(scope="module")
def toy():
    """(model, tokenizer) of the toy world, float32 on CPU."""
    torch.set_num_threads(1)
    config = small_config().model
    return load_model(config, torch.device("cpu")), load_tokenizer(config)
