"""Stage 2 for one run directory: sample, score and keep each prefix's continuations.

Outputs per prefix, in `<run>/2_branch_sampling/`:
- `<prefix_id>.jsonl`: one line per kept distinct continuation, by decreasing P_n
  (branches.records: continuation_id, text, token_ids, token_logprobs, eos, eos_logprob,
  p_n, p_norm, multiplicity, backend, seed);
- `<prefix_id>.summary.json`: calls, samples, distinct texts, dropped empty texts, why the
  loop stopped, the discovered first tokens, `short` when fewer than sampling.n were found.
Before any sampling every prefix of the shard is checked: non-empty, and its context plus
sampling.max_new_tokens fits the model's context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from motif_discovery.data.prefixes import PREFIXES_FILE, load_prefixes
from motif_discovery.model.context import checked_context, max_context
from motif_discovery.model.loading import load_model, load_model_config, load_tokenizer
from motif_discovery.sampling.backend import HFSampler, Sampler, backend_name
from motif_discovery.sampling.branches import sample_prefix
from motif_discovery.sampling.first_tokens import discover, next_token_probs
from motif_discovery.sampling.records import records_path, summary_path
from motif_discovery.sampling.stop import StopRule
from motif_discovery.utils.config import Config
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import write_json, write_jsonl
from motif_discovery.utils.stage import Stage, Unit, run_stage, shard_units

STAGE = Stage(
    name="2_branch_sampling",
    config_keys=(
        "model.name",
        "model.bos_stand_in",
        "model.dtype",
        "model.max_context",
        "data.prompt_format",
        "sampling",
        "run.seed",
        "run.device",
    ),
    code=("sampling", "model", "data/prefixes.py", "utils"),
)


def output_paths(run_dir: Path, prefix_id: str) -> tuple[Path, Path]:
    """(records JSONL, summary JSON) of one prefix."""
    return records_path(run_dir, prefix_id), summary_path(run_dir, prefix_id)


def checked_contexts(
    rows: list[dict[str, Any]],
    tokenizer: PreTrainedTokenizerBase,
    config: Config,
    limit: int,
    source: str | Path,
) -> dict[str, list[int]]:
    """The token context of every row; an empty prefix or one that cannot fit
    sampling.max_new_tokens more tokens is an InputError naming `source` and its id."""
    return {
        row["prefix_id"]: checked_context(
            tokenizer,
            row["prefix_id"],
            row.get("text"),
            config.model,
            config.data.prompt_format,
            config.sampling.max_new_tokens,
            limit,
            where=source,
        )
        for row in rows
    }


class Models:
    """The scoring model and the sampler, loaded on first use (a rerun that skips every
    prefix loads nothing)."""

    def __init__(
        self, config: Config, tokenizer: PreTrainedTokenizerBase, limit: int, backend: str
    ):
        self.config = config
        self.backend = backend
        self.tokenizer = tokenizer
        self.limit = limit
        self.loaded: tuple[Any, Sampler, StopRule] | None = None

    def get(self) -> tuple[Any, Sampler, StopRule]:
        if self.loaded is None:
            self.loaded = self._load()
        return self.loaded

    def _load(self) -> tuple[Any, Sampler, StopRule]:
        device = resolve_device(self.config.run.device)
        model = load_model(self.config.model, device)
        eos = model.generation_config.eos_token_id
        eos_ids = {*(eos if isinstance(eos, list) else [eos]), self.tokenizer.eos_token_id}
        eos_ids.discard(None)
        if not eos_ids:
            raise InputError(
                f"model.name: {self.config.model.name!r} defines no EOS token (neither its "
                "generation config nor its tokenizer); sampling needs one to end on"
            )
        rule = StopRule(self.tokenizer, self.config.sampling.stop, eos_ids)
        if self.backend == "hf":
            return model, HFSampler(model, rule, self.config.sampling), rule
        from motif_discovery.sampling.vllm_backend import VllmSampler

        sampler = VllmSampler(
            self.config.model, self.config.sampling, rule, self.limit, self.config.run.seed
        )
        return model, sampler, rule


def branch_prefix(
    models: Models, context: list[int], config: Config, prefix_id: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Discover the first tokens of one prefix, then sample, score and select: (records,
    summary)."""
    model, sampler, rule = models.get()
    sampling = config.sampling
    probs = next_token_probs(model, context, sampling.temperature)
    first = discover(probs, sampling.top_p, sampling.first_token_min_prob, rule.eos_ids)
    return sample_prefix(model, sampler, rule, context, first, sampling, config.run.seed, prefix_id)


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 2 over every prefix of the run (this shard), skipping unchanged ones."""
    backend = backend_name(config.sampling.backend)
    rows = load_prefixes(run_dir)
    units = [Unit(row["prefix_id"], (), values=row) for row in rows]
    selected = {unit.unit_id for unit in shard_units(units, shard, STAGE.name)}
    tokenizer = load_tokenizer(config.model)
    limit = max_context(load_model_config(config.model), config.model)
    shard_rows = [row for row in rows if row["prefix_id"] in selected]
    contexts = checked_contexts(shard_rows, tokenizer, config, limit, run_dir / PREFIXES_FILE)
    models = Models(config, tokenizer, limit, backend)

    def process(prefix_id: str) -> list[Path]:
        records, info = branch_prefix(models, contexts[prefix_id], config, prefix_id)
        records_path, summary_path = output_paths(run_dir, prefix_id)
        write_jsonl(records_path, records)
        write_json(summary_path, info)
        return [records_path, summary_path]

    run_stage(STAGE, config, run_dir, units, process, force=force, shard=shard)
