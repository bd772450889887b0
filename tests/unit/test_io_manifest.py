"""Atomic writes, done records and fingerprints: a killed stage never leaves a half file."""

import json

import pytest
import torch

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import (
    atomic_path,
    load_tensors,
    read_json,
    read_jsonl,
    save_tensors,
    write_json,
)
from motif_discovery.utils.manifest import DoneRecords, Manifest, fingerprint


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


def test_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(InputError, match=r"rows.jsonl:3: invalid JSON"):
        read_jsonl(path)
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"rows.jsonl:2: expected a JSON object"):
        read_jsonl(path)


def test_done_records_detect_changes(tmp_path):
    records = DoneRecords(tmp_path / "stage")
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


def test_manifest_merges_stage_entries(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.update_stage("5", status="running")
    manifest.update_stage("5", status="done", units=3)
    manifest.update_stage("4", status="done")
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["stages"]["5"]["status"] == "done" and data["stages"]["5"]["units"] == 3
    assert set(data["stages"]) == {"4", "5"}
