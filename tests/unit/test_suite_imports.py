"""The suite cannot hide a broken project module: no test skips when one fails to import."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def skipped_project_imports(source: str) -> list[str]:
    """Module names passed to `importorskip` that belong to the project (motif_discovery)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).split(".")[0] == "motif_discovery"
        ):
            names.append(node.args[0].value)
    return names


def test_detector_sees_a_skipped_project_import():
    source = 'import pytest\nm = pytest.importorskip("motif_discovery.clustering.em_loop")\n'
    assert skipped_project_imports(source) == ["motif_discovery.clustering.em_loop"]
    assert skipped_project_imports('pytest.importorskip("mvlearn.cluster")') == []


def test_no_test_or_benchmark_skips_a_project_import():
    found = {
        str(path.relative_to(ROOT)): names
        for folder in ("tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (names := skipped_project_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}
