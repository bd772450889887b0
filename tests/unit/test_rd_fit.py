"""fit_rd end to end: monotone L, bad inputs, trivial cases, determinism, a planted case."""

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.inputs import validate_inputs
from motif_discovery.clustering.rd_objective import rd_objective
from motif_discovery.utils.errors import InputError
from tests.planted import planted
from tests.unit.test_rd_objective import brute_objective


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 25),
    seed=st.integers(0, 10_000),
    beta=st.floats(0.05, 30.0),
    gamma=st.floats(0.0, 1.0),
    K_max=st.integers(1, 6),
)
def test_objective_never_increases(n, seed, beta, gamma, K_max):
    rng = np.random.default_rng(seed)
    e = torch.tensor(rng.normal(size=(n, 3)))
    a = torch.tensor(rng.laplace(size=(n, 4)).round(1))
    p = torch.tensor(rng.random(n) + 0.01)
    r = fit_rd(e, a, p, beta, gamma, K_max=K_max, max_iter=15)
    Ls = [h["L"] for h in r.history]
    assert all(b <= a_ + 1e-10 * max(1.0, abs(a_)) for a_, b in itertools.pairwise(Ls))
    assert r.monotone
    assert 1 <= r.K <= K_max and int(r.assign.max()) + 1 == r.K
    P = (p / p.sum()).numpy()
    L = brute_objective(
        e.numpy(),
        a.numpy(),
        P,
        r.assign.numpy(),
        r.mu_e.numpy(),
        r.mu_a.numpy(),
        r.beta_e,
        r.beta_a,
    )[0]
    assert pytest.approx(L, abs=1e-6) == r.terms.L
    assert r.history[-1]["L"] == pytest.approx(L, abs=1e-6)


def test_planted_data_do_not_depend_on_the_global_rngs():
    torch.manual_seed(1)
    np.random.seed(1)
    first = planted()
    torch.manual_seed(2)
    np.random.seed(2)
    second = planted()
    for x, y in zip(first, second, strict=True):
        assert torch.equal(x, y)


def test_planted_groups_are_recovered():
    e, a, p, truth = planted()
    r = fit_rd(e, a, p, beta=1.0, gamma=0.5)
    assert adjusted_rand_score(truth.numpy(), r.assign.numpy()) >= 0.9
    assert r.converged and r.monotone
    assert any(ev["type"] == "split" for h in r.history for ev in h["events"])


def test_planted_float32_and_warm_start():
    e, a, p, truth = planted(dtype=torch.float32)
    r = fit_rd(e, a, p, beta=1.0, gamma=0.3)
    assert adjusted_rand_score(truth.numpy(), r.assign.numpy()) >= 0.9
    warm = fit_rd(e, a, p, beta=1.25, gamma=0.3, init=r)
    assert warm.history[0]["K"] == r.K
    assert adjusted_rand_score(truth.numpy(), warm.assign.numpy()) >= 0.9


def test_same_seed_same_result():
    e, a, p, _ = planted(n=90, seed=3, dtype=torch.float32)
    r1 = fit_rd(e, a, p, 0.75, 0.7, seed=4)
    r2 = fit_rd(e.clone(), a.clone(), p.clone(), 0.75, 0.7, seed=4)
    assert torch.equal(r1.assign, r2.assign)
    assert r1.terms == r2.terms
    assert r1.history == r2.history
    # A third run on the first tensors reuses their cached orders and bipartitions.
    fit_rd(e, a, p, 1.25, 0.3, seed=4)
    r3 = fit_rd(e, a, p, 0.75, 0.7, seed=4)
    assert torch.equal(r1.assign, r3.assign) and r1.history == r3.history


def test_per_dim_scale_and_spherical_centres():
    e, a, p, _ = planted(n=60)
    r = fit_rd(e, a, p, 1.0, 0.5, distortion_scale="per_dim", semantic_center="spherical")
    assert r.beta_e == pytest.approx(0.5 / e.shape[1]) and r.beta_a == pytest.approx(
        0.5 / a.shape[1]
    )
    torch.testing.assert_close(r.mu_e.norm(dim=1), torch.ones(r.K, dtype=r.mu_e.dtype))
    assert isinstance(r.monotone, bool)
    P = p / p.sum()
    direct = rd_objective(e, a, P, r.assign, r.mu_e, r.mu_a, r.beta_e, r.beta_a)
    assert r.terms == direct
    assert r.to_json()["distortion_scale"] == "per_dim"


def test_k_max_caps_the_number_of_motifs():
    e, a, p, _ = planted()
    assert fit_rd(e, a, p, 1.0, 0.5, K_max=2).K == 2
    assert fit_rd(e, a, p, 1.0, 0.5, K_max=1).K == 1


