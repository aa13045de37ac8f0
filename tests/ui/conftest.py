"""Fixtures for the TUI tests: a sandbox HOME/cwd (never the real ~/.claude) and the demo gateway.

Snapshot tests need identical pictures on every run, so the gateway listens on a fixed loopback port and paths are
shown relative to the sandbox HOME (`~/.claude/settings.json`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from optscale_tui.demo.server import DemoGateway

SNAPSHOT_PORT = 48_123
SEED = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(git status:*)"]},
    "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "ruff format"}]}]},
    "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"},
    "theme": "dark",
}


@dataclass
class UISandbox:
    home: Path
    cwd: Path

    @property
    def config_dir(self) -> Path:
        return self.home / ".claude"

    @property
    def settings(self) -> Path:
        return self.config_dir / "settings.json"

    def seed(self, data: dict | None = None, text: str | None = None) -> Path:
        self.config_dir.mkdir(exist_ok=True)
        self.settings.write_text(text if text is not None else json.dumps(data or SEED, indent=2) + "\n")
        os.chmod(self.settings, 0o600)
        return self.settings


@pytest.fixture
def ui_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UISandbox:
    home, cwd = tmp_path / "home", tmp_path / "home" / "project"
    cwd.mkdir(parents=True)
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_", "NODE_EXTRA_CA", "SSL_CERT")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)  # Claude Desktop's folder: the sandbox's ~/.config
    # Claude Desktop's managed configuration (the doctor reports it): looked for under a sandbox root, not /etc.
    from optscale_tui.core.clients.claude_desktop import locations

    monkeypatch.setattr(locations, "SYSTEM_ROOT", tmp_path / "root")
    monkeypatch.delenv("TMUX", raising=False)  # copy toasts would depend on the tmux the tests run in
    monkeypatch.setenv("HOME", str(home))
    # The real-client check would find `claude` only on some machines; the pictures must not depend on that. The
    # test that runs the real CLI in the TUI sets this variable itself.
    monkeypatch.setenv("OPTSCALE_TUI_CLAUDE_BIN", str(tmp_path / "no-claude-here"))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.chdir(cwd)
    return UISandbox(home=home, cwd=cwd)


@pytest.fixture
def gateway(request: pytest.FixtureRequest) -> Iterator[DemoGateway]:
    """A demo gateway. Snapshot tests get the fixed port (URLs in the pictures never change), taken under a lock so
    that two test runs on one machine wait for each other instead of failing; other tests get a free port."""
    if "snap_compare" not in request.fixturenames:
        with DemoGateway() as gw:
            yield gw
        return
    with _snapshot_port_lock(), DemoGateway(port=SNAPSHOT_PORT) as gw:
        yield gw


@contextlib.contextmanager
def _snapshot_port_lock() -> Iterator[None]:
    lock_path = Path(tempfile.gettempdir()) / f"optscale-tui-test-port-{SNAPSHOT_PORT}.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor makes a snapshot depend on timing: every Input in the tests starts with blinking off."""
    from textual.widgets import Input

    original_init = Input.__init__

    def init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        self.set_reactive(Input.cursor_blink, False)

    monkeypatch.setattr(Input, "__init__", init)
