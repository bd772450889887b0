"""Shared test fixtures."""

import pytest
import torch
from threadpoolctl import threadpool_limits


@pytest.fixture
def one_thread():
    """One torch and BLAS/OpenMP thread: on 2 shared cores, spinning pools run 30-50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def toy_world_run(tmp_path_factory):
    """(run directory, driver process) of the small toy-world run, stages 1-8, made once per
    test session. Tests that change it must work on a copy."""
    from tests.toy_run import drive

    run_dir = tmp_path_factory.mktemp("toy_world_run")
    proc = drive(run_dir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir, proc
