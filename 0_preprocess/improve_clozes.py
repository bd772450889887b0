"""Stage 0: rule-based cleaning of a cloze file (normalise, drop unusable rows, dedupe).

    python 0_preprocess/improve_clozes.py INPUT.jsonl OUTPUT.jsonl [--report REPORT.json] \
        [--min-words N] [--max-words N] [--keep-punctuation-spacing]

Writes OUTPUT (cloze JSONL) and the report (default OUTPUT.report.json): every changed or
dropped row with its line number and reason (motif_discovery/data/preprocess.py).
"""

import argparse
import logging

from motif_discovery.data.preprocess import Rules, default_report_path, improve, read_raw_clozes
from motif_discovery.utils.io import write_json, write_jsonl
from motif_discovery.utils.log import FORMAT
from motif_discovery.utils.stage import stage_main

log = logging.getLogger("motif_discovery.0_preprocess")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input", help="cloze JSONL (format: motif_discovery/data/clozes.py)")
    p.add_argument("output", help="the cleaned cloze JSONL")
    p.add_argument("--report", help="report JSON (default: OUTPUT.report.json)")
    p.add_argument("--min-words", type=int, help="drop texts with fewer words")
    p.add_argument("--max-words", type=int, help="drop texts with more words")
    p.add_argument(
        "--keep-punctuation-spacing",
        action="store_true",
        help="leave spaces before punctuation as they are (the toy world writes 'x .')",
    )
    return p


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    rules = Rules(args.min_words, args.max_words, not args.keep_punctuation_spacing)
    rows, report = improve(read_raw_clozes(args.input), args.input, rules)
    report_path = args.report or default_report_path(args.output)
    write_jsonl(args.output, rows)
    write_json(report_path, {**report, "output": str(args.output)})
    log.info(
        "%d rows read, %d kept (%d changed), %d dropped %s; report: %s",
        report["n_read"],
        report["n_kept"],
        report["n_changed"],
        report["n_dropped"],
        report["dropped_by_reason"],
        report_path,
    )


if __name__ == "__main__":
    stage_main(main, parser())
