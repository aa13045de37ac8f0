"""SIGKILL at random moments in 1,000 `apply --yes` runs (issue 9, §7).

Each run is the real CLI (`cli.main`) in a forked child (everything already imported, so a run costs what apply
costs, not an interpreter start), killed after a random delay. Half of the delays are spread over the whole run,
half over the save itself (the window where backups, temp files and the rename happen), measured per file size in a
calibration run. After every kill:

- settings.json parses and is exactly the old content or exactly the new one;
- whenever the new content is in place, the newest backup is the old content, intact (checksum and JSON);
- temp files a killed run left are ours (`.settings.json.optscale-tui.<pid>.*.tmp`), and the next save removes
  them: after a last, unkilled run none is left anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from optscale_tui import cli
from optscale_tui.cli import apply as _apply  # noqa: F401  (the command's module: imported before forking too)
from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config import store as config_store  # where save_plan finds _write_settings
from optscale_tui.core.config import store as settings_store
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BackupStore
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.core.diagnosis import fixes as _fixes  # noqa: F401  (imported before forking: children never import)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")]

KEY = "sk-bf-CRASH-TEST-0123456789abcdef01"
BASE_URL = "https://gw.example.com/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"
# (file size in bytes, runs): 1,000 runs from tiny to several MB, most of them small so the test stays short.
SIZES = [(300, 400), (30_000, 300), (300_000, 200), (1_500_000, 70), (3_500_000, 30)]


def settings_text(size: int) -> str:
    note = "lorem ipsum dolor sit amet " * 4
    return json.dumps({"theme": "dark", "permissions": {"allow": ["Bash(ls:*)"]},
                       "notes": [note] * max(1, size // (len(note) + 6))}, indent=2) + "\n"


def argv(path: Path, model: str) -> list[str]:
    return ["apply", "--base-url", BASE_URL, "--api-key-env", "CRASH_KEY", "--opus", model, "--yes",
            "--settings", str(path)]


def expected_new(path: Path, model: str) -> bytes:
    """What `apply --opus MODEL` writes over the file as it is now (no other tier is ever set here)."""
    values = ConnectionValues(parse_base_url(BASE_URL), ApiKey(KEY), TierMapping(opus=model))
    return plan_apply(load_settings(path), values).new_text.encode("utf-8")


def fork_apply(path: Path, model: str, timing_pipe: int | None = None) -> int:
    """Fork a child that runs `apply` and exits; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: never return into pytest
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        if timing_pipe is not None:  # calibration: report when the save starts and ends
            real = config_store._write_settings

            def timed(*args, **kwargs):
                os.write(timing_pipe, f"{time.monotonic()} ".encode())
                try:
                    return real(*args, **kwargs)
                finally:
                    os.write(timing_pipe, f"{time.monotonic()}\n".encode())

            config_store._write_settings = timed
        code = cli.main(argv(path, model))
    except BaseException:
        code = 99
    os._exit(code)


def wait(pid: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("an unkilled apply did not finish")


def calibrate(path: Path) -> tuple[float, float, float]:
    """(whole run, save start, save end) in seconds after the fork, from an unkilled run."""
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = fork_apply(path, "anthropic/calibration", write_end)
    code = wait(pid)
    total = time.monotonic() - started
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        begin, end = (float(x) for x in fh.read().split())
    assert code == 0
    return total, begin - started, end - started


def temp_files(directory: Path) -> list[Path]:
    """Any temp file next to the settings or in the backup folder (ours or not: none may be left)."""
    backups = directory / settings_store.BACKUP_DIR_NAME
    return [p for folder in (directory, backups) if folder.is_dir() for p in folder.iterdir()
            if p.name.startswith(".") and p.name.endswith(".tmp")]


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory when there is one (/dev/shm): a SIGKILL does not test durability (the page cache survives
    the process), so the runs need not wait for a busy disk's fsync, which made the test twice as long."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="optscale-tui-crash-", dir=shm))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path


def test_sigkill_at_random_moments_never_loses_or_breaks_the_file(scratch: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = scratch
    monkeypatch.setenv("CRASH_KEY", KEY)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_")):
            monkeypatch.delenv(name)
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path / "home")
    rng = random.Random(9)
    outcomes: Counter[str] = Counter()
    for size, runs in SIZES:
        folder = tmp_path / f"size-{size}"
        folder.mkdir()
        path = folder / "settings.json"
        path.write_text(settings_text(size))
        path.chmod(0o600)
        total, save_start, save_end = calibrate(path)
        for i in range(runs):
            old = path.read_bytes()
            model = f"anthropic/crash-{size}-{i}"
            new = expected_new(path, model)
            if i % 2:
                delay = rng.uniform(0, total * 1.1)
            else:  # aim at the save: backups, temp file, fsync, rename
                delay = rng.uniform(max(0.0, save_start - 0.001), save_end + 0.001)
            pid = fork_apply(path, model)
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

            now = path.read_bytes()
            assert now in (old, new), f"run {i} at {size} bytes left neither the old nor the new content"
            json.loads(now)
            if now == new:
                newest = next(b for b in BackupStore(path).list(check_integrity=False) if not b.is_original)
                assert newest.path.read_bytes() == old, "the new content is in place without a backup of the old"
                assert BackupStore(path)._load(newest.path)[1] == ""
                outcomes["new"] += 1
            else:
                outcomes["old, killed mid-write" if temp_files(folder) else "old"] += 1
        # A last run, not killed: it completes, and no temp file of any killed run survives it.
        assert wait(fork_apply(path, "anthropic/final")) == 0
        assert temp_files(folder) == []
        assert not any(b.is_broken for b in BackupStore(path).list())
    print(f"\ncrash test outcomes over {sum(outcomes.values())} killed runs: {dict(outcomes)}")
    assert sum(outcomes.values()) == 1000
    assert outcomes["new"] and outcomes["old"]  # kills landed both before and after the rename
