"""Unit test of the vLLM backend's requests and outputs against a stand-in `vllm` module
(vLLM needs a GPU; the real backend is tested in test_vllm.py where one is present)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

from motif_discovery.sampling.stop import Draw, StopRule
from motif_discovery.sampling.vllm_backend import VllmSampler
from tests.sampling.conftest import small_config

EOS, DOT, FISH, WOOL = 1, 30, 36, 50


@dataclass
class Completion:
    index: int
    token_ids: tuple[int, ...]
    finish_reason: str
    stop_reason: str | int | None


@dataclass
class StandIn:
    """Records every request; child i of a request returns one of three endings."""

    requests: list = field(default_factory=list)

    def generate(self, prompts, params, use_tqdm):
        outputs = []
        for prompt, param in zip(prompts, params, strict=True):
            self.requests.append((prompt["prompt_token_ids"], param))
            endings = [
                Completion(0, (FISH, EOS), "stop", None),  # EOS in the ids
                Completion(1, (WOOL,), "stop", None),  # EOS left out of the ids
                Completion(2, (FISH, DOT), "stop", "."),  # stop string
            ]
            picked = [endings[i % 3] for i in range(param["n"])]
            for i, c in enumerate(picked):
                picked[i] = Completion(i, c.token_ids, c.finish_reason, c.stop_reason)
            outputs.append(types.SimpleNamespace(outputs=picked[::-1]))  # any order
        return outputs


def stand_in_vllm(monkeypatch) -> StandIn:
    engine = StandIn()
    module = types.ModuleType("vllm")
    module.LLM = lambda **kwargs: engine
    module.SamplingParams = lambda **kwargs: kwargs
    module.TokensPrompt = lambda **kwargs: kwargs
    monkeypatch.setitem(sys.modules, "vllm", module)
    return engine


def test_requests_group_first_tokens_and_outputs_return_in_place(monkeypatch, toy):
    _, tokenizer = toy
    engine = stand_in_vllm(monkeypatch)
    config = small_config()
    rule = StopRule(tokenizer, config.sampling.stop, {EOS})
    sampler = VllmSampler(config.model, config.sampling, rule, 64, seed=0)
    context = [EOS, 5, 6]
    plan = [None, 41, None, 41, None, 42]
    rows = sampler.draw(context, plan, seed=1000)

    prompts = [prompt for prompt, _ in engine.requests]
    assert prompts == [context, [*context, 41], [*context, 42]]
    params = [param for _, param in engine.requests]
    assert [p["n"] for p in params] == [3, 2, 1]
    assert [p["max_tokens"] for p in params] == [20, 19, 19]
    child_seeds = [p["seed"] + i for p in params for i in range(p["n"])]
    assert len(set(child_seeds)) == 6
    assert all(p["include_stop_str_in_output"] and p["stop"] == [".", "?", "!"] for p in params)

    draws = [rule.cut(row) for row in rows]
    assert draws == [
        Draw((FISH,), EOS),
        Draw((41, FISH), EOS),
        Draw((WOOL,), EOS),
        Draw((41, WOOL), EOS),
        Draw((FISH, DOT), None),
        Draw((42, FISH), EOS),
    ]
