"""Shared test fixtures."""

import os
import shutil
from pathlib import Path

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
def toy_stage5_run(tmp_path_factory) -> Path:
    """A toy-world run with stages 1-5 done (tests/toy_run.py's small config: real model,
    transcoders and MiniLM; 2 prefixes, N <= 40), made once per session in this process
    (one import of the libraries instead of one per stage script). Tests copy it and never
    change it. MOTIF_TOY_RUN=<run dir> names an existing run instead (it is only read)."""
    if os.environ.get("MOTIF_TOY_RUN"):
        return Path(os.environ["MOTIF_TOY_RUN"])
    from motif_discovery.attribution import stage as attribution
    from motif_discovery.clustering import stage as clustering
    from motif_discovery.data import preparation
    from motif_discovery.embedding import stage as embedding
    from motif_discovery.sampling import stage as sampling
    from motif_discovery.utils.config import load_config, to_dict
    from motif_discovery.utils.io import write_json
    from tests.toy_run import REPO, SMALL

    run_dir = tmp_path_factory.mktemp("toy_stage5_run") / "run"
    config = load_config(REPO / "configs" / "toy_world.json", SMALL)
    run_dir.mkdir(parents=True)
    write_json(run_dir / "config.resolved.json", to_dict(config))  # as every stage script does
    cwd, threads = Path.cwd(), torch.get_num_threads()
    os.chdir(REPO)  # the config names the toy world's files relative to the repository
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            for stage in (preparation, sampling, attribution, embedding, clustering):
                stage.run(config, run_dir)
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)
    return run_dir


@pytest.fixture(scope="session")
def toy_world_run(request, tmp_path_factory):
    """(run directory, driver process) of the small toy-world run with stages 1-8, made once
    per session by the driver, which finds stages 1-5 done (copied from toy_stage5_run)
    and runs 6-8 (with MOTIF_TOY_RUN set, the driver runs all eight itself, on the small
    config). Tests that change it must work on a copy."""
    from tests.toy_run import drive

    run_dir = tmp_path_factory.mktemp("toy_world_run") / "run"
    if not os.environ.get("MOTIF_TOY_RUN"):
        shutil.copytree(request.getfixturevalue("toy_stage5_run"), run_dir)
    proc = drive(run_dir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir, proc
