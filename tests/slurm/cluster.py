"""A single-node SLURM cluster for the tests: munged, slurmctld and slurmd run as root with
every config, state, log and pid file under one temporary folder (no systemd, no cgroups).

Clients find it through `SLURM_CONF` (and `sacct` on `PATH`: with no accounting database
the real `sacct` fails, so a stand-in answers from `squeue`, which keeps finished jobs for
MinJobAge = 1 h). Daemons are stopped by the pids in their pid files, after every job is
cancelled (job processes outlive slurmd).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
SACCT = """#!/bin/sh
# sacct stand-in (no accounting database): submitit's `sacct -o JobID,State,NodeList
# --parsable2 -j ID ...` answered from squeue, which lists finished jobs for MinJobAge.
ids=""
while [ $# -gt 0 ]; do
  case "$1" in -j) ids="$ids,$2"; shift 2 ;; *) shift ;; esac
done
echo "JobID|State|NodeList"
exec squeue -h -r -t all -j "${ids#,}" -o '%i|%T|%N'
"""


def binaries_present() -> bool:
    """True when the SLURM and munge programs the cluster needs are installed."""
    return all(
        shutil.which(name)
        for name in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _node_line(host: str) -> str:
    """`NodeName=... CPUs=... RealMemory=...` from `slurmd -C`, memory a little under it."""
    probe = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
    line = probe.stdout.splitlines()[0]
    memory = int(re.search(r"RealMemory=(\d+)", line).group(1))
    line = re.sub(r"RealMemory=\d+", f"RealMemory={int(memory * 0.9)}", line)
    return re.sub(r"^NodeName=\S+", f"NodeName={host} NodeAddr=127.0.0.1", line)


class LocalCluster:
    """One node, one default partition `debug`; `start()` returns once the node is idle."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="motif-slurm-", dir="/tmp"))
        self.root.chmod(0o755)  # munged refuses a socket folder any parent of which is not o+x
        for name in ("munge", "state", "spool", "log", "run", "bin"):
            (self.root / name).mkdir(mode=0o755)
        (self.root / "munge-key").mkdir(mode=0o700)
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket.2"
        self.env = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}",
        }

    def pid_file(self, daemon: str) -> Path:
        return self.root / "run" / f"{daemon}.pid"

    def _write_config(self) -> None:
        host = socket.gethostname().split(".")[0]
        (self.root / "plugstack.conf").write_text("")
        r = self.root
        lines = [
            "ClusterName=motiftest",
            f"SlurmctldHost={host}",
            "SlurmctldAddr=127.0.0.1",  # reachable even where the host name does not resolve
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={self.pid_file('slurmctld')}",
            f"SlurmdPidFile={self.pid_file('slurmd')}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            f"PlugStackConfig={r / 'plugstack.conf'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "AccountingStorageType=accounting_storage/none",
            "MinJobAge=3600",
            "KillWait=5",
            "ReturnToService=2",
            "SchedulerParameters=batch_sched_delay=0",
            "MailProg=/bin/true",
            _node_line(host),
            f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")
        sacct = self.root / "bin" / "sacct"
        sacct.write_text(SACCT)
        sacct.chmod(0o755)

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the three daemons; return when the node is idle (raise if it never is)."""
        self._write_config()
        key = self.root / "munge-key" / "munge.key"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
        r = self.root
        subprocess.run(
            [
                "munged",
                f"--key-file={key}",
                f"--socket={self.socket}",
                f"--pid-file={self.pid_file('munged')}",
                f"--log-file={r / 'log' / 'munged.log'}",
                f"--seed-file={r / 'munge' / 'munged.seed'}",
            ],
            check=True,
        )
        subprocess.run(["slurmctld"], env=self.env, check=True)
        subprocess.run(["slurmd"], env=self.env, check=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self._run("sinfo", "-h", "-o", "%T").stdout.strip()
            if state == "idle":
                return
            time.sleep(0.05)
        raise RuntimeError(f"slurm node not idle after {timeout_s} s (state {state!r}): {r}/log")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Cancel every job, wait for them to leave the node, then SIGTERM each daemon by pid."""
        jobs = self._run("squeue", "-h", "-o", "%A").stdout.split()
        if jobs:
            self._run("scancel", *jobs)
            deadline = time.monotonic() + timeout_s
            while (
                time.monotonic() < deadline
                and self._run(
                    "squeue", "-h", "-t", "RUNNING,COMPLETING,PENDING", "-o", "%A"
                ).stdout.strip()
            ):
                time.sleep(0.2)
        pids = []
        for daemon in reversed(DAEMONS):
            path = self.pid_file(daemon)
            if path.is_file():
                pid = int(path.read_text().split()[0])
                try:
                    os.kill(pid, signal.SIGTERM)
                    pids.append(pid)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for pid in pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
