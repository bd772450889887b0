"""Logging to the console and to `<run_dir>/logs/<stage>.log`."""

from __future__ import annotations

import logging
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(run_dir: str | Path, stage: str, level: str = "INFO") -> logging.Logger:
    """Attach a console and a per-stage file handler to the `motif_discovery` logger."""
    log_dir = Path(run_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("motif_discovery")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in (logging.StreamHandler(), logging.FileHandler(log_dir / f"{stage}.log")):
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.propagate = False
    return logging.getLogger(f"motif_discovery.{stage}")
