"""0_preprocess/split_dataset.py: seeded, stratified (against scikit-learn), grouped splits."""

import json
from collections import Counter

import pytest
from sklearn.model_selection import train_test_split

from motif_discovery.data.clozes import read_clozes
from motif_discovery.data.splitting import Split, split_clozes
from motif_discovery.utils.errors import InputError
from tests.preprocess.scripts import run_script

SIZES = {"nq": 37, "trivia": 23, "web": 11, "tiny": 2}


def write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def stratified_file(tmp_path):
    rows, i = [], 0
    for dataset, n in SIZES.items():
        for _ in range(n):
            rows.append({"id": f"r{i:03d}", "text": f"row {i} of {dataset}", "dataset": dataset})
            i += 1
    rows.sort(key=lambda r: int(r["id"][1:]) % 7)  # interleave the strata in the file
    return write_rows(tmp_path / "rows.jsonl", rows)


def split_files(tmp_path, source, *options):
    out = tmp_path / "split"
    code = run_script("split_dataset", str(source), str(out), *options)
    if code:
        return code, None, None, None
    read = lambda name: [json.loads(x) for x in (out / name).read_text().splitlines()]  # noqa: E731
    return (
        code,
        read("train.jsonl"),
        read("test.jsonl"),
        json.loads((out / "split.json").read_text()),
    )


@pytest.mark.parametrize("fraction", [0.2, 0.3, 0.5])
def test_stratified_like_sklearn(tmp_path, stratified_file, fraction):
    code, train, test, summary = split_files(
        tmp_path,
        stratified_file,
        "--seed",
        "3",
        "--test-fraction",
        str(fraction),
        "--stratify",
        "dataset",
    )
    assert code == 0
    source = [json.loads(x) for x in stratified_file.read_text().splitlines()]
    # disjoint and complete, file order and rows unchanged
    assert {r["id"] for r in train}.isdisjoint(r["id"] for r in test)
    assert sorted(train + test, key=source.index) == source
    assert [r for r in source if r in train] == train and [r for r in source if r in test] == test
    # scikit-learn's stratified split of the same labels: same test size, per-stratum counts
    # within one row of it
    labels = [r["dataset"] for r in source]
    _, sk_test = train_test_split(labels, test_size=fraction, stratify=labels, random_state=0)
    ours = Counter(r["dataset"] for r in test)
    assert len(test) == len(sk_test)
    for dataset, count in Counter(sk_test).items():
        assert abs(ours[dataset] - count) <= 1, (dataset, ours, Counter(sk_test))
    for dataset, n in SIZES.items():  # and within one of the exact share
        assert abs(ours[dataset] - fraction * n) < 1
    assert summary["n_test"] == len(test) and summary["n_train"] == len(train)
    assert summary["strata"]["nq"] == {"units": 37, "test_units": ours["nq"]}
    assert summary["test_ids"] == [r["id"] for r in test]


def test_same_seed_same_split_other_seed_other_split(tmp_path, stratified_file):
    clozes = read_clozes(stratified_file)
    ids = lambda s: [c.prefix_id for c in split_clozes(clozes, s, "f")[1]]  # noqa: E731
    assert ids(Split(7, 0.25, stratify="dataset")) == ids(Split(7, 0.25, stratify="dataset"))
    assert ids(Split(7, 0.25, stratify="dataset")) != ids(Split(8, 0.25, stratify="dataset"))
    # the script gives the split the module gives
    code, _, test, _ = split_files(
        tmp_path, stratified_file, "--seed", "7", "--test-fraction", "0.25", "--stratify", "dataset"
    )
    assert code == 0 and [r["id"] for r in test] == ids(Split(7, 0.25, stratify="dataset"))


def test_count_and_no_stratification(tmp_path, stratified_file):
    code, train, test, summary = split_files(
        tmp_path, stratified_file, "--seed", "1", "--test-count", "10"
    )
    assert code == 0 and len(test) == 10 and len(train) == sum(SIZES.values()) - 10
    assert summary["strata"] == {"": {"units": sum(SIZES.values()), "test_units": 10}}


def test_group_keeps_sub_questions_with_their_question(tmp_path):
    rows = []
    for q in range(12):
        rows.append({"id": f"q{q}", "text": f"question {q}?", "ambiguous": q % 3 == 0})
        rows += [
            {"id": f"q{q}.{k}", "text": f"sub {q} {k}?", "parent": f"q{q}"}
            for k in range(1, 1 + q % 3)
        ]
    source = write_rows(tmp_path / "q.jsonl", rows)
    code, train, test, summary = split_files(
        tmp_path,
        source,
        "--seed",
        "0",
        "--test-fraction",
        "0.25",
        "--stratify",
        "ambiguous",
        "--group",
        "parent",
    )
    assert code == 0
    assert summary["n_units"] == 12 and summary["n_test_units"] == 3
    side = {r["id"]: "test" for r in test} | {r["id"]: "train" for r in train}
    for r in rows:
        assert side[r["id"]] == side[r.get("parent", r["id"])]
    assert summary["strata"] == {
        "false": {"units": 8, "test_units": 2},
        "true": {"units": 4, "test_units": 1},
    }


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (Split(0, 1.0), "test fraction must be in"),
        (Split(0, None, 0), "both sides"),
        (Split(0, None, 73), "both sides"),
        (Split(0), "exactly one"),
        (Split(0, 0.2, 3), "exactly one"),
        (Split(0, 0.2, stratify="nope"), ":1: no stratify key 'nope'"),
    ],
)
def test_bad_options(stratified_file, split, message):
    with pytest.raises(InputError, match=message):
        split_clozes(read_clozes(stratified_file), split, "f")


def test_bad_file_exits_2_before_writing(tmp_path):
    source = write_rows(tmp_path / "d.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    code, *_ = split_files(tmp_path, source, "--seed", "0", "--test-count", "1")
    assert code == 2 and not (tmp_path / "split").exists()
