"""Stage 1: cloze files, the seeded selection and prefixes.jsonl (checks, resume)."""

import hashlib
import json
import random

import pytest

from motif_discovery.data.clozes import read_clozes, safe_id, select
from motif_discovery.data.prefixes import PREFIX_ID, PREFIXES_FILE, load_prefixes
from motif_discovery.data.preparation import run
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError

COUNTRIES = ["velkaria", "ormia", "tessary", "quorland", "zembia"]


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def toy_rows(n):
    """n clozes of the toy language (words the toy tokenizer knows), 3 to 3 + n % 7 words."""
    rows = []
    for i in range(n):
        country = COUNTRIES[i % len(COUNTRIES)]
        text = " ".join([f"{country} borders ormia ."] * (i % 3) + [f"{country} is famous for"])
        rows.append({"id": f"c{i:03d}", "text": text, "dataset": "ab"[i % 2], "k": i})
    return rows


def config_for(clozes, *sets):
    return load_config(None, [f"data.clozes={clozes}", *sets])


def test_rows_ids_and_extra_keys(tmp_path):
    path = write_lines(
        tmp_path / "c.jsonl",
        [
            {"id": "q 1/a", "text": "velkaria is famous for", "dataset": "x", "gold": [1]},
            "",
            {"text": "ormia is famous for"},
            {"id": "..hidden", "text": "zembia is famous for"},
        ],
    )
    clozes = read_clozes(path)
    assert [c.line for c in clozes] == [1, 3, 4]
    assert clozes[0].prefix_id == "q_1_a"
    assert clozes[0].row() == {
        "prefix_id": "q_1_a",
        "text": "velkaria is famous for",
        "id": "q 1/a",
        "dataset": "x",
        "gold": [1],
    }
    digest = hashlib.sha256(b"ormia is famous for").hexdigest()[:12]
    assert clozes[1].prefix_id == f"cloze-{digest}"  # stable: a hash of the text
    assert clozes[2].prefix_id == "_..hidden"  # never a hidden file or '..'
    assert all(PREFIX_ID.match(c.prefix_id) for c in clozes)
    long_id = safe_id("x" * 300)
    assert len(long_id) <= 120 and long_id != safe_id("x" * 299)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{"text": "a", ', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"id": "a"}, "'text' must be a string"),
        ({"text": 3}, "'text' must be a string"),
        ({"text": "a", "id": 7}, "'id' must be a non-empty string"),
        ({"text": "a", "id": ""}, "'id' must be a non-empty string"),
        ({"text": "a", "dataset": None}, "'dataset' must be a non-empty string"),
        ({"text": "a", "prefix_id": "p"}, "'prefix_id' is reserved"),
        ({"text": "b", "id": "first_x"}, "repeats line 2"),
        ({"text": "b", "id": "first x"}, "repeats line 2"),  # the same once made safe
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    path = write_lines(tmp_path / "c.jsonl", ["", {"text": "a", "id": "first_x"}, row])
    with pytest.raises(InputError, match=message) as err:
        read_clozes(path)
    assert f"{path}:3" in str(err.value)


def test_selection_is_the_seeded_sample_in_file_order(tmp_path):
    clozes = read_clozes(write_lines(tmp_path / "c.jsonl", toy_rows(40)))
    chosen = select(clozes, 10, seed=42)
    expected = random.Random(42).sample(clozes, 10)  # what the reference draws
    assert [c.prefix_id for c in chosen] == sorted(c.prefix_id for c in expected)
    assert select(clozes, 10, seed=42) == chosen
    assert select(clozes, 10, seed=43) != chosen
    assert select(clozes, 100, seed=42) == clozes  # all when fewer


def test_filters(tmp_path):
    clozes = read_clozes(write_lines(tmp_path / "c.jsonl", toy_rows(30)))
    kept = select(clozes, 100, seed=0, min_words=5, max_words=9, datasets=["b"])
    brute = [c for c in clozes if 5 <= len(c.text.split()) <= 9 and c.extra["dataset"] == "b"]
    assert kept == brute and 0 < len(kept) < 15
    assert select(clozes, 3, seed=0, datasets=["none"]) == []


def test_stage_writes_checks_and_skips(tmp_path):
    clozes = write_lines(tmp_path / "c.jsonl", toy_rows(12))
    run_dir = tmp_path / "run"
    config = config_for(clozes, "data.n_prefixes=5")
    run(config, run_dir)
    rows = load_prefixes(run_dir)
    chosen = select(read_clozes(clozes), 5, seed=42)
    assert rows == [c.row() for c in chosen]
    out = run_dir / PREFIXES_FILE
    stamp = out.stat().st_mtime_ns
    run(config, run_dir)  # unchanged: skipped
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert manifest["1_data_preparation"]["units"] == {"done": 0, "skipped": 1}
    run(config, run_dir, force=True)  # forced, same rows: not rewritten
    assert out.stat().st_mtime_ns == stamp
    run(config_for(clozes, "data.n_prefixes=5", "data.seed=1"), run_dir)
    assert load_prefixes(run_dir) == [c.row() for c in select(read_clozes(clozes), 5, seed=1)]


def test_too_long_prefix_is_named_and_nothing_written(tmp_path):
    """The toy model's context is 64 tokens: 1 BOS + 44 words + 20 new tokens > 64; with 19
    new tokens it fits (the limit is exact)."""
    rows = [*toy_rows(4), {"id": "long", "text": " ".join(["ormia"] * 41 + ["is famous for"])}]
    clozes = write_lines(tmp_path / "c.jsonl", rows)
    run_dir = tmp_path / "run"
    with pytest.raises(InputError, match=r"prefix long: 45 tokens \+ 20 new tokens") as err:
        run(config_for(clozes), run_dir)
    assert f"{clozes}:5" in str(err.value)
    assert not (run_dir / PREFIXES_FILE).exists()
    run(config_for(clozes, "sampling.max_new_tokens=19"), run_dir)  # 45 + 19 fits
    assert len(load_prefixes(run_dir)) == 5


def test_empty_prefix_and_empty_selection(tmp_path):
    clozes = write_lines(tmp_path / "c.jsonl", [*toy_rows(3), {"id": "blank", "text": "  \n"}])
    with pytest.raises(InputError, match="prefix blank: text is empty") as err:
        run(config_for(clozes), tmp_path / "run")
    assert f"{clozes}:4" in str(err.value)
    assert not (tmp_path / "run" / PREFIXES_FILE).exists()
    with pytest.raises(InputError, match="no cloze passes the filters"):
        run(config_for(clozes, "data.min_words=50"), tmp_path / "run")


@pytest.mark.parametrize("bad", [".", "..", "a/b", ""])
def test_prefix_list_refuses_unsafe_ids(tmp_path, bad):
    path = tmp_path / PREFIXES_FILE
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps({"prefix_id": "ok.1", "text": "x"})
        + "\n"
        + json.dumps({"prefix_id": bad, "text": "y"})
        + "\n"
    )
    with pytest.raises(InputError, match=r"row 2: prefix_id .* is not a safe id"):
        load_prefixes(tmp_path)
