"""The stage-3 script and stage: output files and their index, resume, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from motif_discovery.attribution import stage
from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import write_jsonl
from tests.attribution.conftest import COPY_PREFIX, TEXTS, TRANSCODER_DIR, context_ids, tokens

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[2]
PREFIXES = {
    "copy": (COPY_PREFIX, TEXTS),
    "famous": (
        "ormia enjoys mares . ormia is famous for",
        (" mares !", " mostly music .", " music ."),
    ),
}
OUT = stage.STAGE.name


def records(tok, prefix_id: str, texts) -> list[dict]:
    """Stage-2 rows (the fields stage 3 reads, plus a few of the others)."""
    return [
        {
            "continuation_id": f"{prefix_id}.{i:04d}",
            "prefix_id": prefix_id,
            "text": text,
            "token_ids": tokens(tok, text),
            "eos": False,
            "multiplicity": 1,
        }
        for i, text in enumerate(texts)
    ]


def make_run(run_dir: Path, tok, prefixes=PREFIXES) -> Path:
    rows = [{"prefix_id": pid, "text": text} for pid, (text, _) in prefixes.items()]
    write_jsonl(run_dir / "1_data_preparation" / "prefixes.jsonl", rows)
    for pid, (_, texts) in prefixes.items():
        write_jsonl(run_dir / "2_branch_sampling" / f"{pid}.jsonl", records(tok, pid, texts))
    return run_dir


def config(*overrides: str):
    base = [
        "run.device=cpu",
        "attribution.max_feature_nodes=64",
        "attribution.batch_size=4",
        "attribution.pooling=mean",
    ]
    return load_config(None, [*base, *overrides])


def units(run_dir: Path) -> dict[str, int]:
    return json.loads((run_dir / "manifest.json").read_text())["stages"][OUT]["units"]


def test_outputs_index_and_resume(tmp_path, real, replacement):
    _, tok = real
    run_dir = make_run(tmp_path, tok)
    cfg = config("attribution.span=post_lcs")
    stage.run(cfg, run_dir)
    for pid, (text, texts) in PREFIXES.items():
        tensors = load_file(run_dir / OUT / f"{pid}.safetensors")
        index = json.loads((run_dir / OUT / f"{pid}.json").read_text())
        context = context_ids(tok, text)
        conts = [tokens(tok, t) for t in texts]
        assert index["prefix_token_ids"] == context
        assert index["continuation_ids"] == [f"{pid}.{i:04d}" for i in range(len(texts))]
        assert (index["span"], index["pooling"], index["position_shift"]) == ("post_lcs", "mean", 0)
        sources = index["sources"]
        d_a = len(sources["kind"])
        assert tensors["a"].shape == (len(texts), d_a) and tensors["activations"].shape == (d_a,)
        assert sources["kind"].count("feature") == 64
        assert sources["kind"].count("token") == len(context)
        assert sources["kind"].count("error") == 4 * len(context)
        assert max(sources["position"]) == len(context) - 1
        tokens_at = [i for i, k in enumerate(sources["kind"]) if k == "token"]
        assert torch.equal(tensors["activations"][tokens_at], torch.ones(len(context)))
        expected = attribute_prefix(
            replacement, context, conts, AttributionSettings(64, span="post_lcs", batch_size=4)
        )
        torch.testing.assert_close(tensors["a"], expected.a, rtol=0, atol=1e-6)
        assert index["span_starts"] == expected.span_starts
    # ' mostly wood ...' shares ' mostly' with siblings: its post_lcs span starts at 1
    assert json.loads((run_dir / OUT / "copy.json").read_text())["span_starts"][0] == 1
    assert units(run_dir) == {"done": 2, "skipped": 0}
    stage.run(cfg, run_dir)
    assert units(run_dir) == {"done": 0, "skipped": 2}


def test_script_runs(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path, tok, {"copy": (COPY_PREFIX, TEXTS[:2])})
    script = REPO / "3_attribution_graphs" / "compute_continuation_attribution.py"
    args = [
        "--config",
        str(REPO / "configs" / "default_config.json"),
        "--run-dir",
        str(run_dir),
        "--set",
        "run.device=cpu",
        "--set",
        "attribution.pooling=max",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), *args], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((run_dir / OUT / "copy.json").read_text())["pooling"] == "max"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"token_ids": []}, "copy.0001: token_ids [] is empty"),
        ({"text": "  "}, "copy.0001: text '  ' is empty after strip"),
    ],
)
def test_bad_continuation_stops_before_any_work(tmp_path, real, edit, message):
    _, tok = real
    run_dir = make_run(tmp_path, tok)
    rows = records(tok, "copy", TEXTS)
    rows[1].update(edit)
    write_jsonl(run_dir / "2_branch_sampling" / "copy.jsonl", rows)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        stage.run(config(), run_dir)
    assert not (run_dir / OUT).exists() or not any((run_dir / OUT).iterdir())


def test_too_long_for_the_context(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path, tok)
    n = len(context_ids(tok, COPY_PREFIX)) + len(tokens(tok, TEXTS[0]))
    with pytest.raises(
        InputError, match=rf"prefix copy \(continuation copy.0000\): .* context of {n - 1}"
    ):
        stage.run(config(f"model.max_context={n - 1}"), run_dir)
    assert not (run_dir / OUT).exists() or not any((run_dir / OUT).iterdir())


def test_transcoders_of_other_weights(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path / "run", tok)
    other = tmp_path / "transcoders"
    shutil.copytree(TRANSCODER_DIR, other)
    meta = json.loads((other / "transcoders.json").read_text())
    meta["model_sha256"] = "0" * 64
    (other / "transcoders.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="trained on other model weights"):
        stage.run(config(f"model.transcoders={other}"), run_dir)
    assert not any((run_dir / OUT).glob("*.safetensors"))


def test_changed_transcoders_rerun(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path / "run", tok)
    copy = tmp_path / "transcoders"
    shutil.copytree(TRANSCODER_DIR, copy)
    cfg = config(f"model.transcoders={copy}")
    stage.run(cfg, run_dir)
    stage.run(cfg, run_dir)
    assert units(run_dir) == {"done": 0, "skipped": 2}
    meta = json.loads((copy / "transcoders.json").read_text())
    meta["retrained"] = True
    (copy / "transcoders.json").write_text(json.dumps(meta))
    stage.run(cfg, run_dir)
    assert units(run_dir) == {"done": 2, "skipped": 0}


def logprob_records(model, tok, prefix_id: str, prefix: str, texts) -> list[dict]:
    """records() with token_logprobs from a plain forward pass of each sequence alone."""
    rows = records(tok, prefix_id, texts)
    context = context_ids(tok, prefix)
    for row in rows:
        seq = torch.tensor([[*context, *row["token_ids"]]])
        with torch.no_grad():
            logp = model(input_ids=seq).logits[0].double().log_softmax(-1)
        positions = range(len(context) - 1, seq.shape[1] - 1)
        row["token_logprobs"] = [float(logp[i, seq[0, i + 1]]) for i in positions]
    return rows


def test_surprisal_pooling_weights_each_token_by_its_surprisal(tmp_path, real, replacement):
    """The default pooling: a_n = sum_j w_j A(. -> target_j), w_j = s_j / sum_i s_i with
    s_j = -token_logprobs[j], checked against one backward pass per token."""
    model, tok = real
    write_jsonl(
        tmp_path / "1_data_preparation" / "prefixes.jsonl",
        [{"prefix_id": "copy", "text": COPY_PREFIX}],
    )
    rows = logprob_records(model, tok, "copy", COPY_PREFIX, TEXTS)
    write_jsonl(tmp_path / "2_branch_sampling" / "copy.jsonl", rows)
    stage.run(config("attribution.pooling=surprisal"), tmp_path)
    pooled = load_file(tmp_path / OUT / "copy.safetensors")["a"]
    context = context_ids(tok, COPY_PREFIX)
    for n, row in enumerate(rows):
        cont = row["token_ids"]
        per_token = attribute_prefix(
            replacement,
            context,
            [cont[: j + 1] for j in range(len(cont))],
            AttributionSettings(64, pooling="sum", span="full", batch_size=4),
        )
        # row j of per_token.a (sum over targets 0..j) minus row j-1 is target j alone
        alone = torch.diff(per_token.a, dim=0, prepend=torch.zeros(1, per_token.a.shape[1]))
        s = -torch.tensor(row["token_logprobs"], dtype=torch.float64)
        expected = ((s / s.sum()).float()[:, None] * alone).sum(0)
        torch.testing.assert_close(pooled[n], expected, rtol=0, atol=1e-5)
    mean = attribute_prefix(
        replacement, context, [r["token_ids"] for r in rows], AttributionSettings(64)
    )
    assert not torch.allclose(pooled, mean.a, atol=1e-3)  # the weights matter


def test_surprisal_pooling_needs_token_logprobs(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path, tok)
    with pytest.raises(
        InputError, match=r"copy.jsonl: prefix copy: attribution.pooling 'surprisal' needs"
    ):
        stage.run(config("attribution.pooling=surprisal"), run_dir)
    assert not (run_dir / OUT).exists()


def test_the_index_names_its_stage_2_file_and_a_changed_context_is_refused(tmp_path, real):
    _, tok = real
    run_dir = make_run(tmp_path, tok)
    stage.run(config(), run_dir)
    samples = run_dir / "2_branch_sampling" / "copy.jsonl"
    index = json.loads((run_dir / OUT / "copy.json").read_text())
    assert index["samples_sha256"] == hashlib.sha256(samples.read_bytes()).hexdigest()
    # stage 2 sampled after another context (e.g. before data.prompt_format changed)
    summary = samples.with_suffix(".summary.json")
    summary.write_text(json.dumps({"prefix_token_ids": [1, *context_ids(tok, COPY_PREFIX)]}))
    with pytest.raises(
        InputError, match=r"copy.summary.json: prefix copy was sampled after another token context"
    ):
        stage.run(config(), run_dir, force=True)
