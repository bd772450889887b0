"""Small planted two-view data for tests, drawn by the package's generator (data/synthetic.py)."""

import torch

from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic


def planted(seed=0, n=120, d_e=16, d_a=200, n_meanings=3, dtype=torch.float64, **knobs):
    """(e, a, p, truth): the generator's "easy" setting at a small size (few shared, active
    and spurious coordinates, so the patterns fit in d_a), a preprocessed as stage 4 does,
    P raw and lognormal. Seeded by `seed` alone, never by a global RNG."""
    params = SyntheticParams(
        setting="easy",
        n=n,
        d_e=d_e,
        d_a=d_a,
        n_meanings=n_meanings,
        **{"n_shared": 4, "n_active": 48, "n_spurious": 4, **knobs},
    )
    fs = generate_synthetic(params, seed=seed)
    truth = torch.tensor(fs.labels["motif"])
    return fs.e.to(dtype), fs.a.to(dtype), fs.p.to(dtype), truth
