"""Stage 2 on the toy model: reproducibility, the stop rule, P_n, first-token discovery."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from motif_discovery.model.context import prefix_ids
from motif_discovery.sampling.backend import HFSampler, backend_name, call_seed
from motif_discovery.sampling.first_tokens import (
    FirstToken,
    call_plan,
    discover,
    next_token_probs,
)
from motif_discovery.sampling.scoring import score
from motif_discovery.sampling.stage import branch_prefix
from motif_discovery.sampling.stop import Draw, StopRule
from motif_discovery.toy_world.evaluate import sampler_reach
from tests.sampling.conftest import cloze_rows, small_config, toy_models

STOP = (".", "?", "!")


def context_of(tokenizer, config, index: int) -> tuple[str, list[int]]:
    row = cloze_rows()[index]
    return row["prefix_id"], prefix_ids(tokenizer, row["text"], config.model, "raw")


def sample(config, index: int = 0):
    models = toy_models(config)
    prefix_id, context = context_of(models.tokenizer, config, index)
    records, info = branch_prefix(models, context, config, prefix_id)
    return records, info, context


@pytest.fixture(scope="module")
def model64(toy):
    return copy.deepcopy(toy[0]).double()


def plain_logprobs(model64, context: list[int], tail: list[int]) -> list[float]:
    """log p(t_j | context, t_<j) from one unpadded float64 forward pass."""
    ids = torch.tensor([[*context, *tail]])
    with torch.no_grad():
        logp = model64(input_ids=ids).logits[0].log_softmax(-1)
    n = len(context)
    return [float(logp[n - 1 + j, t]) for j, t in enumerate(tail)]


def test_same_seed_same_records_other_seed_other_records():
    first, _, _ = sample(small_config())
    again, _, _ = sample(small_config())
    other, _, _ = sample(small_config("run.seed=7"))
    assert first == again
    assert [r["text"] for r in first] != [r["text"] for r in other]


def test_call_seeds_depend_on_seed_prefix_and_call():
    seeds = {call_seed(s, p, c) for s in (0, 1) for p in ("a", "b") for c in (0, 1)}
    assert len(seeds) == 8 and call_seed(0, "a", 0) == call_seed(0, "a", 0)


def test_stop_rule_keeps_the_stop_mark_and_texts_decode_from_tokens(toy):
    _, tokenizer = toy
    records, info, _ = sample(small_config("sampling.max_calls=6", "sampling.n=500"))
    assert info["truncated"] == 0 and info["ended_by_eos"] == 0
    for r in records:
        first_stop = min(r["text"].index(c) for c in STOP if c in r["text"])
        assert first_stop == len(r["text"]) - 1
        assert tokenizer.decode(r["token_ids"]) == r["text"]
        assert r["text"].startswith(" ")
    texts = {r["text"] for r in records}
    assert len(texts) == len(records)
    # the same words with "." and with "!" are two records
    assert any(t.endswith(" .") and t[:-1] + "!" in texts for t in texts)


def test_every_text_lies_in_the_exact_top_p_support(toy):
    """The support enumerated token by token (toy_world.evaluate.sampler_reach: each token
    inside the top-p nucleus at T = 1) holds every sampled text, forced or free."""
    model, tokenizer = toy
    records, info, _ = sample(small_config("sampling.max_calls=6", "sampling.n=500"))
    support = sampler_reach(model, tokenizer, cloze_rows()[0]["text"], 0.9, 20)
    assert info["distinct"] == len(records) > 50
    assert {r["text"] for r in records} <= support.keys()


def test_stop_rule_cut(toy):
    _, tokenizer = toy
    ids = tokenizer("mostly fish , of course . wool !", add_special_tokens=False).input_ids
    rule = StopRule(tokenizer, STOP, {tokenizer.eos_token_id})
    assert rule.cut(ids) == Draw(tuple(ids[:6]), None)
    eos = tokenizer.eos_token_id
    assert rule.cut([ids[1], eos, ids[0]]) == Draw((ids[1],), eos)
    assert rule.cut(ids[:3]) == Draw(tuple(ids[:3]), None)  # max_new_tokens reached
    assert rule.text([eos, *ids[:1]], ids[1:6]) == " fish , of course ."


def test_p_n_matches_a_plain_float64_forward_pass(toy, model64):
    records, _, context = sample(small_config())
    for r in records:
        expected = plain_logprobs(model64, context, r["token_ids"])
        assert r["token_logprobs"] == pytest.approx(expected, abs=1e-5)
        p_n = math.exp(sum(expected) / len(expected))
        assert r["p_n"] == pytest.approx(p_n, rel=1e-5, abs=1e-7)
    assert sum(r["p_norm"] for r in records) == pytest.approx(1.0, abs=1e-9)
    assert [r["p_n"] for r in records] == sorted((r["p_n"] for r in records), reverse=True)
    assert [r["continuation_id"] for r in records] == [
        f"{records[0]['prefix_id']}.{i:04d}" for i in range(len(records))
    ]


def test_p_n_includes_eos_when_eos_ended_the_continuation(toy, model64):
    model, tokenizer = toy
    _, context = context_of(tokenizer, small_config(), 0)
    words = tokenizer(" mostly wood", add_special_tokens=False).input_ids
    eos = tokenizer.eos_token_id
    with_eos, without = score(
        model, context, [Draw(tuple(words), eos), Draw(tuple(words), None)], 8
    )
    expected = plain_logprobs(model64, context, [*words, eos])
    assert with_eos.token_logprobs == pytest.approx(expected[:-1], abs=1e-5)
    assert with_eos.eos_logprob == pytest.approx(expected[-1], abs=1e-5)
    assert with_eos.p_n == pytest.approx(math.exp(sum(expected) / 3), rel=1e-5)
    assert without.eos_logprob is None
    assert without.p_n == pytest.approx(math.exp(sum(expected[:-1]) / 2), rel=1e-5)


def test_p_n_does_not_depend_on_forcing():
    forced, info_forced, _ = sample(small_config())
    free, info_free, _ = sample(small_config("sampling.first_token_min_prob=1.0"))
    assert info_forced["first_tokens"] and not info_free["first_tokens"]
    by_text = {r["text"]: r for r in free}
    common = [r for r in forced if r["text"] in by_text]
    assert len(common) >= 5
    for r in common:
        assert r["p_n"] == pytest.approx(by_text[r["text"]]["p_n"], rel=1e-6)
        assert r["token_logprobs"] == pytest.approx(by_text[r["text"]]["token_logprobs"], abs=1e-6)


def test_first_token_set_matches_an_independent_nucleus(toy, model64):
    _, tokenizer = toy
    config = small_config()
    for index in (0, 9):
        _, context = context_of(tokenizer, config, index)
        with torch.no_grad():
            probs = model64(input_ids=torch.tensor([context])).logits[0, -1].softmax(-1)
        ranked = sorted(range(len(probs)), key=lambda t: -float(probs[t]))
        expected, mass = [], 0.0
        for t in ranked:
            if mass >= 0.9:
                break
            if float(probs[t]) >= 0.01 and t != tokenizer.eos_token_id:
                expected.append(t)
            mass += float(probs[t])
        found = discover(probs.float(), 0.9, 0.01, frozenset({tokenizer.eos_token_id}))
        assert [f.token_id for f in found] == expected


def test_rare_first_tokens_are_found_with_a_tiny_budget(toy):
    """The cloze whose rarest discovered first token is least probable (toy-009: five first
    tokens of probability 0.016-0.02, >= first_token_min_prob 0.01) sampled with a budget of
    about 2 |F| samples: every first token of F starts a kept continuation, though plain
    sampling of the same budget would miss the rarest with probability > 1/2."""
    model, tokenizer = toy
    config = small_config("sampling.batch_size=8", "sampling.n=500")
    rarest = []
    for index in range(len(cloze_rows())):
        _, context = context_of(tokenizer, config, index)
        probs = next_token_probs(model, context, 1.0)
        first = discover(probs, 0.9, 0.01, frozenset({tokenizer.eos_token_id}))
        rarest.append((min(f.prob for f in first), index, len(first)))
    p, index, size = min(rarest)
    calls = math.ceil(2 * size / 8)
    budget = 8 * calls
    assert p >= 0.01 and (1 - p) ** budget > 0.5
    records, info, _ = sample(
        small_config("sampling.batch_size=8", f"sampling.max_calls={calls}", "sampling.n=500"),
        index=index,
    )
    assert min(f["prob"] for f in info["first_tokens"]) == pytest.approx(p, rel=1e-5)
    seen = {r["token_ids"][0] for r in records}
    assert {f["token_id"] for f in info["first_tokens"]} <= seen
    assert all(f["kept"] >= 1 for f in info["first_tokens"])


def test_call_plan_is_half_free_and_round_robin():
    first = [FirstToken(t, 0.1) for t in (5, 6, 7)]
    plans = [call_plan(c, 4, first) for c in range(3)]
    flat = [t for plan in plans for t in plan]
    assert flat[0::2] == [None] * 6
    assert flat[1::2] == [5, 6, 7, 5, 6, 7]
    assert call_plan(0, 4, []) == [None] * 4


def test_auto_backend_is_hf_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    assert backend_name("auto") == "hf"


def test_the_models_own_generation_defaults_do_not_change_the_draws(toy):
    """generate() replaces settings left at the library's defaults (temperature 1.0) with
    the model's generation_config; a real model's T = 0.6 must not leak into sampling."""
    model, tokenizer = toy
    settings = small_config("sampling.max_new_tokens=8").sampling
    rule = StopRule(tokenizer, STOP, {tokenizer.eos_token_id})
    context = prefix_ids(tokenizer, cloze_rows()[1]["text"], small_config().model, "raw")
    shy = copy.deepcopy(model)
    shy.generation_config.temperature = 0.05
    shy.generation_config.top_p = 0.3
    shy.generation_config.do_sample = True
    firsts = [None] * 32
    ours = HFSampler(model, rule, settings).draw(context, firsts, seed=3)
    theirs = HFSampler(shy, rule, settings).draw(context, firsts, seed=3)
    assert ours == theirs and len({tuple(row) for row in ours}) > 4
