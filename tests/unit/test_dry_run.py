"""`run_pipeline.sh --dry-run`: the plan of every config in configs/, printed without loading
any model (checked in a fresh interpreter: no torch, no file of a model directory but its
config.json); bad configs exit 2 naming the key; model sizes against a real parameter count
and the published one; the real-model configs against circuit-tracer's list of transcoders."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import textwrap

import pytest

from motif_discovery.pipeline import main, stage_list
from motif_discovery.plan.sizes import KNOWN
from motif_discovery.utils.config import load_config
from tests.toy_run import REPO

CONFIGS = sorted((REPO / "configs").glob("*.json"))
REAL = [REPO / "configs" / "Qwen3_8B_config.json", REPO / "configs" / "gemma3_4b_config.json"]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def plan_of(capsys, *args: str) -> dict:
    assert main([*args, "--dry-run", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_plans_every_stage(path, capsys):
    assert main(["--config", str(path), "--dry-run"]) == 0
    text = capsys.readouterr().out
    names = [s.name for s in stage_list(load_config(path))]
    for name in names:
        assert f" {name}:" in text
    plan = plan_of(capsys, "--config", str(path))
    assert [s["name"] for s in plan["stages"]] == names
    assert all(s["artifacts"] for s in plan["stages"])
    timed = [s for s in plan["stages"] if s["seconds_per_prefix"] is not None]
    for s in timed:
        assert s["seconds_total"] == pytest.approx(s["seconds_per_prefix"] * plan["n_prefixes"])
    assert plan["totals"]["seconds"] == pytest.approx(sum(s["seconds_total"] for s in timed))


def test_stage_selection_is_respected(capsys):
    config = str(REPO / "configs" / "toy_world.json")
    plan = plan_of(capsys, "--config", config, "--from", "3", "--to", "5")
    assert [s["number"] for s in plan["stages"]] == [3, 4, 5]
    plan = plan_of(capsys, "--config", config, "--only", "7")
    assert [s["name"] for s in plan["stages"]] == ["7a_graph_validation", "7c_steering"]


SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, sys
    opened = []
    sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
    from motif_discovery.pipeline import main
    for config in sys.argv[1:]:
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--config", config, "--dry-run"]) == 0, config
    heavy = [m for m in ("torch", "transformers", "vllm", "safetensors", "circuit_tracer")
             if m in sys.modules]
    print(json.dumps([heavy, opened]))
    """
)


def test_the_dry_run_loads_no_model():
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, CONFIGS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**env, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    heavy, opened = json.loads(result.stdout.strip().splitlines()[-1])
    assert heavy == []
    model_dir = (REPO / "data" / "toy_world" / "model").resolve()
    transcoders = (REPO / "data" / "toy_world" / "transcoders").resolve()
    read = {p for p in opened if p.startswith((str(model_dir), str(transcoders)))}
    assert read == {str(model_dir / "config.json"), str(transcoders / "transcoders.json")}


