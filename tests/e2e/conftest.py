"""End-to-end fixtures with the real Claude Code CLI (installed by `make test` into .cache/npm, never globally).

Tests that need it are skipped only when it is absent on a developer machine; in CI (CI=true) its absence fails.
Every run is sandboxed: its own HOME and cwd, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, and the gateway on
127.0.0.1, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from optscale_tui.core.verify.claude_cli import find_claude
from optscale_tui.demo.server import DemoGateway

REPO = Path(__file__).resolve().parents[2]
LOCAL_CLAUDE = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "claude"


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    found = find_claude({"OPTSCALE_TUI_CLAUDE_BIN": os.environ.get("OPTSCALE_TUI_CLAUDE_BIN") or str(LOCAL_CLAUDE)})
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("The Claude Code CLI is missing in CI: `make claude-cli` should have installed it.")
        pytest.skip("Claude Code CLI not installed (run `make claude-cli`)")
    return found


@dataclass
class ClaudeResult:
    exit_code: int
    events: list[dict]

    @property
    def result(self) -> dict:
        return next((e for e in self.events if e.get("type") == "result"), {})

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.result.get("is_error") is False

    @property
    def init(self) -> dict:
        return next((e for e in self.events if e.get("subtype") == "init"), {})


@dataclass
class E2ESandbox:
    home: Path
    cwd: Path
    env: dict[str, str]
    claude: Path

    @property
    def settings(self) -> Path:
        return self.home / ".claude" / "settings.json"

    def write_settings(self, env: dict[str, str], path: Path | None = None) -> None:
        path = path or self.settings
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"env": env}, indent=2) + "\n")

    def optscale(self, *args: str, env: dict[str, str] | None = None, input: str | None = None):
        return subprocess.run([sys.executable, "-m", "optscale_tui", *args], cwd=self.cwd, capture_output=True,
                              text=True, input=input, env={**self.env, "PYTHONPATH": str(REPO), **(env or {})},
                              timeout=120)

    def verify(self, *extra: str, env: dict[str, str] | None = None) -> dict:
        out = self.optscale("verify", "--json", *extra, env=env)
        assert out.returncode in (0, 1), out.stderr
        report = json.loads(out.stdout)
        assert report["ok"] == (out.returncode == 0)
        return report

    def claude_p(self, *extra: str, env: dict[str, str] | None = None, timeout: float = 90) -> ClaudeResult:
        """The real client, as a user runs it (no retries, so a verdict takes a second, not three minutes)."""
        run_env = {**self.env, "CLAUDE_CODE_MAX_RETRIES": "0", **(env or {})}
        proc = subprocess.run([str(self.claude), "-p", "Say hello", "--output-format", "stream-json", "--verbose",
                               *extra], cwd=self.cwd, env=run_env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        events = []
        for line in proc.stdout.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return ClaudeResult(proc.returncode, events)


@pytest.fixture
def e2e(tmp_path: Path, claude_bin: Path) -> E2ESandbox:
    home, cwd = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    cwd.mkdir()
    # A clean environment, as `env -i` would give: only what a login shell has, plus the no-traffic switch.
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "OPTSCALE_TUI_CLAUDE_BIN": str(claude_bin),
    }
    return E2ESandbox(home=home, cwd=cwd, env=env, claude=claude_bin)


@pytest.fixture
def gateway() -> Iterator[DemoGateway]:
    with DemoGateway() as gw:
        yield gw
