"""Rebuild the toy world from a seed: language model, tokenizer, clozes, then transcoders.

    python -m motif_discovery.toy_world.train [--seed S] [--out data/toy_world] [--small]
        [--skip-transcoders] [--steps N] [--threads T]

Writes OUT/model/ (Qwen3 config, weights and tokenizer; READY when complete),
OUT/world.json, OUT/clozes.jsonl and OUT/train_log.json, then calls
transcoders.train_transcoders(OUT/model, OUT/transcoders, seed, small).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from motif_discovery.toy_world.clozes import write_clozes
from motif_discovery.toy_world.evaluate import heldout_loss, recall_accuracy
from motif_discovery.toy_world.grammar import World, episode_text, make_world, sample_episode
from motif_discovery.toy_world.lm import episode_ids, new_model
from motif_discovery.toy_world.tokenizer import build_tokenizer, pad_rows
from motif_discovery.utils.io import write_json, write_text

FULL_STEPS = 4000
SMALL_STEPS = 300
BATCH = 64
PEAK_LR = 3e-3
WARMUP = 100


def encode_batch(
    rng: random.Random, world: World, tokenizer: PreTrainedTokenizerFast, batch: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`batch` episodes as BOS + words + EOS, right-padded: (input_ids, attention_mask, labels)."""
    rows = []
    for _ in range(batch):
        prefix, _, continuation = sample_episode(rng, world)
        rows.append(episode_ids(tokenizer, episode_text(prefix, continuation)))
    ids, mask = pad_rows(rows, tokenizer.pad_token_id)
    return ids, mask, ids.masked_fill(mask == 0, -100)


def learning_rate(step: int, steps: int) -> float:
    """Linear warmup to PEAK_LR, then cosine decay to PEAK_LR / 10."""
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, steps - WARMUP)
    return PEAK_LR * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def train_lm(
    world: World, tokenizer: PreTrainedTokenizerFast, steps: int, seed: int
) -> tuple[PreTrainedModel, list[dict[str, float]]]:
    """Train a fresh toy model (the small one for a small world) on freshly sampled
    episodes; return it and the loss curve."""
    model = new_model(tokenizer, seed, small=world.small)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=PEAK_LR, weight_decay=0.01, betas=(0.9, 0.98)
    )
    rng = random.Random(f"corpus-{seed}")
    curve, running, start = [], 0.0, time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps)
        ids, mask, labels = encode_batch(rng, world, tokenizer, BATCH)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            elapsed = time.perf_counter() - start
            curve.append({"step": step + 1, "loss": running / 100, "seconds": round(elapsed, 1)})
            print(f"step {step + 1}/{steps} loss {running / 100:.4f} {elapsed:.0f}s", flush=True)
            running = 0.0
    return model.eval(), curve


def save_model_dir(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, model_dir: Path
) -> None:
    """save_pretrained model + tokenizer into a temp dir, then swap it into `model_dir`."""
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.", dir=model_dir.parent))
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_text(tmp / "READY", f"{datetime.now(UTC).isoformat()}\n")
    for path in [tmp, *tmp.iterdir()]:  # mkdtemp/mkstemp create owner-only modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    old = model_dir.with_name(f".{model_dir.name}.old")
    if model_dir.exists():
        shutil.rmtree(old, ignore_errors=True)
        model_dir.rename(old)
    tmp.rename(model_dir)
    shutil.rmtree(old, ignore_errors=True)


def build(seed: int, out: Path, small: bool, steps: int | None) -> dict[str, Any]:
    """Train and save the language model, world and clozes; return the training log."""
    world = make_world(seed, small=small)
    tokenizer = build_tokenizer()
    steps = steps or (SMALL_STEPS if small else FULL_STEPS)
    start = time.perf_counter()
    model, curve = train_lm(world, tokenizer, steps, seed)
    seconds = time.perf_counter() - start
    save_model_dir(model, tokenizer, out / "model")
    write_json(out / "world.json", world.to_json())
    write_clozes(out / "clozes.jsonl", world, n=16 if small else 32, seed=seed)
    log = {
        "seed": seed,
        "small": small,
        "steps": steps,
        "batch": BATCH,
        "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "curve": curve,
        "heldout": heldout_loss(model, tokenizer, world, n_docs=512, seed=seed + 1),
        "recall_accuracy": recall_accuracy(model, tokenizer, world),
    }
    write_json(out / "train_log.json", log)
    return log


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("data/toy_world"))
    parser.add_argument("--small", action="store_true", help="reduced world, about a minute")
    parser.add_argument("--skip-transcoders", action="store_true")
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = build(args.seed, args.out, args.small, args.steps)
    print(
        f"trained {log['steps']} steps in {log['train_seconds']}s; heldout {log['heldout']}; "
        f"recall accuracy {log['recall_accuracy']}",
        flush=True,
    )
    if not args.skip_transcoders:
        from motif_discovery.toy_world.transcoders import train_transcoders

        report = train_transcoders(
            args.out / "model", args.out / "transcoders", args.seed, args.small
        )
        print(f"transcoders: {report}", flush=True)


if __name__ == "__main__":
    main()
