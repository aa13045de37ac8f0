"""`optscale-tui --demo`: the embedded gateway plus a sandbox HOME / CLAUDE_CONFIG_DIR / cwd.

The sandbox is a fresh temporary folder seeded with a realistic settings file (hooks, permissions, a statusLine),
so the diff shows what a real save keeps. The user's real ~/.claude is never read or written: HOME and
CLAUDE_CONFIG_DIR are the sandbox's, and ANTHROPIC_* variables from the user's shell are hidden.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from optscale_tui.demo.server import DEMO_KEY, DemoGateway

SEED_SETTINGS = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(git status:*)", "Read(./docs/**)"], "deny": ["Read(./.env)"]},
    "hooks": {
        "PostToolUse": [
            {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "ruff format --quiet \"$FILE\""}]}
        ]
    },
    "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
    "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"},
    "theme": "dark",
}


@dataclass(frozen=True)
class DemoSession:
    gateway: DemoGateway
    root: Path  # the sandbox (HOME and cwd)
    config_dir: Path  # CLAUDE_CONFIG_DIR
    key: str = DEMO_KEY
    # The folder the app was started from (the cwd before the sandbox): what is meant to outlive the demo, such as a
    # saved report, goes there, as the sandbox is deleted when the app quits.
    started_in: Path | None = None

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


def sandbox_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith(("ANTHROPIC_", "CLAUDE_CODE_")) or name in ("NODE_EXTRA_CA_CERTS",):
            del env[name]
    env["HOME"] = str(root)
    env["USERPROFILE"] = str(root)
    # HOME is the sandbox, so ~/.claude is the sandbox's: the demo looks like a plain user setup. A
    # CLAUDE_CONFIG_DIR from the user's shell would point elsewhere, so it goes.
    env.pop("CLAUDE_CONFIG_DIR", None)
    # Claude Desktop's folder follows these: the Desktop pane's `w` must write the sandbox's, never the user's.
    env.pop("XDG_CONFIG_HOME", None)
    env["LOCALAPPDATA"] = str(root / "AppData" / "Local")
    env["APPDATA"] = str(root / "AppData" / "Roaming")
    # A real `claude` started from the demo (the real-client check) talks to the demo gateway and nobody else.
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    return env


@contextmanager
def demo_session(*, seed: bool = True, apply_env: bool = True, port: int = 0) -> Iterator[DemoSession]:
    root = Path(tempfile.mkdtemp(prefix="optscale-tui-demo-"))
    config_dir = root / ".claude"
    config_dir.mkdir(mode=0o700)
    if seed:
        (config_dir / "settings.json").write_text(json.dumps(SEED_SETTINGS, indent=2) + "\n", encoding="utf-8")
        os.chmod(config_dir / "settings.json", 0o600)
    saved_env = dict(os.environ)
    saved_cwd = Path.cwd()
    gateway = DemoGateway(port=port)
    gateway.start()
    try:
        if apply_env:
            os.environ.clear()
            os.environ.update(sandbox_env(root, saved_env))
            os.chdir(root)
        yield DemoSession(gateway=gateway, root=root, config_dir=config_dir, started_in=saved_cwd)
    finally:
        gateway.stop()
        if apply_env:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        shutil.rmtree(root, ignore_errors=True)
