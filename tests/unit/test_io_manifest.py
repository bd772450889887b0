"""Atomic writes, done records, fingerprints and the manifest: a killed stage never leaves a
half file, a moved run resumes, shards merge."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import (
    atomic_path,
    load_tensors,
    read_json,
    read_jsonl,
    save_tensors,
    sha256_file,
    write_json,
)
from motif_discovery.utils.manifest import (
    DoneRecords,
    Manifest,
    fingerprint,
    recorded_path,
    stage_status,
)
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Unit, shard_units


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("killed")
    assert read_json(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_nan_is_refused_before_writing(tmp_path):
    path = tmp_path / "x.json"
    with pytest.raises(ValueError):
        write_json(path, {"L": float("nan")})
    assert not path.exists()


def test_tensor_round_trip(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5)}
    save_tensors(tmp_path / "t.safetensors", tensors)
    back = load_tensors(tmp_path / "t.safetensors")
    assert torch.equal(back["a"], tensors["a"]) and torch.equal(back["b"], tensors["b"])
    with pytest.raises(InputError, match="file not found"):
        load_tensors(tmp_path / "none.safetensors")
    torn = tmp_path / "torn.safetensors"
    torn.write_bytes((tmp_path / "t.safetensors").read_bytes()[:-8])  # a truncated copy
    with pytest.raises(InputError, match=r"torn.safetensors: not a readable safetensors"):
        load_tensors(torn)


def test_undecodable_text_names_the_file(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.json: not UTF-8 text"):
        read_json(path)
    with pytest.raises(InputError, match=r"latin1.json: not UTF-8 text"):
        read_jsonl(path)


def test_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(InputError, match=r"rows.jsonl:3: invalid JSON"):
        read_jsonl(path)
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"rows.jsonl:2: expected a JSON object"):
        read_jsonl(path)


def test_done_records_detect_changes(tmp_path):
    records = DoneRecords(tmp_path, "stage")
    out = tmp_path / "stage" / "p1.json"
    write_json(out, {"x": 1})
    fp = fingerprint({"clustering.beta": 1.0}, "code", {"in": "abc"})
    records.mark_done("p1", fp, [out])
    assert records.is_done("p1", fp)
    assert not records.is_done("p2", fp)
    other = fingerprint({"clustering.beta": 2.0}, "code", {"in": "abc"})
    assert other != fp and not records.is_done("p1", other)
    assert fingerprint({"clustering.beta": 1.0}, "code", {"in": "abd"}) != fp
    record = records.dir / "p1.json"
    saved = record.read_text()
    record.write_text('{"fingerprint": ')  # a torn record is not "done"
    assert not records.is_done("p1", fp)
    record.write_text(saved)
    assert records.is_done("p1", fp)
    out.write_text('{"x": 2}\n')  # an output edited or corrupted after the fact
    assert not records.is_done("p1", fp)
    out.unlink()
    assert not records.is_done("p1", fp)


def test_done_records_survive_a_moved_or_respelled_run(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    out = run_dir / "stage" / "p1.json"
    write_json(out, {"x": 1})
    assert DoneRecords(run_dir, "stage").mark_done("p1", "fp", [out]) == {
        "stage/p1.json": sha256_file(out)
    }
    monkeypatch.chdir(tmp_path)
    assert DoneRecords(Path("run"), "stage").is_done("p1", "fp")  # relative spelling
    assert DoneRecords(Path("run/../run/"), "stage").is_done("p1", "fp")
    moved = shutil.move(run_dir, tmp_path / "elsewhere")
    assert DoneRecords(moved, "stage").is_done("p1", "fp")
    assert not DoneRecords(tmp_path / "empty", "stage").is_done("p1", "fp")


def test_recorded_path_is_relative_inside_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert recorded_path("run/a/b.json", tmp_path / "run") == "a/b.json"
    assert recorded_path(tmp_path / "run" / "c.json", "run") == "c.json"
    assert recorded_path(tmp_path / "outside.json", "run") == str(tmp_path / "outside.json")


def test_manifest_merges_shards(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.update_shard("5", "0/2", status="running", settings="s1")
    entry = manifest.update_shard(
        "5", "0/2", status="done", settings="s1", outputs={"a": "1"}, units={"done": 1}
    )
    assert entry["status"] == "partial" and entry["outputs"] == {"a": "1"}  # 1/2 not run yet
    manifest.update_shard("5", "1/2", status="running", settings="s1")
    assert manifest.read()["stages"]["5"]["status"] == "running"
    manifest.update_shard(
        "5", "1/2", status="done", settings="s1", outputs={"b": "2"}, units={"done": 1}
    )
    manifest.update_shard("4", "0/1", status="done", settings="t", outputs={"x": "3"})
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert set(data["stages"]) == {"4", "5"}
    entry = data["stages"]["5"]
    assert entry["status"] == "done" and entry["outputs"] == {"a": "1", "b": "2"}
    assert entry["units"] == {"done": 2} and set(entry["shards"]) == {"0/2", "1/2"}
    # another config (settings) or another shard count replaces the old shards
    entry = manifest.update_shard("5", "0/2", status="done", settings="s2", outputs={"c": "4"})
    assert entry["outputs"] == {"c": "4"} and entry["status"] == "partial"
    entry = manifest.update_shard("5", "0/1", status="done", settings="s2", outputs={"d": "5"})
    assert entry["outputs"] == {"d": "5"} and set(entry["shards"]) == {"0/1"}
    entry = manifest.update_shard("5", "0/1", status="running", settings="s3")
    assert entry["outputs"] == {}  # a new config's shard does not list the old outputs
    entry = manifest.update_shard("5", "0/1", status="interrupted", error="KeyboardInterrupt")
    assert entry["status"] == "interrupted" and entry["shards"]["0/1"]["settings"] == "s3"


@pytest.mark.parametrize(
    ("statuses", "count", "expected"),
    [
        (["done", "done"], 2, "done"),
        (["done"], 2, "partial"),
        (["done", "failed"], 2, "failed"),
        (["running", "interrupted"], 2, "interrupted"),
        (["running", "done"], 2, "running"),
    ],
)
def test_stage_status(statuses, count, expected):
    shards = {f"{i}/{count}": {"status": s} for i, s in enumerate(statuses)}
    assert stage_status(shards, count) == expected


def test_shard_units_selects_first_then_checks_inputs(tmp_path):
    present = tmp_path / "a.json"
    present.write_text("{}")
    units = [
        Unit(f"p{i}", (present,) if i % 2 == 0 else (tmp_path / f"p{i}.json",)) for i in range(4)
    ]
    assert [u.unit_id for u in shard_units(units, "0/2", "5")] == ["p0", "p2"]
    with pytest.raises(InputError, match=r"5: p1 needs .*p1\.json"):
        shard_units(units, "1/2", "5")
    with pytest.raises(InputError, match="duplicate unit ids"):
        shard_units([*units, units[0]], "0/2", "5")
    assert shard_ids(["b", "c", "a"], "1/2") == ["b"]
    with pytest.raises(InputError, match="need 0 <= i < N"):
        shard_ids(["a"], "2/2")
