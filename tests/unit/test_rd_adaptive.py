"""Split and junk decisions against brute-force changes of L (docs/method.md: "Split gain and
acceptance", "Junk (merge) bound")."""

import numpy as np
import pytest
import torch

import motif_discovery.clustering.adaptive_control as ac
from motif_discovery.clustering.adaptive_control import (
    Members,
    junk_loop,
    junk_test,
    power_iteration,
    split_test,
)
from motif_discovery.clustering.centres import m_step
from motif_discovery.clustering.initialize import DatasetCache, Problem, state_from_assignment
from motif_discovery.clustering.median_index import MedianIndex
from motif_discovery.clustering.rd_objective import Rows
from tests.unit.test_rd_objective import brute_objective


def make_problem(e, a, p, beta_e, beta_a):
    e, a, p = (torch.as_tensor(x, dtype=torch.float64) for x in (e, a, p))
    p = p / p.sum()
    return Problem(e, a, p, beta_e, beta_a, "mean", DatasetCache(MedianIndex(a), {}), 0, 3)


def exact_L(problem, assign):
    """Brute-force L of an assignment at its exact (mean, median) centres."""
    assign = torch.as_tensor(assign)
    K = int(assign.max()) + 1
    c = m_step(problem.e, problem.a, problem.p, assign, K)
    return brute_objective(
        problem.e.numpy(),
        problem.a.numpy(),
        problem.p.numpy(),
        assign.numpy(),
        c.mu_e.numpy(),
        c.mu_a.numpy(),
        problem.beta_e,
        problem.beta_a,
    )[0]


