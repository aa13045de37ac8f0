"""Memory of `apply` on a big settings file stays a small multiple of its size (issue 9, §6).

A 50 MB file of hooks (many small objects) took 967 MB to apply: each scan decoded the whole file again, the
sanity check parsed the new text and compared it whole, the diff split both texts into lines, and the doctor
re-read it while the plan was still alive. The parsed data itself is about 4× the file for such a shape; the rest
must not multiply it. Measured on 20 MB here (old code: ~19× above the interpreter's own, now ~10×).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-bf-BIGFILE-MEMORY-0123456789abcd"
# VmHWM (the peak resident set of this process image), not ru_maxrss: that one keeps the high-water mark of the
# pytest process it was forked from.
PROBE = """
import sys
from optscale_tui import cli
argv = sys.argv[1:]
code = cli.main(argv) if argv else 0
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("MAXRSS_KB", hwm, file=sys.stderr)
raise SystemExit(code)
"""


def peak_kb(args: list[str], home: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(HOME=str(home), BIG_KEY=KEY, PYTHONPATH=str(REPO), NO_COLOR="1")
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=home, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert KEY not in done.stdout + done.stderr
    return int(done.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_apply_of_a_20_mb_settings_file_stays_within_a_small_multiple(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    hook = {"matcher": "Edit", "hooks": [{"type": "command", "command": "ruff format"}]}
    text = json.dumps({"theme": "dark", "hooks": {"PostToolUse": [hook] * (20_000_000 // 165)}}, indent=2) + "\n"
    settings = home / ".claude" / "settings.json"
    settings.write_text(text)
    size_mb = len(text) / 1e6
    base = peak_kb([], home)  # the interpreter with the CLI imported, nothing done
    peak = peak_kb(["apply", "--base-url", "https://gw.example.com/llm_proxy/org/v1", "--api-key-env", "BIG_KEY",
                    "--opus", "anthropic/claude-opus-4-6", "--yes"], home)
    ratio = (peak - base) / 1024 / size_mb
    print(f"\napply of a {size_mb:.0f} MB settings file: peak {peak / 1024:.0f} MB, "
          f"{ratio:.1f}x the file above the interpreter's {base / 1024:.0f} MB")
    assert json.loads(settings.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY
    assert ratio < 12
