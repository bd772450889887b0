"""0_preprocess/prepare_questions.py: AmbigQA (published JSON list, or JSONL) -> cloze rows."""

import json

import pytest

from motif_discovery.data.clozes import read_clozes
from tests.preprocess.scripts import FIXTURES, run_script

SIMPSONS = "-4469503464110108318"
CUP = "-2617341986040915532"
PRIME = "When did the Simpsons first air as a half-hour prime time show?"
SHORT = (
    "When did the Simpsons first air on television as an animated short on the Tracey Ullman Show?"
)


def prepare(tmp_path, source):
    out = tmp_path / "questions.jsonl"
    code = run_script("prepare_questions", str(source), str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()] if code == 0 else None
    return code, rows, tmp_path / "questions.report.json"


def test_rows_from_the_published_format(tmp_path):
    code, rows, report_path = prepare(tmp_path, FIXTURES / "ambigqa_dev.json")
    assert code == 0
    q = {"dataset": "ambigqa"}
    assert rows == [
        {
            "id": SIMPSONS,
            "text": "When did the simpsons first air on television?",
            "answers": ["April 19, 1987", "December 17, 1989", "17 December 1989"],
            **q,
            "ambiguous": True,
        },
        {
            "id": f"{SIMPSONS}.1",
            "text": SHORT,
            "answers": ["April 19, 1987"],
            **q,
            "parent": SIMPSONS,
        },
        # the second annotator's copy (two spaces) merges with the first one's
        {
            "id": f"{SIMPSONS}.2",
            "text": PRIME,
            "answers": ["December 17, 1989", "17 December 1989"],
            **q,
            "parent": SIMPSONS,
        },
        {
            "id": f"{SIMPSONS}.3",
            "text": "When did the Simpsons first air as shorts?",
            "answers": ["April 19, 1987"],
            **q,
            "parent": SIMPSONS,
        },
        {
            "id": "5561727013620395113",
            "text": "Who wrote the novel Frankenstein?",
            "answers": ["Mary Shelley", "Mary Wollstonecraft Shelley"],
            **q,
            "ambiguous": False,
        },
        {
            "id": CUP,
            "text": "Who won the world cup in 2014?",
            "answers": ["Germany", "Sri Lanka", "West Germany"],
            **q,
            "ambiguous": True,
        },
        {
            "id": f"{CUP}.1",
            "text": "Who won the FIFA men's world cup in 2014?",
            "answers": ["Germany"],
            **q,
            "parent": CUP,
        },
        {
            "id": f"{CUP}.2",
            "text": "Who won the ICC World Twenty20 in 2014?",
            "answers": ["Sri Lanka"],
            **q,
            "parent": CUP,
        },
        {
            "id": "8120459021547783001",
            "text": "How many moons does mars have?",
            "answers": [],
            **q,
            "ambiguous": False,
        },
    ]
    report = json.loads(report_path.read_text())
    # line numbers are those of each question's object in the file
    lines = (FIXTURES / "ambigqa_dev.json").read_text().splitlines()
    cup_line = next(i for i, t in enumerate(lines, 1) if CUP in t) - 1
    assert lines[cup_line - 1].strip() == "{"
    assert report["skipped"] == [
        {
            "line": cup_line,
            "id": CUP,
            "sub_question": "Who won the Rugby League world cup in 2014?",
            "reason": "no_answer",
        }
    ]
    assert report["without_answers"] == [{"line": len(lines) - 4, "id": "8120459021547783001"}]
    assert (report["format"], report["n_questions"], report["n_ambiguous"]) == ("json", 4, 2)
    assert (report["n_rows"], report["n_sub_questions"]) == (9, 5)
    clozes = read_clozes(tmp_path / "questions.jsonl")  # stage 1 reads it
    assert [c.prefix_id for c in clozes] == [r["id"] for r in rows]


def test_jsonl_of_the_same_objects(tmp_path):
    code, rows, report_path = prepare(tmp_path, FIXTURES / "ambigqa_dev.jsonl")
    assert code == 0
    assert [r["id"] for r in rows] == ["5561727013620395113", "8120459021547783001"]
    assert rows[0]["text"] == "Who wrote the novel Frankenstein?"
    report = json.loads(report_path.read_text())
    assert report["format"] == "jsonl" and report["without_answers"][0]["line"] == 2


GOOD = '{"id": "q1", "question": "Who?", "annotations": []}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"[\n{GOOD},\n{GOOD.replace('q1', 'q2')}\n{GOOD}\n]", r":4: invalid JSON: expected ','"),
        (f'[\n{GOOD},\n{{"id": "q2", "question": "Why?",,}}\n]', r":3: invalid JSON"),
        (f"[\n{GOOD}\n] x", r":3: invalid JSON: extra data"),
        (f"[\n{GOOD},\n{GOOD}\n]", r":3: id 'q1' repeats line 2"),
        (f"[\n{GOOD},\n[1, 2]\n]", r":3: expected a JSON object"),
        ('[\n{"id": 5, "question": "Who?"}\n]', r":2: 'id' must be a non-empty string"),
        ('[\n{"id": "q", "question": null}\n]', r":2: 'question' must be a string"),
        (
            '[{"id": "q", "question": "Who?", "annotations": [{"type": "other"}]}]',
            r":1: annotations\[0\]: expected an object with 'type'",
        ),
        (
            '[{"id": "q", "question": "W?", "annotations": [{"type": "singleAnswer", "answer": "x"}]}]',
            r":1: annotations\[0\]: 'answer' must be a list of strings",
        ),
        (
            '[{"id": "q", "question": "W?", "annotations": '
            '[{"type": "multipleQAs", "qaPairs": [{"answer": ["x"]}]}]}]',
            r":1: annotations\[0\].qaPairs\[0\]: 'question' must be a string",
        ),
        (f'{GOOD}\n{{"id": "q2", "question": ', r":2: invalid JSON"),  # JSONL
    ],
)
def test_malformed_file_exits_2_before_writing(tmp_path, capsys, text, message):
    import re

    bad = tmp_path / "bad.json"
    bad.write_text(text)
    code, _, report_path = prepare(tmp_path, bad)
    assert code == 2
    assert not (tmp_path / "questions.jsonl").exists() and not report_path.exists()
    err = capsys.readouterr().err
    assert re.search(re.escape(str(bad)) + message, err), err


def test_empty_question_is_skipped_and_reported(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text(
        '{"id": "q1", "question": "   ", "annotations": []}\n'
        '{"id": "q2", "question": "Who?", "annotations": [{"type": "multipleQAs", "qaPairs": '
        '[{"question": " ", "answer": ["x"]}, {"question": "Who, really?", "answer": ["y"]}]}]}\n'
    )
    code, rows, report_path = prepare(tmp_path, source)
    assert code == 0
    assert [(r["id"], r["text"]) for r in rows] == [("q2", "Who?"), ("q2.1", "Who, really?")]
    assert json.loads(report_path.read_text())["skipped"] == [
        {"line": 1, "id": "q1", "reason": "empty_question"},
        {"line": 2, "id": "q2", "sub_question": "", "reason": "empty_question"},
    ]
