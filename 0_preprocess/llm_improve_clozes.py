"""Stage 0: a local causal LM rewrites each cloze so that it ends right before its answer.

    python 0_preprocess/llm_improve_clozes.py INPUT.jsonl OUTPUT.jsonl --model PATH_OR_ID \
        [--format chat|raw] [--template FILE] [--max-words 60] [--seed 0] \
        [--backend auto|hf|vllm] [--device auto|cpu|cuda] [--config CONFIG] \
        [--set sampling.temperature=0.3 --set sampling.top_p=0.9 ...] [--report REPORT.json]

Greedy by default (sampling.top_p = 1e-6, sampling.max_new_tokens = 64, over --config;
--set changes them). Every row is written: a rejected rewrite keeps the original row, and
the report (default OUTPUT.report.json) lists it with its line number and reason
(motif_discovery/data/llm_rewrite.py).
"""

import argparse
import logging

from motif_discovery.data.clozes import read_clozes
from motif_discovery.data.llm_rewrite import TEMPLATES, Rewriting, rewrite_clozes
from motif_discovery.data.preprocess import default_report_path
from motif_discovery.utils.config import load_config
from motif_discovery.utils.io import read_text, write_json, write_jsonl
from motif_discovery.utils.log import FORMAT
from motif_discovery.utils.stage import stage_main

log = logging.getLogger("motif_discovery.0_preprocess")
GREEDY = ["sampling.top_p=1e-6", "sampling.max_new_tokens=64"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input", help="cloze JSONL with 'answer' or 'answers' per row")
    p.add_argument("output", help="the rewritten cloze JSONL (every row)")
    p.add_argument("--model", help="local directory or Hugging Face id (default: model.name)")
    p.add_argument("--format", choices=["chat", "raw"], default="chat", help="prompt format")
    p.add_argument("--template", help="prompt template file with {text} and {answer}")
    p.add_argument("--max-words", type=int, default=60, help="longest accepted rewrite")
    p.add_argument("--seed", type=int, help="run.seed (the draws' seed)")
    p.add_argument("--backend", choices=["auto", "hf", "vllm"], help="sampling.backend")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="run.device")
    p.add_argument("--config", help="JSON config, merged on configs/default_config.json")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--report", help="report JSON (default: OUTPUT.report.json)")
    return p


def overrides(args: argparse.Namespace) -> list[str]:
    """The --set list: the greedy defaults, then the flags, then the user's --set."""
    flags = {
        "model.name": args.model,
        "run.seed": args.seed,
        "sampling.backend": args.backend,
        "run.device": args.device,
        "data.prompt_format": args.format,
    }
    named = [f"{key}={value}" for key, value in flags.items() if value is not None]
    return [*GREEDY, *named, *args.set]


def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    config = load_config(args.config, overrides(args))
    template = read_text(args.template) if args.template else TEMPLATES[args.format]
    rewriting = Rewriting(template, args.max_words)
    rows, report = rewrite_clozes(read_clozes(args.input), args.input, config, rewriting)
    report_path = args.report or default_report_path(args.output)
    write_jsonl(args.output, rows)
    write_json(report_path, {**report, "output": str(args.output)})
    log.info(
        "%d rows: %d rewritten, %d kept as they were %s; report: %s",
        report["n_read"],
        report["n_rewritten"],
        report["n_rejected"],
        report["rejected_by_reason"],
        report_path,
    )


if __name__ == "__main__":
    stage_main(main, parser())
