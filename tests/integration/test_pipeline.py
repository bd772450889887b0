"""The driver and stage 5 end to end on small synthetic data: outputs, resume, errors."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from motif_discovery import pipeline
from motif_discovery.clustering import stage as stage5
from motif_discovery.data.synthetic import SyntheticParams
from motif_discovery.data.synthetic_run import write_synthetic_run
from motif_discovery.utils.config import load_config
from motif_discovery.utils.stage import stage_parser

REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "synthetic.n=160",
    "synthetic.d_e=32",
    "synthetic.d_a=256",
    "synthetic.n_prefixes=2",
    "clustering.beta=[0.75,1.25]",
    "clustering.gamma=[0.3,0.7]",
    'clustering.baselines=["Single","KM-S","KM-A"]',
]


def driver_command(run_dir: Path | str, *extra: str) -> list[str]:
    args = ["--config", str(REPO / "configs/synthetic.json"), "--run-dir", str(run_dir)]
    for item in SMALL:
        args += ["--set", item]
    return [sys.executable, "-m", "motif_discovery.pipeline", *args, *extra]


def drive(run_dir: Path | str, *extra: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(driver_command(run_dir, *extra), cwd=cwd, capture_output=True, text=True)


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    proc = drive(run_dir)
    assert proc.returncode == 0, proc.stderr
    return run_dir


def test_outputs_and_manifest(first_run):
    stage = manifest(first_run)["stages"]["5_gaussian_clustering"]
    assert stage["status"] == "done" and stage["units"] == {"done": 2, "skipped": 0}
    for prefix in ("synthetic_crossed_000", "synthetic_crossed_001"):
        out = first_run / "5_gaussian_clustering" / prefix
        summary = json.loads((out / "summary.json").read_text())
        assert len(summary["configs"]) == 4
        record = json.loads((out / "beta0.75_gamma0.3.json").read_text())
        assert record["K"] == len(set(record["assign"])) == len(record["prior"])
        assert abs(sum(record["prior"]) - 1) < 1e-6  # float32 run
        assert set(record["scores"]) == {"RD", "Single", "KM-S", "KM-A"}
        assert (out / "beta0.75_gamma0.3.safetensors").is_file()
    assert json.loads((first_run / "config.resolved.json").read_text())["synthetic"]["n"] == 160
    assert not list(first_run.rglob("*.tmp"))


def test_rerun_skips_and_config_edit_reruns(first_run):
    proc = drive(first_run, "--only", "5")
    assert proc.returncode == 0, proc.stderr
    assert manifest(first_run)["stages"]["5_gaussian_clustering"]["units"] == {
        "done": 0,
        "skipped": 2,
    }
    proc = drive(first_run, "--only", "5", "--set", "clustering.K_max=2")
    assert proc.returncode == 0, proc.stderr
    assert manifest(first_run)["stages"]["5_gaussian_clustering"]["units"] == {
        "done": 2,
        "skipped": 0,
    }
    record = json.loads(
        (
            first_run / "5_gaussian_clustering/synthetic_crossed_000/beta1.25_gamma0.3.json"
        ).read_text()
    )
    assert record["K"] <= 2
    proc = drive(first_run, "--only", "5", "--set", "clustering.gamma=[0.3]")
    assert proc.returncode == 0, proc.stderr
    out = first_run / "5_gaussian_clustering/synthetic_crossed_000"
    assert sorted(p.name for p in out.glob("beta*.json")) == [
        "beta0.75_gamma0.3.json",
        "beta1.25_gamma0.3.json",
        "beta_path_gamma0.3.json",
    ]  # the configs (and beta paths) of the larger grid are gone


def test_bad_config_stops_before_any_work(tmp_path):
    proc = drive(tmp_path / "run", "--set", "clustering.gama=0.5")
    assert proc.returncode == 2
    assert "clustering.gama: unknown key; did you mean clustering.gamma?" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_failing_stage_stops_the_driver(first_run, tmp_path):
    broken = tmp_path / "broken"
    (broken / "1_data_preparation").mkdir(parents=True)
    (broken / "1_data_preparation" / "prefixes.jsonl").write_text('{"prefix_id": "p0"}\n')
    proc = drive(broken, "--only", "5")
    assert proc.returncode == 2
    assert "pipeline stopped: stage 5" in proc.stderr
    assert "p0.json" in proc.stderr  # names the missing stage-4 file


def test_killed_stage_resumes(first_run, tmp_path, monkeypatch):
    """A stage that dies after its first prefix keeps that prefix and redoes only the rest."""
    run_dir = tmp_path / "kill"
    config = load_config(REPO / "configs/synthetic.json", SMALL)
    write_synthetic_run(
        run_dir, SyntheticParams(setting="crossed", n=160, d_e=32, d_a=256), n_prefixes=2
    )
    real = stage5.write_prefix
    calls = []

    def dying(out_dir, *args, **kwargs):
        calls.append(out_dir.name)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(out_dir, *args, **kwargs)

    monkeypatch.setattr(stage5, "write_prefix", dying)
    with pytest.raises(KeyboardInterrupt):
        stage5.run(config, run_dir)
    entry = manifest(run_dir)["stages"]["5_gaussian_clustering"]
    assert entry["status"] == "interrupted"
    assert entry["shards"]["0/1"]["error"] == "KeyboardInterrupt: killed"
    monkeypatch.setattr(stage5, "write_prefix", real)
    stage5.run(config, run_dir)
    assert manifest(run_dir)["stages"]["5_gaussian_clustering"]["units"] == {
        "done": 1,
        "skipped": 1,
    }


def test_driver_stage_selection():
    synthetic = pipeline.stage_list(load_config(REPO / "configs/synthetic.json"))
    assert [s.number for s in synthetic] == [4, 5, 8]  # no model: no stages 6-7
    assert [s.number for s in pipeline.select(synthetic, 5, None, None)] == [5, 8]
    assert [s.number for s in pipeline.select(synthetic, None, 4, None)] == [4]
    with pytest.raises(Exception, match="--only 9: no such stage"):
        pipeline.select(synthetic, None, None, 9)
    with pytest.raises(Exception, match="--from 6 --to 7: no such stage"):
        pipeline.select(synthetic, 6, 7, None)
    clozes = pipeline.stage_list(load_config(REPO / "configs/toy_world.json"))
    assert [s.number for s in clozes] == [1, 2, 3, 4, 5, 6, 7, 7, 8]
    assert [s.name for s in pipeline.select(clozes, None, None, 7)] == [
        "7a_graph_validation",
        "7c_steering",
    ]
    for stage in clozes + synthetic:
        assert (REPO / stage.script).is_file(), stage.script


def test_single_mode_writes_one_config(tmp_path):
    """Numbers for both beta and gamma run exactly one config."""
    run_dir = tmp_path / "single"
    write_synthetic_run(run_dir, SyntheticParams(setting="easy", n=160, d_e=32, d_a=256))
    config = load_config(
        REPO / "configs/synthetic.json",
        [
            *SMALL,
            "clustering.beta=1.0",
            "clustering.gamma=0.5",
            "clustering.baselines=[]",
            "clustering.beta_path=false",
        ],
    )
    stage5.run(config, run_dir)
    out = run_dir / "5_gaussian_clustering" / "synthetic_easy_000"
    assert sorted(p.name for p in out.iterdir()) == [
        "beta1.0_gamma0.5.json",
        "beta1.0_gamma0.5.safetensors",
        "summary.json",
    ]
    record = json.loads((out / "beta1.0_gamma0.5.json").read_text())
    assert record["scores"].keys() == {"RD"} and record["scores"]["RD"]["ARI_motif"] >= 0.9


def stage_outputs(run_dir: Path, stage: str) -> set[str]:
    folder = run_dir / stage
    return {p.relative_to(run_dir).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_shards_on_a_fresh_run_merge_in_the_manifest(tmp_path):
    """Each shard writes and clusters its own prefixes; the manifest lists both shards'."""
    run_dir = tmp_path / "sharded"
    proc = drive(run_dir, "--shard", "0/2")
    assert proc.returncode == 0, proc.stderr  # once exit 2: stage 5 checked every prefix
    entry = manifest(run_dir)["stages"]["5_gaussian_clustering"]
    assert entry["status"] == "partial" and entry["units"] == {"done": 1, "skipped": 0}
    proc = drive(run_dir, "--shard", "1/2")
    assert proc.returncode == 0, proc.stderr
    stages = manifest(run_dir)["stages"]
    entry = stages["5_gaussian_clustering"]
    assert entry["status"] == "done" and entry["units"] == {"done": 2, "skipped": 0}
    assert set(entry["outputs"]) == stage_outputs(run_dir, "5_gaussian_clustering")
    # per prefix: 4 configs and 2 beta paths (one per gamma) x 2 files, summary
    assert len(entry["outputs"]) == 2 * (2 * 4 + 2 * 2 + 1)
    assert set(stages["4_feature_extraction"]["outputs"]) == stage_outputs(
        run_dir, "4_feature_extraction"
    ) | {"1_data_preparation/prefixes.jsonl"}


