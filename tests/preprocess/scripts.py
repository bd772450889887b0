"""Run a 0_preprocess/ script in this process, as its command line would."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_script(name: str, *args: str) -> int:
    """Exit status of `python 0_preprocess/<name>.py ARGS` (0 when it returns normally)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "0_preprocess" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", [f"{name}.py", *args])
        try:
            module.stage_main(module.main, module.parser())
        except SystemExit as done:
            return int(done.code)
    return 0
