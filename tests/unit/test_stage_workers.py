"""Stage 5 with its baselines on a pool of worker threads: the same outputs as one thread."""

import json
import os
import subprocess
import sys

import pytest
import torch

from motif_discovery.clustering import stage
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from tests.planted import planted


@pytest.fixture(scope="module")
def features():
    e, a, p, truth = planted(seed=3, n=90, dtype=torch.float32)
    return FeatureSet(
        prefix_id="planted",
        e=e,
        a=a,
        p=p,
        H_0=torch.zeros(a.shape[1]),
        scale=1.0,
        continuation_ids=[str(i) for i in range(e.shape[0])],
        labels={"motif": truth.tolist()},
    )


def outputs(features, workers):
    config = load_config(
        overrides=["clustering.beta=[0.5, 2.0, 8.0]", "clustering.gamma=[0.1, 0.5, 0.9]"]
    )
    return stage.cluster_features(
        features, config.clustering, stage.sweep_settings(config), "cpu", torch.float32, workers
    )


def test_two_workers_give_exactly_the_outputs_of_one(features):
    one, two = outputs(features, 1), outputs(features, 2)
    assert list(one) == list(two)
    assert len({o.result.K for o in one.values()}) > 1  # several K, so several jobs
    for config in one:
        a, b = one[config], two[config]
        assert torch.equal(a.result.assign, b.result.assign)
        assert a.baseline_assign == b.baseline_assign
        assert list(a.scores) == list(b.scores)
        for name in a.scores:
            assert list(a.scores[name]) == list(b.scores[name])
            for key, value in a.scores[name].items():
                other = b.scores[name][key]
                assert value == other or (value != value and other != other), (name, key)


PROBE = """
import json
from threadpoolctl import threadpool_info
from motif_discovery.clustering import stage

def probe():
    return sorted({(p["user_api"], p["num_threads"]) for p in threadpool_info()})

outside = probe()
with stage.one_thread():
    inside = list(stage.in_order([probe] * 4, workers=2))
print(json.dumps({"outside": outside, "inside": inside}))
"""


def test_each_worker_runs_on_one_blas_and_one_openmp_thread():
    """OpenMP's limit is per thread: in a fresh process that allows 2 threads, every job in
    the pool still sees 1 BLAS and 1 OpenMP thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout)
    assert {n for _, n in seen["outside"]} == {2}  # the limit below is not the default
    assert len(seen["inside"]) == 4
    for apis in seen["inside"]:
        assert {api for api, _ in apis} >= {"blas", "openmp"}
        assert {n for _, n in apis} == {1}


def test_workers_must_be_at_least_one():
    assert load_config(overrides=["run.workers=1"]).run.workers == 1
    with pytest.raises(InputError, match=r"run\.workers"):
        load_config(overrides=["run.workers=0"])
