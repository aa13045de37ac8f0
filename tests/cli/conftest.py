"""Fixtures for end-to-end CLI tests: a sandbox HOME/CLAUDE_CONFIG_DIR/cwd and a running demo gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from optscale_tui.demo.server import DemoGateway

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Sandbox:
    home: Path
    cwd: Path
    config_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Path:
        return self.config_dir / "settings.json"

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real CLI in a child process, as a user would, inside the sandbox."""
        return subprocess.run(
            [sys.executable, "-m", "optscale_tui", *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    home = tmp_path / "home"
    cwd = tmp_path / "work"
    config_dir = home / ".claude"
    for d in (home, cwd):
        d.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "CLAUDE_", "NODE_EXTRA_CA", "SSL_CERT", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "XDG_CONFIG_HOME"))
    }
    env.update(HOME=str(home), USERPROFILE=str(home), NO_COLOR="1", PYTHONPATH=str(REPO))
    return Sandbox(home=home, cwd=cwd, config_dir=config_dir, env=env)


@pytest.fixture
def gateway() -> Iterator[DemoGateway]:
    with DemoGateway() as gw:
        yield gw
