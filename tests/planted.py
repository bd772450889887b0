"""Small planted two-view data for unit tests (the official generator is data/synthetic.py)."""

import numpy as np


def planted_views(seed, n, d_e, d_a, k, e_noise, a_density, a_scale, a_noise):
    """(e [n,d_e] unit rows, a [n,d_a], rng): k groups, Gaussian semantic noise, sparse
    attribution centres of the given density plus Laplace noise."""
    g = np.random.default_rng(seed)
    truth = np.arange(n) % k
    e = g.normal(size=(k, d_e))[truth] + e_noise * g.normal(size=(n, d_e))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    a = a_scale * g.normal(size=(k, d_a))[truth] * (g.random((k, d_a)) < a_density)[truth]
    a += a_noise * g.laplace(size=(n, d_a))
    return e, a, g