def test_trivial_inputs_give_one_motif():
    one = fit_rd(torch.ones(1, 3), torch.ones(1, 4), torch.ones(1), 1.0, 0.5)
    assert one.K == 1 and one.terms.L == 0.0 and one.converged
    same = fit_rd(torch.ones(30, 3), torch.full((30, 4), 2.0), torch.rand(30), 50.0, 0.5)
    assert same.K == 1 and pytest.approx(0.0, abs=1e-6) == same.terms.L
    assert torch.equal(same.mu_a[0], torch.full((4,), 2.0))


def test_max_iter_without_tolerance_is_not_converged():
    e, a, p, _ = planted()
    r = fit_rd(e, a, p, 1.0, 0.5, max_iter=1, tol=0.0)
    assert r.iterations == 1 and not r.converged


@pytest.mark.parametrize(
    ("e", "a", "p", "message"),
    [
        (torch.full((3, 2), float("nan")), torch.ones(3, 2), torch.ones(3), "e: .*non-finite"),
        (
            torch.ones(3, 2),
            torch.tensor([[1.0, float("inf")]] * 3),
            torch.ones(3),
            "a: .*non-finite",
        ),
        (
            torch.ones(3, 2),
            torch.ones(3, 2),
            torch.tensor([1.0, float("nan"), 1.0]),
            "p: .*non-finite",
        ),
        (torch.ones(3, 2), torch.ones(4, 2), torch.ones(3), "mismatched N"),
        (torch.ones(3, 2), torch.ones(3, 2), torch.ones(2), "mismatched N"),
        (torch.ones(3, 2), torch.ones(3, 2), torch.tensor([1.0, -1.0, 1.0]), "negative"),
        (torch.ones(3, 2), torch.ones(3, 2), torch.zeros(3), "all weights are zero"),
        (torch.ones(0, 2), torch.ones(0, 2), torch.ones(0), "empty set"),
        (torch.ones(3), torch.ones(3, 2), torch.ones(3), "e: expected 2 dimensions"),
        (torch.ones(3, 2), torch.ones(3, 2), torch.ones(3, 1), "p: expected 1 dimensions"),
    ],
)
def test_bad_inputs_name_the_problem(e, a, p, message):
    with pytest.raises(InputError, match=message):
        validate_inputs(e, a, p)
    with pytest.raises(InputError, match=message):
        fit_rd(e, a, p, 1.0, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": 0.0}, "beta"),
        ({"beta": -1.0}, "beta"),
        ({"gamma": -0.1}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"K_max": 0}, "K_max"),
        ({"semantic_center": "median"}, "semantic_center"),
        ({"distortion_scale": "mean"}, "distortion_scale"),
    ],
)
def test_bad_parameters_name_the_problem(kwargs, message):
    args = {"beta": 1.0, "gamma": 0.5, **kwargs}
    with pytest.raises(InputError, match=message):
        fit_rd(torch.ones(3, 2), torch.ones(3, 2), torch.ones(3), **args)


def test_weights_are_normalized():
    _, _, p = validate_inputs(torch.ones(3, 2), torch.ones(3, 2), torch.tensor([1.0, 2.0, 1.0]))
    torch.testing.assert_close(p, torch.tensor([0.25, 0.5, 0.25]))


def test_shared_work_is_released_with_the_data():
    import gc
    import weakref

    from motif_discovery.clustering import initialize

    e, a, p, _ = planted(n=40)
    fit_rd(e, a, p, 1.0, 0.5)
    assert initialize._SHARED
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None and not initialize._SHARED


def test_settings_have_one_set_of_defaults_the_configs():
    from motif_discovery.clustering.settings import FitSettings
    from motif_discovery.utils.config import load_config

    assert FitSettings() == FitSettings.from_config(load_config().clustering, seed=0)
    changed = FitSettings.from_config(load_config(overrides=["clustering.K_max=7"]).clustering, 3)
    assert changed.K_max == 7 and changed.seed == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [({"lloyd_steps": -1}, "lloyd_steps"), ({"max_iter": 0}, "max_iter"), ({"tol": -1.0}, "tol")],
)
def test_bad_settings_are_input_errors(change, message):
    e, a, p, _ = planted(n=30)
    with pytest.raises(InputError, match=message):
        fit_rd(e, a, p, 1.0, 0.5, **change)


def test_lloyd_steps_zero_keeps_the_proposals_unrefined():
    e, a, p, _ = planted(n=60)
    r = fit_rd(e, a, p, 1.0, 0.5, lloyd_steps=0)
    assert r.monotone and r.K >= 1


def test_a_warm_start_that_does_not_fit_is_an_error():
    e, a, p, _ = planted(n=60)
    r = fit_rd(e, a, p, 1.0, 0.5)
    short = dataclasses.replace(r, assign=r.assign[:-1])
    with pytest.raises(InputError, match="warm start: assignment of shape"):
        fit_rd(e, a, p, 1.0, 0.5, init=short)
    with pytest.raises(InputError, match="exceed K_max"):
        fit_rd(e, a, p, 1.0, 0.5, init=r, K_max=r.K - 1)
