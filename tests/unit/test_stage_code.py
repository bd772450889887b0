"""Every module a stage imports (transitively, within the package) is in its Stage.code,
so editing it reruns the stage's units; imports found by parsing the sources (ast)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "motif_discovery"


def package_imports(path: Path) -> set[Path]:
    """The package's module files that `path` imports (from X import Y: X, or X/Y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "motif_discovery":
                continue
            base = PACKAGE.joinpath(*parts[1:])
            found |= {p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()}
    return found


def imported_modules(start: Path) -> set[Path]:
    seen, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(package_imports(path))
    return seen


@pytest.mark.parametrize(
    "module",
    [
        "motif_discovery.graphs.stage",
        "motif_discovery.validation.graph_stage",
        "motif_discovery.validation.steering_stage",
        "motif_discovery.visualization.stage",
    ],
)
def test_stage_code_covers_every_imported_module(module):
    stage = importlib.import_module(module).STAGE
    start = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")

    def covered(path: Path) -> bool:
        relative = path.relative_to(PACKAGE)
        return any(
            relative == Path(entry) or Path(entry) in relative.parents for entry in stage.code
        )

    missing = sorted(
        str(p.relative_to(PACKAGE))
        for p in imported_modules(start)
        if p.name != "__init__.py" and not covered(p)
    )
    assert missing == []
