"""The stage-2 script and stage: outputs, resume after a kill, shards, bad prefixes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from motif_discovery.sampling import stage
from motif_discovery.sampling.backend import vllm_available
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl
from tests.sampling.conftest import SMALL, cloze_rows, small_config, write_prefixes

REPO = Path(__file__).resolve().parents[2]
ROWS = cloze_rows()[:3]
OUT = stage.STAGE.name


def outputs(run_dir: Path) -> dict[str, bytes]:
    """Every file the stage wrote, by name, with its bytes."""
    return {p.name: p.read_bytes() for p in sorted((run_dir / OUT).iterdir())}


def units(run_dir: Path) -> dict[str, int]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return manifest["stages"][OUT]["units"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted, unsharded run over three toy clozes."""
    run_dir = tmp_path_factory.mktemp("reference")
    write_prefixes(run_dir, ROWS)
    stage.run(small_config(), run_dir)
    return run_dir


def test_outputs_of_every_prefix(reference):
    files = outputs(reference)
    assert sorted(files) == sorted(
        f"{row['prefix_id']}{ext}" for row in ROWS for ext in (".jsonl", ".summary.json")
    )
    for row in ROWS:
        records = read_jsonl(reference / OUT / f"{row['prefix_id']}.jsonl")
        summary = json.loads((reference / OUT / f"{row['prefix_id']}.summary.json").read_text())
        assert len(records) == summary["kept"] == min(40, summary["distinct"])
        assert summary["short"] == (summary["kept"] < 40)
        assert summary["calls"] <= 4 and summary["samples"] == 16 * summary["calls"]
        assert sum(r["multiplicity"] for r in records) <= summary["samples"]
        assert {r["backend"] for r in records} == {"hf"} and {r["seed"] for r in records} == {42}
    assert units(reference) == {"done": 3, "skipped": 0}


def test_rerun_skips_every_prefix(reference):
    before = outputs(reference)
    stage.run(small_config(), reference)
    assert units(reference) == {"done": 0, "skipped": 3}
    assert outputs(reference) == before


def test_killed_run_resumes_at_the_next_prefix(reference, tmp_path, monkeypatch):
    write_prefixes(tmp_path, ROWS)
    original = stage.branch_prefix
    started: list[str] = []

    def interrupt_second(models, context, config, prefix_id):
        started.append(prefix_id)
        if len(started) == 2:
            raise KeyboardInterrupt
        return original(models, context, config, prefix_id)

    monkeypatch.setattr(stage, "branch_prefix", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        stage.run(small_config(), tmp_path)
    first = ROWS[0]["prefix_id"]
    assert sorted(outputs(tmp_path)) == [f"{first}.jsonl", f"{first}.summary.json"]
    monkeypatch.undo()
    stage.run(small_config(), tmp_path)
    assert units(tmp_path) == {"done": 2, "skipped": 1}
    assert outputs(tmp_path) == outputs(reference)


def test_two_shards_equal_one_run(reference, tmp_path):
    write_prefixes(tmp_path, ROWS)
    stage.run(small_config(), tmp_path, shard="0/2")
    assert len(outputs(tmp_path)) == 4
    stage.run(small_config(), tmp_path, shard="1/2")
    assert outputs(tmp_path) == outputs(reference)


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "prefix is empty"), ("velkaria is famous for" + " and more" * 20, "exceed")],
)
def test_bad_prefix_is_named_before_any_output(tmp_path, text, message):
    bad = {"prefix_id": "bad-1", "text": text}
    write_prefixes(tmp_path, [ROWS[0], bad])
    with pytest.raises(InputError, match=message) as err:
        stage.run(small_config(), tmp_path)
    assert "bad-1" in str(err.value)
    assert not (tmp_path / OUT).exists() and not (tmp_path / ".done").exists()


def test_vllm_without_cuda_or_vllm_is_refused_before_any_output(tmp_path):
    if vllm_available():
        pytest.skip("CUDA and vLLM present")
    write_prefixes(tmp_path, ROWS[:1])
    with pytest.raises(InputError, match=r"sampling\.backend: 'vllm' needs CUDA and vLLM"):
        stage.run(small_config("sampling.backend=vllm"), tmp_path)
    assert not (tmp_path / OUT).exists() and not (tmp_path / "manifest.json").exists()


def test_script_exits_2_naming_the_prefix(tmp_path):
    write_prefixes(tmp_path, [{"prefix_id": "empty-7", "text": ""}])
    sets = [arg for s in SMALL for arg in ("--set", s)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "2_branch_sampling" / "sample_branches.py"),
            "--config",
            str(REPO / "configs" / "default_config.json"),
            "--run-dir",
            str(tmp_path),
            *sets,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "empty-7" in done.stderr and "empty" in done.stderr.splitlines()[-1]
    assert not (tmp_path / OUT).exists()


def test_short_prefix_keeps_all_and_logs_its_count(tmp_path):
    write_prefixes(tmp_path, ROWS[:1])
    stage.run(small_config("sampling.n=500", "sampling.max_calls=2"), tmp_path)
    prefix_id = ROWS[0]["prefix_id"]
    summary = json.loads((tmp_path / OUT / f"{prefix_id}.summary.json").read_text())
    records = read_jsonl(tmp_path / OUT / f"{prefix_id}.jsonl")
    assert summary["short"] and summary["kept"] == summary["distinct"] == len(records) < 500
    log = (tmp_path / "logs" / f"{OUT}.log").read_text()
    assert f"{prefix_id}: {len(records)} distinct continuations, fewer than sampling.n = 500" in log
