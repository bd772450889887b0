"""Running a block of CPU work on one thread."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits


@contextmanager
def one_thread():
    """Run the block on one thread (torch's intra-op pool, BLAS and OpenMP), then restore.
    Stages 5 and 8 are many small operations; on a shared 2-core machine two threads made
    stage 5's sweep ten times and the baselines up to a hundred times more CPU-hungry
    (OpenMP waits; benchmarks/bench_clustering.py), for little gain on a quiet one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)
