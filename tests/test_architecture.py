"""Issue 11's shape, kept: no import circle in the package, small core files, short functions.

import-linter (pyproject.toml) holds the layer contracts; these are the limits it cannot express.
"""
from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[1] / "optscale_tui"
MAX_CORE_FILE_LINES = 450
MAX_FUNCTION_LINES = 60


def _sources() -> list[Path]:
    sources = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(sources) > 50, f"the package's sources were not found under {PACKAGE}"
    return sources


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("optscale_tui")  # type-checking imports included: a circle there is a circle too
    circles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                circles.add((*(graph.find_shortest_chain(importer=imported, imported=module) or ()), imported))
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in sorted(circles))


def test_core_files_stay_readable_in_one_sitting() -> None:
    long_files = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in _sources()
        if "core" in path.relative_to(PACKAGE).parts[:1]
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_CORE_FILE_LINES
    }
    assert not long_files, f"core files above {MAX_CORE_FILE_LINES} lines: {long_files}"


def test_functions_stay_short() -> None:
    long_functions = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions[f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"] = length
    assert not long_functions, f"functions above {MAX_FUNCTION_LINES} lines: {long_functions}"