def two_groups(n=12, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % 2
    e = np.stack([truth, 1 - truth], 1) + 0.01 * rng.normal(size=(n, 2))
    a = 3.0 * truth[:, None] * np.ones((n, 5)) + 0.01 * rng.laplace(size=(n, 5))
    return e, a, rng.random(n) + 0.5, truth


def test_split_accepted_for_separated_groups_with_exact_delta():
    e, a, p, truth = two_groups()
    problem = make_problem(e, a, p, 5.0, 5.0)
    state = state_from_assignment(problem, torch.zeros(len(p), dtype=torch.long))
    verdict = split_test(problem, state, 0)
    assert verdict.delta_L < 0
    split = np.zeros(len(p), dtype=int)
    split[verdict.members[~verdict.half].numpy()] = 1
    assert abs(np.corrcoef(split, truth)[0, 1]) == pytest.approx(1.0)
    brute = exact_L(problem, split) - exact_L(problem, np.zeros(len(p), dtype=int))
    assert verdict.delta_L == pytest.approx(brute, abs=1e-9)


def test_split_rejected_when_beta_is_tiny():
    e, a, p, _ = two_groups()
    problem = make_problem(e, a, p, 1e-3, 1e-3)
    state = state_from_assignment(problem, torch.zeros(len(p), dtype=torch.long))
    verdict = split_test(problem, state, 0)
    assert verdict.delta_L > 0
    # No bipartition at all lowers L here: the rate alone costs more than any distortion gain.
    rng = np.random.default_rng(1)
    L1 = exact_L(problem, np.zeros(len(p), dtype=int))
    for _ in range(20):
        cut = rng.integers(0, 2, len(p))
        if 0 < cut.sum() < len(p):
            assert exact_L(problem, cut) > L1


def test_split_of_a_single_point_is_impossible():
    problem = make_problem(np.ones((1, 2)), np.ones((1, 3)), np.ones(1), 1.0, 1.0)
    state = state_from_assignment(problem, torch.zeros(1, dtype=torch.long))
    assert split_test(problem, state, 0).delta_L == float("inf")


@pytest.mark.parametrize("seed", range(3))
def test_junk_delta_is_the_brute_force_change_at_current_centres(seed):
    rng = np.random.default_rng(seed)
    n = 30
    e, a, p = rng.normal(size=(n, 3)), rng.laplace(size=(n, 4)), rng.random(n)
    problem = make_problem(e, a, p, 0.5, 0.3)
    assign = torch.tensor(rng.integers(0, 4, n))
    assign[:4] = torch.arange(4)
    state = state_from_assignment(problem, assign)
    c = state.centres
    P = problem.p.numpy()
    before = brute_objective(
        e, a, P, state.assign.numpy(), c.mu_e.numpy(), c.mu_a.numpy(), 0.5, 0.3
    )[0]
    for k in range(state.K):
        v = junk_test(problem, state, k)
        moved = state.assign.clone()
        moved[v.members] = v.targets
        after = brute_objective(e, a, P, moved.numpy(), c.mu_e.numpy(), c.mu_a.numpy(), 0.5, 0.3)[0]
        assert v.delta_L == pytest.approx(after - before, abs=1e-9)
        # Targets follow the E-step rule among the other motifs.
        for i, n_ in enumerate(v.members.tolist()):
            scores = [
                np.inf
                if j == k
                else -np.log(float(c.prior[j]))
                + 0.5 * ((e[n_] - c.mu_e[j].numpy()) ** 2).sum()
                + 0.3 * np.abs(a[n_] - c.mu_a[j].numpy()).sum()
                for j in range(state.K)
            ]
            assert int(v.targets[i]) == int(np.argmin(scores))


def test_junk_accepts_a_redundant_motif():
    """Two motifs over identical points: deleting either removes rate at no distortion."""
    n = 10
    e, a = np.tile([[1.0, 0.0]], (n, 1)), np.tile([[0.5, -0.5, 2.0]], (n, 1))
    problem = make_problem(e, a, np.ones(n), 1.0, 1.0)
    state = state_from_assignment(problem, torch.tensor([0] * 7 + [1] * 3))
    assert junk_test(problem, state, 1).delta_L == pytest.approx(
        -exact_L(problem, [0] * 7 + [1] * 3)
    )
    events = junk_loop(problem, state)
    assert [ev["type"] for ev in events] == ["junk"]
    assert state.K == 1 and int(state.assign.max()) == 0


def test_junk_keeps_separated_motifs():
    e, a, p, truth = two_groups()
    problem = make_problem(e, a, p, 5.0, 5.0)
    state = state_from_assignment(problem, torch.tensor(truth))
    assert all(junk_test(problem, state, k).delta_L > 0 for k in range(2))
    assert junk_loop(problem, state) == []


@pytest.mark.parametrize("dual", [True, False])
def test_power_iteration_finds_the_top_axes(dual, monkeypatch):
    monkeypatch.setattr(ac, "DUAL_MAX_MEMBERS", 10_000 if dual else 0)
    rng = np.random.default_rng(0)
    n = 60
    x = rng.normal(size=(n, 8)) * np.array([12.0, 1, 1, 1, 1, 1, 1, 1])
    y = rng.normal(size=(n, 3)) * np.array([1.0, 9.0, 1.0])
    w = rng.random(n)
    members = torch.arange(n)
    views = [Rows(torch.tensor(x), members), Rows(torch.tensor(y), members)]
    scales = [[0.5, 2.0], [1.0, 0.0], [0.0, 1.0]]
    proj = power_iteration(views, scales, torch.tensor(w), seed=0).numpy()
    wn = w / w.sum()
    for i, (sx, sy) in enumerate(scales):
        X = np.hstack([sx * (x - wn @ x), sy * (y - wn @ y)])
        _, vecs = np.linalg.eigh(X.T @ (wn[:, None] * X))
        want = X @ vecs[:, -1]
        cos = proj[:, i] @ want / np.linalg.norm(proj[:, i]) / np.linalg.norm(want)
        assert abs(cos) > 0.999


def test_members_split_centres_are_exact():
    e, a, p, truth = two_groups(n=9)
    problem = make_problem(e, a, p, 1.0, 1.0)
    m = Members.of(problem, torch.arange(9))
    half = torch.tensor(truth == 0)
    mu_e, mu_a, prior = m.split_centres(problem, half)
    c = m_step(problem.e, problem.a, problem.p, torch.tensor(1 - (truth == 0).astype(int)), 2)
    torch.testing.assert_close(mu_e, c.mu_e)
    torch.testing.assert_close(prior, c.prior)
    torch.testing.assert_close(mu_a, c.mu_a)