def test_a_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    default = REPO / "configs" / "default_config.json"
    bad.write_text(
        json.dumps({"extends": str(default), "sampling": {"vllm": {"gpu_memory_utilization": 1.5}}})
    )
    assert main(["--config", str(bad), "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert "sampling.vllm.gpu_memory_utilization: 1.5 must be in (0, 1]" in captured.err
    assert captured.out == ""
    real = str(REAL[0])
    assert main(["--config", real, "--dry-run", "--set", "model.dtpe=bfloat16"]) == 2
    assert "model.dtpe: unknown key; did you mean model.dtype?" in capsys.readouterr().err
    assert main(["--config", real, "--json"]) == 2
    assert "--json: only with --dry-run" in capsys.readouterr().err


def test_a_local_model_without_config_json_exits_2(tmp_path, capsys):
    toy = str(REPO / "configs" / "toy_world.json")
    setting = f"model.name={json.dumps(str(tmp_path))}"
    assert main(["--config", toy, "--dry-run", "--set", setting]) == 2
    assert f"model.name: {tmp_path} has no config.json" in capsys.readouterr().err


def test_the_toy_model_size_is_its_parameter_count(capsys):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(REPO / "data" / "toy_world" / "model")
    counted = sum(p.numel() for p in model.parameters())
    plan = plan_of(capsys, "--config", str(REPO / "configs" / "toy_world.json"))
    lm = plan["models"][0]
    assert lm["params"] == counted
    assert lm["dtype"] == "float32" and lm["memory_gb"] == pytest.approx(counted * 4 / 1e9)


def test_qwen3_8b_size_is_the_published_one(capsys):
    plan = plan_of(capsys, "--config", str(REAL[0]))
    lm = plan["models"][0]
    assert lm["params"] == KNOWN["Qwen/Qwen3-8B"].params
    assert lm["params"] == pytest.approx(8.2e9, rel=0.01)  # the model card's 8.2B
    assert lm["dtype"] == "bfloat16" and lm["memory_gb"] == pytest.approx(lm["params"] * 2 / 1e9)


def test_an_unknown_hub_id_has_unknown_size(capsys):
    real = str(REAL[0])
    args = ["--config", real, "--set", 'model.name="someone/unknown-7b"', "--dry-run"]
    assert main(args) == 0
    assert "someone/unknown-7b: unknown size" in capsys.readouterr().out
    plan = plan_of(capsys, *args[:-1])
    assert plan["models"][0]["params"] is None
    sampling = plan["stages"][1]
    assert sampling["name"] == "2_branch_sampling" and sampling["seconds_per_prefix"] is None


def circuit_tracer_readme() -> str:
    return importlib.metadata.metadata("circuit-tracer").get_payload()


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_configs_load_and_name_transcoders_circuit_tracer_lists(path):
    config = load_config(path)
    assert config.model.dtype == "bfloat16" and config.run.device == "cuda"
    assert config.sampling.backend == "vllm"
    assert config.embedding.model == "google/embeddinggemma-300m"
    readme = circuit_tracer_readme()
    assert importlib.metadata.version("circuit-tracer") == "0.5.0"
    if config.model.name == "Qwen/Qwen3-8B":
        # the README's table of supported transcoders links this repository for Qwen3-8B
        assert f"huggingface.co/{config.model.transcoders})" in readme
        assert config.model.bos_stand_in == "<|endoftext|>"
        assert config.data.prompt_format == "chat"
    else:
        # no named preset for Gemma 3 in 0.5.0: the README loads google/gemma-3-4b-pt and names
        # GemmaScope 2 sets by hub path, mwhanna/gemma-scope-2-<size>-pt/transcoder_all/<width>
        assert f'"{config.model.name}"' in readme
        example = re.search(r"mwhanna/gemma-scope-2-\d+b-pt/transcoder_all/width_\w+", readme)
        assert example is not None
        shape = r"mwhanna/gemma-scope-2-4b-pt/transcoder_all/width_\w+"
        assert re.fullmatch(shape, config.model.transcoders)
        assert config.model.bos_stand_in is None


def test_a_local_model_of_another_architecture_has_unknown_size(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    toy = str(REPO / "configs" / "toy_world.json")
    plan = plan_of(capsys, "--config", toy, "--set", f"model.name={json.dumps(str(tmp_path))}")
    lm = plan["models"][0]
    assert lm["params"] is None and lm["source"] == "unknown size (architecture 'gpt2')"


def test_a_transcoder_directory_without_its_sizes_exits_2(tmp_path, capsys):
    (tmp_path / "transcoders.json").write_text(json.dumps({"n_layers": 4}))
    toy = str(REPO / "configs" / "toy_world.json")
    setting = f"model.transcoders={json.dumps(str(tmp_path))}"
    assert main(["--config", toy, "--dry-run", "--set", setting]) == 2
    err = capsys.readouterr().err
    assert (
        f"model.transcoders: {tmp_path / 'transcoders.json'} has no ['d_model', 'd_transcoder']"
        in err
    )


def test_the_toy_world_figures_are_the_benchmarks():
    from motif_discovery.plan.estimates import TOY_SECONDS, TOY_WORK

    results = REPO / "benchmarks" / "results"
    bench = json.loads((results / "bench_pipeline_toy_world.json").read_text())
    measured = {
        name: seconds / 8
        for stage in bench["stages"].values()
        for name, seconds in stage["stage_s"].items()
    }
    assert pytest.approx(measured) == TOY_SECONDS
    work = json.loads((results / "plan_work_toy_world.json").read_text())
    assert work["prefixes"] == 8
    assert {key: work[key] for key in TOY_WORK} == TOY_WORK


def test_the_cpu_stage_figures_are_the_benchmark():
    from motif_discovery.plan import estimates

    bench = json.loads((REPO / "benchmarks" / "results" / "plan_cpu_stages.json").read_text())
    assert bench["threads"] == 1 and bench["setting"] == "realistic"
    assert bench["n"] == estimates.SYN_N
    assert bench["d_e"] + bench["d_a"] == estimates.SYN_DIMS
    assert bench["grid_configs"] + bench["beta_paths"] == estimates.SYN_RESULTS
    stages = bench["stages"]
    assert {name: stages[name]["per_prefix_cpu_s"] for name in stages} == estimates.SYN_SECONDS
    assert stages["8_visualization"]["tsne_per_prefix_cpu_s"] == estimates.SYN_TSNE


def stage_seconds(plan: dict) -> dict[str, float]:
    return {s["name"]: s["seconds_per_prefix"] for s in plan["stages"]}


def test_the_synthetic_plan_gives_the_measured_seconds(capsys):
    bench = json.loads((REPO / "benchmarks" / "results" / "plan_cpu_stages.json").read_text())
    plan = stage_seconds(plan_of(capsys, "--config", str(REPO / "configs" / "synthetic.json")))
    for name, measured in bench["stages"].items():
        assert plan[name] == pytest.approx(measured["per_prefix_cpu_s"])


def test_stage_5_scales_with_n_dims_and_results_stage_8_with_n_and_results(capsys):
    bench = json.loads((REPO / "benchmarks" / "results" / "plan_cpu_stages.json").read_text())
    t5 = bench["stages"]["5_gaussian_clustering"]["per_prefix_cpu_s"]
    t8 = bench["stages"]["8_visualization"]["per_prefix_cpu_s"]
    tsne = bench["stages"]["8_visualization"]["tsne_per_prefix_cpu_s"]
    synthetic = str(REPO / "configs" / "synthetic.json")
    # N x 2, d_a 8192 -> 17152 (d_e + d_a doubles), grid 4 x 5 -> 2 x 5 (results 25 -> 15);
    # both above the toy world's floor (its seconds x N / 500)
    args = ["--set", "synthetic.n=1000", "--set", "synthetic.d_a=17152"]
    args += ["--set", "clustering.beta=[0.5, 1.0]"]
    plan = stage_seconds(plan_of(capsys, "--config", synthetic, *args))
    assert plan["5_gaussian_clustering"] == pytest.approx(t5 * 2 * 2 * 15 / 25)
    assert plan["8_visualization"] == pytest.approx(tsne * 2 + (t8 - tsne) * 15 / 25)


def test_the_toy_world_seconds_are_the_floor_of_stages_5_and_8(capsys):
    from motif_discovery.plan.estimates import TOY_SECONDS

    plan = stage_seconds(plan_of(capsys, "--config", str(REPO / "configs" / "toy_world.json")))
    # 1 config + 1 path on d_e + d_a = 1300: the scaled terms fall below the toy world's own
    for name in ("5_gaussian_clustering", "8_visualization"):
        assert plan[name] == pytest.approx(TOY_SECONDS[name])
