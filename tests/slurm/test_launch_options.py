"""What `run_pipeline.sh --slurm N` refuses before submitting anything, and the driver
command each phase's jobs run."""

from __future__ import annotations

import pytest

from motif_discovery.launch.slurm import GATHER, PHASES, driver_command
from motif_discovery.pipeline import main, parser
from tests.toy_run import REPO

CONFIG = str(REPO / "configs" / "toy_world.json")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slurm", "0"], "--slurm 0: the number of shards must be >= 1"),
        (["--slurm", "2", "--only", "5"], "do not combine it with --from/--to/--only"),
        (["--slurm", "2", "--from", "2"], "do not combine it with --from/--to/--only"),
        (["--slurm", "2", "--shard", "0/2"], "do not combine it with --shard"),
        (["--wait"], "use it with --slurm N"),
        (["--slurm", "2", "--set", "slurm.cpus_per_task=0"], "slurm.cpus_per_task: 0 must be"),
        (["--slurm", "2", "--set", 'slurm.sbatch_options=["--qos=high"]'], "KEY=VALUE"),
        (["--slurm", "2", "--set", "data.source=synthetic"], "--slurm runs cloze studies"),
    ],
)
def test_refused_before_any_job(tmp_path, capsys, extra, message):
    run_dir = tmp_path / "run"
    assert main(["--config", CONFIG, "--run-dir", str(run_dir), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()  # nothing submitted, nothing written


def test_phase_commands(tmp_path):
    args = parser().parse_args(
        ["--config", "configs/toy_world.json", "--set", "data.n_prefixes=2", "--force"]
    )
    commands = {phase.name: driver_command(args, tmp_path, phase) for phase in PHASES}
    for phase in PHASES:
        command = commands[phase.name]
        assert command[command.index("--config") + 1] == CONFIG  # absolute: jobs may cd
        assert command[command.index("--run-dir") + 1] == str(tmp_path)
        assert command[command.index("--set") + 1] == "data.n_prefixes=2"
        assert ("--force" in command) == (phase is not GATHER)
    selections = [c[c.index("--set") + 2 :] for c in commands.values()]
    assert selections == [
        ["--force", "--only", "1"],
        ["--force", "--from", "2", "--to", "4"],
        ["--force", "--from", "5", "--to", "6"],
        ["--force", "--from", "7"],
        ["--from", "7"],
    ]
    assert [phase.sharded for phase in PHASES] == [False, True, True, True, False]


FAKE_SBATCH = """#!/usr/bin/env bash
# stands in for sbatch: job ids 101, 102, ... (--parsable: "id;cluster"), refuses call $REFUSE
calls=$(( $(cat "$LOG_DIR/calls" 2>/dev/null || echo 0) + 1 ))
echo "$calls" > "$LOG_DIR/calls"
echo "$*" >> "$LOG_DIR/sbatch"
if [ "$calls" = "$REFUSE" ]; then
  echo "sbatch: error: invalid partition specified: nope" >&2
  exit 1
fi
echo "$((100 + calls));test"
"""
FAKE_SCANCEL = """#!/usr/bin/env bash
echo "$*" >> "$LOG_DIR/scancel"
"""


def run_submit_sh(tmp_path, refuse: int):
    """scripts/slurm/submit.sh 2 with sbatch and scancel stood in for (no cluster)."""
    import os
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LOG_DIR": str(tmp_path),
        "REFUSE": str(refuse),
    }
    command = [str(REPO / "scripts/slurm/submit.sh"), "2", "--partition=nope", "--"]
    command += ["--config", CONFIG, "--run-dir", str(tmp_path / "run")]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)


def test_submit_sh_chains_the_five_jobs(tmp_path):
    proc = run_submit_sh(tmp_path, refuse=0)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["101", "102", "103", "104", "105"]
    calls = (tmp_path / "sbatch").read_text().splitlines()
    assert "--dependency" not in calls[0]
    for k in range(1, 5):
        assert f"--dependency=afterok:{100 + k} --kill-on-invalid-dep=yes" in calls[k]
    assert not (tmp_path / "scancel").exists()


@pytest.mark.parametrize("refuse", [1, 3, 5])
def test_submit_sh_cancels_what_it_submitted_when_sbatch_refuses_a_job(tmp_path, refuse):
    proc = run_submit_sh(tmp_path, refuse=refuse)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "invalid partition" in proc.stderr
    before = [str(100 + k) for k in range(1, refuse)]
    if before:
        assert (tmp_path / "scancel").read_text().split() == before
        assert f"cancelling the jobs submitted before it: {' '.join(before)}" in proc.stderr
    else:
        assert not (tmp_path / "scancel").exists()


@pytest.mark.parametrize("path", ["Qwen3_8B_config.json", "gemma3_4b_config.json"])
def test_the_real_model_configs_ask_slurm_for_a_gpu(path):
    from motif_discovery.utils.config import load_config

    config = load_config(REPO / "configs" / path, [])
    assert config.run.device == "cuda"
    assert config.slurm.gpus_per_task == 1


def test_a_cuda_run_without_gpus_is_refused_before_any_job(tmp_path, capsys):
    run_dir = tmp_path / "run"
    extra = ["--set", "run.device=cuda", "--set", "slurm.gpus_per_task=0"]
    assert main(["--config", CONFIG, "--run-dir", str(run_dir), "--slurm", "2", *extra]) == 2
    err = capsys.readouterr().err
    assert "slurm.gpus_per_task: 0, but run.device is 'cuda': the jobs would get no GPU" in err
    assert not run_dir.exists()
