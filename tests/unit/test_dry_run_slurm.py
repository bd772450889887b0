"""`--dry-run --slurm N`: the launcher's option check runs (a refused option exits 2 as it
would without --dry-run) and the plan shows the SLURM jobs, nothing submitted or written."""

from __future__ import annotations

import json

import pytest

from motif_discovery.pipeline import main
from motif_discovery.utils.shard import shard_ids
from tests.toy_run import REPO

TOY = str(REPO / "configs" / "toy_world.json")
QWEN = str(REPO / "configs" / "Qwen3_8B_config.json")


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slurm", "0"], "--slurm 0: the number of shards must be >= 1"),
        (["--slurm", "2", "--from", "2"], "do not combine it with --from/--to/--only"),
        (["--wait"], "use it with --slurm N"),
        (["--slurm", "2", "--set", "run.device=cuda"], "slurm.gpus_per_task: 0, but run.device"),
        (["--slurm", "2", "--set", "data.source=synthetic"], "--slurm runs cloze studies"),
    ],
)
def test_the_dry_run_checks_the_slurm_options(tmp_path, capsys, extra, message):
    run_dir = tmp_path / "run"
    assert main(["--config", TOY, "--run-dir", str(run_dir), "--dry-run", *extra]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
    assert not run_dir.exists()


def test_the_dry_run_shows_the_jobs_slurm_n_submits(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["--config", TOY, "--run-dir", str(run_dir), "--dry-run", "--slurm", "3"]
    assert main([*args, "--wait", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    jobs = plan["slurm"]["jobs"]
    assert [j["phase"] for j in jobs] == [
        "stage 1",
        "stages 2-4",
        "stages 5-6",
        "stages 7-8",
        "gather 7-8",
    ]
    assert [j["array_tasks"] for j in jobs] == [None, 3, 3, 3, None]
    assert [j["after"] for j in jobs] == [None, 1, 2, 3, 4]
    ids = [f"p{i:03d}" for i in range(plan["n_prefixes"])]
    most = max(len(shard_ids(ids, f"{i}/3")) for i in range(3))
    assert [j["prefixes_per_task"] for j in jobs[1:4]] == [most] * 3
    per_prefix = {}
    for stage in plan["stages"]:
        per_prefix[stage["number"]] = (
            per_prefix.get(stage["number"], 0.0) + (stage["seconds_per_prefix"])
        )
    for job, numbers in zip(jobs[1:4], ((2, 3, 4), (5, 6), (7, 8)), strict=True):
        expected = most * sum(per_prefix[n] for n in numbers)
        assert job["seconds_per_task"] == pytest.approx(expected)
    assert jobs[4]["seconds_per_task"] is None  # the gather only collects
    assert plan["slurm"]["wait"] is True
    assert plan["slurm"]["resources"]["gpus_per_task"] == 0
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "SLURM (--slurm 3, checked; nothing submitted): 5 jobs" in text
    assert "array of 3 tasks (--shard i/3)" in text
    assert not run_dir.exists()


def test_a_task_estimated_past_the_time_limit_is_a_warning(capsys):
    args = ["--config", QWEN, "--dry-run", "--slurm", "1", "--set", "slurm.time_min=1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "warning: stages 2-4:" in out and "exceeds slurm.time_min (1 min)" in out
    assert main([*args[:-2], "--set", "slurm.time_min=100000"]) == 0
    assert "exceeds slurm.time_min" not in capsys.readouterr().out
