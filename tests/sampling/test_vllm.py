"""The vLLM backend on the toy model (needs CUDA and the `gpu` extra; skipped otherwise)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from motif_discovery.model.context import prefix_ids
from motif_discovery.sampling.backend import vllm_available
from motif_discovery.sampling.stage import branch_prefix
from tests.sampling.conftest import cloze_rows, small_config, toy_models

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not vllm_available(), reason="needs CUDA and vLLM (the gpu extra)"),
]


def test_vllm_writes_the_hf_record_format_reproducibly():
    overrides = ("model.dtype=float32", "sampling.n=500")
    config = small_config("sampling.backend=vllm", "run.device=cuda", *overrides)
    models = toy_models(config)
    row = cloze_rows()[0]
    context = prefix_ids(models.tokenizer, row["text"], config.model, "raw")
    records, info = branch_prefix(models, context, config, row["prefix_id"])
    again, _ = branch_prefix(models, context, config, row["prefix_id"])
    assert records == again and info["backend"] == "vllm"

    hf_config = small_config("sampling.backend=hf", "run.device=cpu", *overrides)
    hf_records, _ = branch_prefix(toy_models(hf_config), context, hf_config, row["prefix_id"])
    assert [sorted(r) for r in records] == [sorted(hf_records[0])] * len(records)

    model64 = copy.deepcopy(models.get()[0]).double()
    for r in records:
        assert r["backend"] == "vllm" and r["text"][-1] in ".?!"
        assert models.tokenizer.decode(r["token_ids"]) == r["text"]
        ids = torch.tensor([[*context, *r["token_ids"]]], device=model64.device)
        with torch.no_grad():
            logp = model64(input_ids=ids).logits[0].log_softmax(-1)
        n = len(context)
        expected = [float(logp[n - 1 + j, t]) for j, t in enumerate(r["token_ids"])]
        assert r["p_n"] == pytest.approx(math.exp(sum(expected) / len(expected)), rel=1e-4)
    shared = {r["text"] for r in records} & {r["text"] for r in hf_records}
    assert len(shared) >= 5  # the two backends sample the same distribution