def test_resume_however_the_run_dir_is_spelled_or_moved(tmp_path, monkeypatch):
    """A relative spelling and a moved copy skip every prefix; an interrupt while skipping
    cannot mark the intact run failed (once every prefix was recomputed)."""
    run_dir = tmp_path / "spelled"
    assert drive(run_dir).returncode == 0
    proc = drive(run_dir.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for stage in ("4_feature_extraction", "5_gaussian_clustering"):
        units = manifest(run_dir)["stages"][stage]["units"]
        assert units == {"done": 0, "skipped": 2}, stage
    moved = Path(shutil.move(run_dir, tmp_path / "moved"))
    config = load_config(REPO / "configs/synthetic.json", SMALL)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr(stage5, "write_prefix", interrupted)
    stage5.run(config, moved)
    entry = manifest(moved)["stages"]["5_gaussian_clustering"]
    assert entry["status"] == "done" and entry["units"] == {"done": 0, "skipped": 2}


def test_ctrl_c_prints_one_line_and_records_interrupted(tmp_path):
    """Ctrl-C (SIGINT to the driver and its stage, as a terminal sends it) mid-stage."""
    run_dir = tmp_path / "ctrl-c"
    command = driver_command(run_dir, "--set", "synthetic.n_prefixes=40")
    proc = subprocess.Popen(
        command, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    path = run_dir / "manifest.json"
    while proc.poll() is None:
        if path.is_file() and "5_gaussian_clustering" in path.read_text():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if "interrupt" in line.lower()] == [
        "pipeline interrupted in stage 5 (5_gaussian_clustering); rerun the same command to resume"
    ]
    entry = manifest(run_dir)["stages"]["5_gaussian_clustering"]
    assert entry["status"] == "interrupted" and entry["shards"]["0/1"]["error"]


def test_from_5_on_a_missing_run_dir_fails_once_and_writes_nothing(tmp_path):
    proc = drive(tmp_path / "missing", "--from", "5")
    assert proc.returncode == 2
    assert proc.stderr.count("does not exist") == 1, proc.stderr
    assert not (tmp_path / "missing").exists()


def test_driver_rejects_only_with_from(tmp_path):
    proc = drive(tmp_path / "run", "--only", "5", "--from", "4")
    assert proc.returncode == 2 and "do not combine it with --from/--to" in proc.stderr


def test_every_option_is_described():
    spec = importlib.util.spec_from_file_location(
        "generate_data", REPO / "hypotheses_experiment" / "generate_data.py"
    )
    generate_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate_data)
    for parser in (pipeline.parser(), stage_parser("stage"), generate_data.parser()):
        undescribed = [a.option_strings for a in parser._actions if not a.help]
        assert not undescribed, parser.prog
