"""The benchmarks import the app lazily, inside each bench: a moved module would only show when `make bench` runs.
Every `from optscale_tui… import name` in benchmarks/ and scripts/ must resolve now."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("benchmarks").rglob("*.py"), *ROOT.joinpath("scripts").rglob("*.py")])


def _imports(path: Path) -> list[tuple[int, str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("optscale_tui"):
            found.extend((node.lineno, node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, "") for alias in node.names if alias.name.startswith("optscale_tui"))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_app_import_of_the_benchmarks_and_scripts_resolves(path: Path) -> None:
    missing = []
    for line, module_name, name in _imports(path):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing.append(f"{path.name}:{line}: {module_name} ({exc})")
            continue
        if name and not hasattr(module, name):
            try:
                importlib.import_module(f"{module_name}.{name}")
            except ImportError:
                missing.append(f"{path.name}:{line}: {module_name}.{name}")
    assert not missing, "\n".join(missing)


def test_the_benchmarks_import_the_app_at_all() -> None:
    assert sum(len(_imports(p)) for p in SOURCES) > 10
