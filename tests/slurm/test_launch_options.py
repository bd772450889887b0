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
