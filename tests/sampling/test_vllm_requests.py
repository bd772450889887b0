"""Unit test of the vLLM backend's requests and outputs against a stand-in `vllm` module
(vLLM needs a GPU; the real backend is tested in test_vllm.py where one is present)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from motif_discovery.sampling.stop import Draw, StopRule
from motif_discovery.sampling.vllm_backend import VllmSampler
from motif_discovery.utils.errors import InputError
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


def stand_in_vllm(monkeypatch, engine_args: dict | None = None) -> StandIn:
    """A stand-in `vllm` module whose LLM records its keyword arguments in `engine_args`."""
    engine = StandIn()
    module = types.ModuleType("vllm")

    def llm(**kwargs):
        if engine_args is not None:
            engine_args.update(kwargs)
        return engine

    module.LLM = llm
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


def test_engine_takes_the_configured_vllm_settings(monkeypatch, toy):
    _, tokenizer = toy
    engine_args: dict = {}
    stand_in_vllm(monkeypatch, engine_args)
    config = small_config(
        "sampling.vllm.gpu_memory_utilization=0.8",
        "sampling.vllm.max_model_len=128",
        "sampling.vllm.tensor_parallel_size=2",
        "sampling.vllm.enforce_eager=true",
        "model.dtype=float16",
    )
    VllmSampler(config.model, config.sampling, StopRule(tokenizer, ["."], {EOS}), 64, seed=3)
    assert engine_args["gpu_memory_utilization"] == 0.8
    assert engine_args["max_model_len"] == 128
    assert engine_args["tensor_parallel_size"] == 2
    assert engine_args["enforce_eager"] is True
    assert engine_args["dtype"] == "float16" and engine_args["seed"] == 3


def test_engine_length_defaults_to_the_stage_limit_and_refuses_a_shorter_one(monkeypatch, toy):
    _, tokenizer = toy
    engine_args: dict = {}
    stand_in_vllm(monkeypatch, engine_args)
    rule = StopRule(tokenizer, ["."], {EOS})
    config = small_config()
    VllmSampler(config.model, config.sampling, rule, 64, seed=0)
    assert engine_args["max_model_len"] == 64
    assert engine_args["gpu_memory_utilization"] == 0.5
    short = small_config("sampling.vllm.max_model_len=32")
    with pytest.raises(InputError, match=r"sampling\.vllm\.max_model_len: 32") as refused:
        VllmSampler(short.model, short.sampling, rule, 64, seed=0)
    # it names what it compares: the model's context limit, not a per-prefix need
    assert "below the model's context limit of 64 tokens (model.max_context" in str(refused.value)
