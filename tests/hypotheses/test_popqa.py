"""PopQA reading (published column format, errors with line numbers) and the plumbing of
run_popqa on the real toy model (stages 1-5, 2 questions)."""

import csv
import json
import re
from pathlib import Path

import pytest

from motif_discovery.embedding.features import load_features
from motif_discovery.hypotheses.experiments import run_popqa
from motif_discovery.hypotheses.popqa import COLUMNS, read_popqa
from motif_discovery.utils.errors import InputError
from tests.toy_run import REPO

FIXTURE = Path(__file__).parent / "fixtures" / "popqa_small.tsv"


def fixture_rows() -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in FIXTURE.read_text().splitlines(True)]


def test_reads_the_published_tsv():
    rows = read_popqa(FIXTURE)
    raw = fixture_rows()
    assert raw[0] == list(COLUMNS)
    assert len(rows) == len(raw) - 1
    first = rows[0]
    assert first["id"] == "popqa-4222362"
    assert first["text"] == "What is George Rankin's occupation?"
    assert first["answers"] == json.loads(raw[1][COLUMNS.index("possible_answers")])
    assert first["dataset"] == "popqa" and first["s_pop"] == 142 and first["o_pop"] == 25692


def test_reads_the_same_rows_from_csv(tmp_path):
    path = tmp_path / "popqa.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(fixture_rows())
    assert read_popqa(path) == read_popqa(FIXTURE)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("possible_answers", "politician", "line 3: column 'possible_answers'"),
        ("possible_answers", '["ok", 3]', "line 3: column 'possible_answers'"),
        ("question", "", "line 3: column 'question' is empty"),
        ("s_pop", "many", "line 3: column 's_pop' is not an integer"),
    ],
)
def test_bad_rows_name_their_line(tmp_path, column, value, message):
    raw = fixture_rows()
    raw[2][COLUMNS.index(column)] = value
    path = tmp_path / "popqa.tsv"
    path.write_text("".join("\t".join(r) + "\n" for r in raw))
    with pytest.raises(InputError, match=re.escape(message)):
        read_popqa(path)


def write_with(tmp_path, line: int, answers: str) -> Path:
    """The fixture with data row `line` (file line `line + 1`) given `answers`."""
    raw = fixture_rows()
    raw[line][COLUMNS.index("possible_answers")] = answers
    path = tmp_path / "popqa.tsv"
    path.write_text("".join("\t".join(r) + "\n" for r in raw))
    return path


def test_empty_aliases_are_dropped_and_reported(tmp_path, caplog):
    path = write_with(tmp_path, 2, '["", "politician", "  "]')
    rows = read_popqa(path)
    assert len(rows) == len(fixture_rows()) - 1
    assert rows[1]["answers"] == ["politician"]
    assert "line 3: column 'possible_answers': 2 empty alias(es) dropped" in caplog.text


@pytest.mark.parametrize("answers", ['[""]', "[]"])
def test_row_without_an_alias_is_skipped_and_reported(tmp_path, caplog, answers):
    path = write_with(tmp_path, 2, answers)
    rows = read_popqa(path)
    expected = [r for i, r in enumerate(read_popqa(FIXTURE)) if i != 1]
    assert rows == expected
    assert "1 row(s) without a non-empty alias in 'possible_answers' skipped (lines 3)" in (
        caplog.text
    )


def test_missing_column_is_named(tmp_path):
    raw = [r[:-1] for r in fixture_rows()]
    path = tmp_path / "popqa.tsv"
    path.write_text("".join("\t".join(r) + "\n" for r in raw))
    with pytest.raises(InputError, match="possible_answers"):
        read_popqa(path)


def words(text: str) -> str:
    """Independent normalization: lower case, letters and digits only, articles dropped."""
    kept = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return " " + " ".join(w for w in kept.split() if w not in {"a", "an", "the"}) + " "


def test_popqa_through_stages_1_to_5_on_the_toy_model(tmp_path, one_thread, monkeypatch):
    monkeypatch.chdir(REPO)
    run_dir = tmp_path / "run"
    small = [
        "sampling.n=8",
        "sampling.max_calls=2",
        "sampling.patience=1",
        "sampling.batch_size=8",
        'clustering.baselines=["Single","KM-S","KM-A"]',
    ]
    h1, h2, h3 = run_popqa(
        FIXTURE,
        str(REPO / "configs/toy_world.json"),
        run_dir,
        limit=2,
        seed=3,
        overrides=small,
        last=5,
    )
    prefixes = [json.loads(x) for x in (run_dir / "1_data_preparation/prefixes.jsonl").open()]
    assert len(prefixes) == 2 and all(p["dataset"] == "popqa" for p in prefixes)
    by_id = {r["id"]: r for r in read_popqa(FIXTURE)}
    for row in prefixes:
        assert row["answers"] == by_id[row["prefix_id"]]["answers"]
        features = load_features(run_dir / "4_feature_extraction", row["prefix_id"])
        names = features.label_names["correct"]
        got = [names[v] == "correct" for v in features.labels["correct"]]
        expected = [
            any(words(a).strip() and words(a) in words(t) for a in row["answers"])
            for t in features.texts
        ]
        assert got == expected
    assert h3 is None  # no stage 7c in this run
    assert (run_dir / "hypotheses/h1.json").is_file() and (run_dir / "hypotheses/h2.json").is_file()
    assert h2["prefixes"] == h1["prefixes"]
