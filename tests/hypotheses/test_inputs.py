"""Bad or partial runs: one InputError naming the file, and run_all skipping what a run
cannot support (no 7c output: H3; no correctness labels: H2)."""

import json
import shutil

import pytest

from motif_discovery.hypotheses import causal, detection
from motif_discovery.hypotheses.experiments import run_all
from motif_discovery.utils.errors import InputError


@pytest.fixture
def stage5_copy(toy_stage5_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(toy_stage5_run, run_dir)
    return run_dir


def test_h3_without_7c_names_the_folder(stage5_copy, one_thread):
    with pytest.raises(InputError, match="7_validation/7c: no stage 7c output"):
        causal.run(stage5_copy)


def test_run_all_skips_h3_without_7c(stage5_copy, one_thread):
    _, h2, h3 = run_all(stage5_copy)
    assert h3 is None and h2 is not None
    assert not (stage5_copy / "hypotheses/h3.json").exists()


def test_h2_without_labels_is_an_input_error_and_run_all_skips_it(stage5_copy, one_thread):
    path = stage5_copy / "config.resolved.json"
    tree = json.loads(path.read_text())
    tree["data"]["labeler"] = None
    path.write_text(json.dumps(tree))
    with pytest.raises(InputError, match="no correctness"):
        detection.run(stage5_copy)
    assert run_all(stage5_copy)[1] is None


def test_missing_run_config_is_named(tmp_path):
    with pytest.raises(InputError, match=r"config\.resolved\.json: missing"):
        detection.run(tmp_path)


def test_missing_baseline_is_named(stage5_copy, one_thread):
    for path in (stage5_copy / "5_gaussian_clustering").glob("*/beta*_gamma*.json"):
        if path.name.startswith("beta_path"):
            continue
        record = json.loads(path.read_text())
        record["baseline_assign"].pop("KM-A")
        path.write_text(json.dumps(record))
    with pytest.raises(InputError, match=r"baseline_assign lacks \['KM-A'\]"):
        detection.run(stage5_copy)
