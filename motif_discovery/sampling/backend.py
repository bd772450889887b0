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
    defaults ignored); rows end at a stop character or EOS. The call seeds a forked RNG, so
    the process's global RNG is left as it was."""

    name = "hf"

    def __init__(self, model: PreTrainedModel, rule: StopRule, settings: SamplingConfig):
        self.model = model
        self.rule = rule
        self.settings = settings
        pad = rule.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(rule.eos_ids)

    def _generate(self, prompts: torch.Tensor, max_new_tokens: int) -> list[list[int]]:
        """Sample a continuation of every row of `prompts` (rows of one length)."""
        if max_new_tokens == 0:
            return [[] for _ in range(prompts.shape[0])]
        config = GenerationConfig(
            do_sample=True,
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
            top_k=0,
            max_new_tokens=max_new_tokens,
            eos_token_id=sorted(self.rule.eos_ids),
            pad_token_id=self.pad_id,
        )
        out = self.model.generate(
            prompts,
            attention_mask=torch.ones_like(prompts),
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([_StopAtCharacters(self.rule)]),
        )
        return out[:, prompts.shape[1] :].tolist()

    @torch.no_grad()
    def draw(
        self, context: Sequence[int], first_tokens: Sequence[int | None], seed: int
    ) -> list[list[int]]:
        device = self.model.device
        base = torch.tensor([list(context)], device=device)
        free = [i for i, t in enumerate(first_tokens) if t is None]
        forced = [i for i, t in enumerate(first_tokens) if t is not None]
        out: list[list[int]] = [[] for _ in first_tokens]
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=device.type):
            torch.manual_seed(seed)
            if free:
                rows = self._generate(base.expand(len(free), -1), self.settings.max_new_tokens)
                for i, row in zip(free, rows, strict=True):
                    out[i] = row
            if forced:
                heads = torch.tensor([[first_tokens[i]] for i in forced], device=device)
                prompts = torch.cat([base.expand(len(forced), -1), heads], dim=1)
                rows = self._generate(prompts, self.settings.max_new_tokens - 1)
                for i, row in zip(forced, rows, strict=True):
                    out[i] = [int(first_tokens[i]), *row]
        return out
