"""Stage 0: a reproducible, optionally stratified train/test split of a cloze file.

    python 0_preprocess/split_dataset.py INPUT.jsonl OUT_DIR --seed 0 \
        (--test-fraction 0.2 | --test-count 40) [--stratify dataset] [--group parent]

Writes OUT_DIR/train.jsonl, OUT_DIR/test.jsonl (rows unchanged, file order) and
OUT_DIR/split.json (the summary); the rule: motif_discovery/data/splitting.py.
"""

import argparse
import logging
from pathlib import Path

from motif_discovery.data.clozes import read_clozes
from motif_discovery.data.splitting import Split, file_row, split_clozes
from motif_discovery.utils.io import write_json, write_jsonl
from motif_discovery.utils.log import FORMAT
from motif_discovery.utils.stage import stage_main

log = logging.getLogger("motif_discovery.0_preprocess")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input", help="cloze JSONL (format: motif_discovery/data/clozes.py)")
    p.add_argument("out_dir", help="folder for train.jsonl, test.jsonl and split.json")
    p.add_argument("--seed", type=int, required=True, help="the split's seed")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--test-fraction", type=float, help="test share of the units, in (0, 1)")
    size.add_argument("--test-count", type=int, help="number of test units")
    p.add_argument("--stratify", metavar="KEY", help="keep each value's share of KEY alike")
    p.add_argument("--group", metavar="KEY", help="rows sharing KEY's value stay together")
    return p


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    split = Split(args.seed, args.test_fraction, args.test_count, args.stratify, args.group)
    train, test, summary = split_clozes(read_clozes(args.input), split, args.input)
    out = Path(args.out_dir)
    write_jsonl(out / "train.jsonl", [file_row(c) for c in train])
    write_jsonl(out / "test.jsonl", [file_row(c) for c in test])
    write_json(out / "split.json", summary)
    log.info("%d train rows, %d test rows; summary: %s", len(train), len(test), out / "split.json")


if __name__ == "__main__":
    stage_main(main, parser())
