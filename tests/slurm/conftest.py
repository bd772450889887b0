"""The `slurm_cluster` fixture: a real single-node SLURM cluster (tests/slurm/cluster.py) for
the session, stopped by pid at the end. Where SLURM or munge is missing, scripts/ensure_slurm.sh
installs them (as root or through passwordless sudo); the tests are skipped only when it
cannot (not root, no sudo)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.slurm.cluster import LocalCluster, binaries_present
from tests.toy_run import REPO


def _can_install() -> bool:
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") is not None and (
        subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    )


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[LocalCluster]:
    """A running single-node cluster; its `env` points clients at it."""
    if not binaries_present():
        if not _can_install():
            pytest.skip("SLURM/munge not installed and not root, no passwordless sudo")
        subprocess.run(["bash", str(REPO / "scripts" / "ensure_slurm.sh")], check=True)
    if os.geteuid() != 0:
        pytest.skip("the test cluster runs slurmd as root: run the tests as root")
    cluster = LocalCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
