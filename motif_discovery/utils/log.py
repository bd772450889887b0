"""Logging to the console and to `<run_dir>/logs/<stage>.log`."""

from __future__ import annotations

import logging
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FILE_ONLY = {"file_only": True}  # `extra=` of a record the console already shows otherwise


class _NotFileOnly(logging.Filter):
    """Drops records logged with `extra=FILE_ONLY`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


def setup_logging(run_dir: str | Path, stage: str, level: str = "INFO") -> logging.Logger:
    """Attach a console and a per-stage file handler to the `motif_discovery` logger."""
    log_dir = Path(run_dir) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("motif_discovery")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler()
    console.addFilter(_NotFileOnly())
    for handler in (console, logging.FileHandler(log_dir / f"{stage}.log")):
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.propagate = False
    return logging.getLogger(f"motif_discovery.{stage}")


def log_to_file(message: str, level: int = logging.ERROR) -> None:
    """Add a line to the current stage's log file only (nothing before setup_logging)."""
    root = logging.getLogger("motif_discovery")
    if root.handlers:
        root.log(level, "%s", message, extra=FILE_ONLY)
