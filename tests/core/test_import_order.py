"""The modules issue 11 split apart import in any order: connection.py re-exports the model names from
clients/claude_code/models.py at its end, so models.py must never import connection.py at run time (an import
circle then fails for whoever imports models first)."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST = [
    "optscale_tui.core.clients.claude_code.models",
    "optscale_tui.core.connection",
    "optscale_tui.core.clients.claude_code.effective",
    "optscale_tui.core.diagnosis.doctor",
    "optscale_tui.core.diagnosis.fixes",
]


@pytest.mark.parametrize("module", FIRST)
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

