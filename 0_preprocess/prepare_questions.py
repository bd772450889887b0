"""Stage 0: AmbigQA questions and their sub-questions -> a cloze JSONL stage 1 reads.

    python 0_preprocess/prepare_questions.py AMBIGQA.json OUTPUT.jsonl [--report REPORT.json]

AMBIGQA is the dataset's published train/dev JSON (a list) or JSONL of the same objects.
Writes one row per question (id <id>) and one per sub-question (id <id>.<k>, 'parent' <id>),
each with 'answers' and dataset 'ambigqa', and the report (default OUTPUT.report.json);
format: motif_discovery/data/questions.py. Run the rows with data.prompt_format = "chat".
"""

import argparse
import logging

from motif_discovery.data.preprocess import default_report_path
from motif_discovery.data.questions import question_rows
from motif_discovery.utils.io import write_json, write_jsonl
from motif_discovery.utils.log import FORMAT
from motif_discovery.utils.stage import stage_main

log = logging.getLogger("motif_discovery.0_preprocess")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input", help="AmbigQA train/dev JSON (a list) or JSONL")
    p.add_argument("output", help="the cloze JSONL to write")
    p.add_argument("--report", help="report JSON (default: OUTPUT.report.json)")
    return p


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    rows, report = question_rows(args.input)
    report_path = args.report or default_report_path(args.output)
    write_jsonl(args.output, rows)
    write_json(report_path, {**report, "output": str(args.output)})
    log.info(
        "%d questions (%d ambiguous) -> %d rows (%d sub-questions), %d skipped; report: %s",
        report["n_questions"],
        report["n_ambiguous"],
        report["n_rows"],
        report["n_sub_questions"],
        len(report["skipped"]),
        report_path,
    )


if __name__ == "__main__":
    stage_main(main, parser())
