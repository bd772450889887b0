"""The vLLM backend (GPU; the `gpu` extra). vLLM is imported only when this backend is built.

Prompts are token ids (the one token context, so vLLM never re-tokenizes the prefix); a
forced first token is context + [token]. Each group of samples with the same first token is
one request with n samples and its own seed (call seed + group index x call size; vLLM
seeds the n children of a request with seed + child index, so no two samples share a
seed), the stop characters as stop strings kept in the output. The ids come back uncut:
stop.StopRule.cut applies the same rule as for the hf backend (a forced first token that is
a stop token is cut there too).

The engine's settings come from `sampling.vllm` (share of GPU memory, context length,
tensor parallelism, eager mode); its dtype is `model.dtype`.
"""

from __future__ import annotations

from collections.abc import Sequence

from motif_discovery.model.paths import resolve_name
from motif_discovery.sampling.backend import SEED_BITS
from motif_discovery.sampling.stop import StopRule
from motif_discovery.utils.config import ModelConfig, SamplingConfig, VllmConfig
from motif_discovery.utils.errors import InputError

VLLM_DTYPES = {
    "auto": "bfloat16",
    "float32": "float32",
    "bfloat16": "bfloat16",
    "float16": "float16",
}


def engine_length(settings: VllmConfig, limit: int) -> int:
    """vLLM's max_model_len: `sampling.vllm.max_model_len`, else `limit`, the context limit
    stage 2 checks every prefix against (model.max_context, else the model's
    max_position_embeddings: prefix context + sampling.max_new_tokens fits in it); a
    configured length below `limit` is an error."""
    if settings.max_model_len is None:
        return limit
    if settings.max_model_len < limit:
        raise InputError(
            f"sampling.vllm.max_model_len: {settings.max_model_len} is below the model's "
            f"context limit of {limit} tokens (model.max_context, else the model's "
            "max_position_embeddings), within which stage 2 fits each prefix context + "
            "sampling.max_new_tokens; raise it, lower model.max_context, or set it to null"
        )
    return settings.max_model_len


class VllmSampler:
    """vllm.LLM over the configured model, one `generate` per call."""

    name = "vllm"

    def __init__(
        self,
        model: ModelConfig,
        settings: SamplingConfig,
        rule: StopRule,
        max_model_len: int,
        seed: int,
    ):
        length = engine_length(settings.vllm, max_model_len)
        from vllm import LLM

        self.settings = settings
        self.rule = rule
        self.llm = LLM(
            model=resolve_name(model.name),
            dtype=VLLM_DTYPES[model.dtype],
            seed=seed,
            max_model_len=length,
            gpu_memory_utilization=settings.vllm.gpu_memory_utilization,
            tensor_parallel_size=settings.vllm.tensor_parallel_size,
            enforce_eager=settings.vllm.enforce_eager,
        )

    def _eos_appended(self, completion) -> list[int]:
        """The completion's ids, with the EOS that ended it when vLLM left it out
        (finish_reason "stop" without a stop string means EOS or an EOS-like stop token)."""
        ids = [int(t) for t in completion.token_ids]
        ended_by_eos = completion.finish_reason == "stop" and not isinstance(
            completion.stop_reason, str
        )
        if ended_by_eos and (not ids or ids[-1] not in self.rule.eos_ids):
            reason = completion.stop_reason
            ids.append(reason if isinstance(reason, int) else min(self.rule.eos_ids))
        return ids

    def draw(
        self, context: Sequence[int], first_tokens: Sequence[int | None], seed: int
    ) -> list[list[int]]:
        from vllm import SamplingParams, TokensPrompt

        groups: dict[int | None, list[int]] = {}
        for i, token in enumerate(first_tokens):
            groups.setdefault(token, []).append(i)
        out: list[list[int]] = [[] for _ in first_tokens]
        prompts, params, order = [], [], []
        for g, (token, rows) in enumerate(groups.items()):
            head = [] if token is None else [int(token)]
            budget = self.settings.max_new_tokens - len(head)
            if budget == 0:
                for i in rows:
                    out[i] = head
                continue
            prompts.append(TokensPrompt(prompt_token_ids=[*context, *head]))
            params.append(
                SamplingParams(
                    n=len(rows),
                    temperature=self.settings.temperature,
                    top_p=self.settings.top_p,
                    max_tokens=budget,
                    seed=(seed + g * len(first_tokens)) % (1 << SEED_BITS),
                    stop=list(self.settings.stop),
                    include_stop_str_in_output=True,
                )
            )
            order.append((head, rows))
        if prompts:
            results = self.llm.generate(prompts, params, use_tqdm=False)
            for result, (head, rows) in zip(results, order, strict=True):
                completions = sorted(result.outputs, key=lambda c: c.index)
                for i, completion in zip(rows, completions, strict=True):
                    out[i] = [*head, *self._eos_appended(completion)]
        return out
