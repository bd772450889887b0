"""One sampler interface, two backends (Hugging Face `generate`, vLLM) with the same draws.

A call draws one sample per entry of `first_tokens`: None samples freely from the prefix's
context, a token id forces that first token (the sample continues after context + [id]).
Each sample is returned as the generated token ids, the forced token first, not yet cut by
the stop rule (stop.StopRule.cut does that, for both backends alike). A call is seeded by
`seed` alone, so a rerun of the same call draws the same samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import torch
from transformers import (
    GenerationConfig,
    PreTrainedModel,
    StoppingCriteria,
    StoppingCriteriaList,
)

from motif_discovery.sampling.first_tokens import next_token_probs, nucleus
from motif_discovery.sampling.stop import StopRule
from motif_discovery.utils.config import SamplingConfig
from motif_discovery.utils.errors import InputError

SEED_BITS = 62


class Sampler(Protocol):
    """A sampling backend."""

    name: str

    def draw(
        self, context: Sequence[int], first_tokens: Sequence[int | None], seed: int
    ) -> list[list[int]]:
        """One sample per entry of `first_tokens` (None: free; an id: forced first token):
        the generated ids, forced token first, uncut."""
        ...


def call_seed(seed: int, prefix_id: str, call: int) -> int:
    """The seed of one call: sha256 of (run.seed, prefix id, call index), SEED_BITS bits."""
    digest = hashlib.sha256(f"{seed}\x00{prefix_id}\x00{call}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)


def vllm_available() -> bool:
    """CUDA is visible and vLLM imports."""
    if not torch.cuda.is_available():
        return False
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def backend_name(choice: str) -> str:
    """`auto` -> vllm when CUDA and vLLM are there, else hf; `vllm` needs both."""
    if choice == "auto":
        return "vllm" if vllm_available() else "hf"
    if choice == "vllm" and not vllm_available():
        raise InputError(
            "sampling.backend: 'vllm' needs CUDA and vLLM (the 'gpu' extra: "
            "MOTIF_TORCH=cuda MOTIF_EXTRAS=dev,gpu bash scripts/ensure_env.sh); use 'hf' or 'auto'"
        )
    return choice


class _StopAtCharacters(StoppingCriteria):
    """Ends a row of `generate` once its last token holds a stop character."""

    def __init__(self, rule: StopRule):
        self.rule = rule

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        last = input_ids[:, -1].tolist()
        return torch.tensor([self.rule.is_stop(t) for t in last], device=input_ids.device)


class HFSampler:
    """Batched `model.generate` (temperature, top-p, no top-k, the model's own generation
    defaults ignored); rows end at a stop character or EOS.

    A free row's first token is drawn here from the same distribution generate would use
    (softmax(logits / T) restricted to the top-p nucleus, renormalized; computed once per
    context), so every row of a call is context + [first token], one width, and the call is
    one unpadded `generate` of max_new_tokens - 1 steps. The call seeds a torch.Generator
    for the first tokens and a forked RNG for generate, so the process's global RNG is left
    as it was."""

    name = "hf"

    def __init__(self, model: PreTrainedModel, rule: StopRule, settings: SamplingConfig):
        self.model = model
        self.rule = rule
        self.settings = settings
        pad = rule.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(rule.eos_ids)
        self._first: tuple[tuple[int, ...], torch.Tensor] | None = None

    def first_token_distribution(self, context: Sequence[int]) -> torch.Tensor:
        """q restricted to the top-p nucleus and renormalized (cached for the last context)."""
        if self._first is None or self._first[0] != tuple(context):
            q = next_token_probs(self.model, context, self.settings.temperature)
            kept = torch.zeros_like(q)
            keep = nucleus(q, self.settings.top_p)
            kept[keep] = q[keep]
            self._first = (tuple(context), kept / kept.sum())
        return self._first[1]

    @torch.no_grad()
    def draw(
        self, context: Sequence[int], first_tokens: Sequence[int | None], seed: int
    ) -> list[list[int]]:
        free = [i for i, t in enumerate(first_tokens) if t is None]
        first = list(first_tokens)
        if free:
            generator = torch.Generator().manual_seed(seed)
            drawn = torch.multinomial(
                self.first_token_distribution(context), len(free), True, generator=generator
            )
            for i, token in zip(free, drawn.tolist(), strict=True):
                first[i] = token
        steps = self.settings.max_new_tokens - 1
        if steps == 0:
            return [[int(t)] for t in first]
        device = self.model.device
        prompts = torch.tensor([[*context, t] for t in first], device=device)
        config = GenerationConfig(
            do_sample=True,
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            top_k=0,
            max_new_tokens=steps,
            eos_token_id=sorted(self.rule.eos_ids),
            pad_token_id=self.pad_id,
        )
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=device.type):
            torch.manual_seed(seed)
            out = self.model.generate(
                prompts,
                attention_mask=torch.ones_like(prompts),
                generation_config=config,
                use_model_defaults=False,  # else the model's own T / top-p replace ours
                stopping_criteria=StoppingCriteriaList([_StopAtCharacters(self.rule)]),
            )
        rows = out[:, prompts.shape[1] :].tolist()
        return [[int(t), *row] for t, row in zip(first, rows, strict=True)]
