"""0_preprocess/improve_clozes.py: cleaned rows, the per-row report, malformed files."""

import json
import re

import pytest

from motif_discovery.data.clozes import read_clozes, text_id
from tests.preprocess.scripts import FIXTURES, run_script

RAW = FIXTURES / "raw_clozes.jsonl"
GOLD = "The chemical symbol for gold is"


def improve(tmp_path, *options):
    out = tmp_path / "clean.jsonl"
    code = run_script("improve_clozes", str(RAW), str(out), *options)
    return code, out, tmp_path / "clean.report.json"


def test_rows_and_report(tmp_path):
    code, out, report_path = improve(tmp_path, "--min-words", "3", "--max-words", "12")
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [
        {"id": "ok", "text": "The capital of France is", "answer": "Paris", "dataset": "geo"},
        {
            "id": "spaces",
            "text": "The largest planet of the solar system, by mass, is",
            "answers": ["Jupiter"],
            "dataset": "astro",
        },
        {"id": "substring", "text": "The Parisian metro opened in the year", "answer": "Paris"},
        {"id": text_id(GOLD), "text": GOLD, "answers": ["Au"], "source": "quiz", "k": 3},
    ]
    report = json.loads(report_path.read_text())
    dropped = {d["line"]: (d["id"], d["reason"]) for d in report["dropped"]}
    assert dropped == {
        3: ("answered", "states_answer"),
        6: ("short", "too_short"),
        7: ("long", "too_long"),
        8: ("dup", "duplicate"),
        9: (text_id("   "), "empty"),
        11: (text_id(GOLD), "duplicate"),
    }
    details = {d["line"]: d["detail"] for d in report["dropped"]}
    assert details[8] == "same text as line 1" and details[11] == "same text as line 10"
    assert "'shakespeare'" in details[3]
    assert report["changed"] == [
        {
            "line": 2,
            "id": "spaces",
            "fixes": ["whitespace", "punctuation"],
            "before": "  The  largest planet\tof the solar system ,  by mass , is\n",
            "after": "The largest planet of the solar system, by mass, is",
        }
    ]
    # every non-blank input line is either kept or listed as dropped
    n_lines = sum(1 for line in RAW.read_text().splitlines() if line.strip())
    assert report["n_read"] == n_lines == len(rows) + len(report["dropped"])
    assert report["dropped_by_reason"] == {
        "empty": 1,
        "too_short": 1,
        "too_long": 1,
        "states_answer": 1,
        "duplicate": 2,
    }
    assert [c.extra.get("id") for c in read_clozes(out)] == [r["id"] for r in rows]  # stage 1


def test_options_off(tmp_path):
    code, out, report_path = improve(tmp_path, "--keep-punctuation-spacing")
    assert code == 0
    texts = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert "The largest planet of the solar system , by mass , is" in texts
    assert "It is" in texts  # no word limits by default
    report = json.loads(report_path.read_text())
    assert report["changed"][0]["fixes"] == ["whitespace"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"text": "fine row here"}', '{"text": "broken"'], r":2: invalid JSON"),
        (['{"text": "fine row here"}', '["a list"]'], r":2: expected a JSON object"),
        (['{"id": "a", "text": 3}'], r":1: 'text' must be a string"),
        (['{"id": "a", "text": "x y z"}', '{"id": "a", "text": "u v w"}'], r":2: id 'a' repeats"),
        (['{"text": "x y z", "answers": "Paris"}'], r":1: 'answers' must be"),
        (['{"text": "x y z", "dataset": 4}'], r":1: 'dataset' must be"),
    ],
)
def test_malformed_file_exits_2_before_writing(tmp_path, capsys, lines, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert run_script("improve_clozes", str(bad), str(out)) == 2
    assert not out.exists() and not (tmp_path / "out.report.json").exists()
    err = capsys.readouterr().err
    assert "bad.jsonl" in err
    assert re.search(message, err), err


def test_bad_limits_exit_2(tmp_path):
    out = tmp_path / "out.jsonl"
    assert (
        run_script("improve_clozes", str(RAW), str(out), "--min-words", "5", "--max-words", "3")
        == 2
    )
    assert not out.exists()
