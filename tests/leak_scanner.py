"""Leak scanner: fails any test whose output holds an API key in clear (issue 9 §7).

Registered for the whole suite from tests/conftest.py. For each test it scans what the test made visible:

- pytest's captured stdout, stderr and log records (also what `capsys`/`capfd.readouterr()` took away),
- the output of every child process the test ran through `communicate()` (so `subprocess.run(capture_output=…)`,
  the way the CLI tests run the CLI and the real `claude`); not pipes a test reads line by line itself,
- the raw bytes every `PtyTerminal` read from the app in a pseudo-terminal, and the screen of every in-process
  (`run_test`) app after each key the test presses through the pilot and when the test leaves it,
- the files under the test's `tmp_path` (reports, logs, anything written), except where the key legitimately lives,
- the snapshot SVGs and screenshots the test (re)wrote (tests/test_leak_scanner.py scans the committed ones).

A "key" is any `sk-…` token of realistic length that is not masked (masked forms are `sk-bf-…1234`: the ellipsis
stops the token), plus the exact key values the test put into its settings files (so a key of another shape is
caught too). Tests that legitimately show a key are listed in ALLOWED, narrowly and with the reason.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# `sk-` then at least 9 more key characters: 12 in all, the length below which mask_secret shows nothing of a value.
# The masked form `sk-bf-…1234` never matches: `…` is not a key character, and `sk-bf-` alone is too short.
KEY_RE = re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{9,}")
# Settings keys whose values are keys: their exact values are looked for too, whatever their shape.
SECRET_ENV_NAMES = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")
MIN_SECRET_LENGTH = 12
BACKUP_DIR_NAME = "optscale-tui-backups"  # core/config/store.py (not imported: the scanner must not need the app)
KEYS_FILE_NAME = "keys.toml"  # core/app_config.py: where `profile save --store-key` keeps a key without a keyring
MAX_FILE_BYTES = 64 * 1024 * 1024
ARTIFACT_GLOBS = ("tests/ui/__snapshots__/**/*.svg", "screenshots/*.svg", "screenshots/*.png")


@dataclass(frozen=True)
class Allowed:
    """A test (fnmatch on its node id) that may show a key on one channel, and why."""

    nodeid: str
    channel: str  # "stdout", "stderr", "log", "subprocess", "pty", "file" (or a prefix of a finding's channel)
    reason: str


ALLOWED: tuple[Allowed, ...] = (
    Allowed("tests/ui/test_connect.py::test_the_key_is_only_shown_masked_once_entered",
            "TUI screen of OptScaleApp after pressing ctrl+r", "^r shows the key while it is typed, on request"),
    # The scanner's own proof logs a key in an inner pytest run; the record reaches the outer run's log capture too.
    Allowed("tests/test_leak_scanner.py::test_a_key_in_clear_fails_the_test[[]log_record[]]", "log",
            "the scanner's own proof that a logged key fails a test"),
    # The test writes a Claude Desktop log that leaked a key itself (its input), to prove the read-back masks it.
    Allowed("tests/core/test_claude_desktop_verify.py::test_the_log_read_back_shows_what_desktop_said_since_the_write",
            "file .config/Claude-3p/logs/main.log", "a Desktop log written by the test as input, holding a key"),
)


@dataclass
class Finding:
    channel: str  # where it was seen: "stdout (call)", "subprocess stdout: python -m …", "file reports/x.md", …
    key: str
    context: str  # around it, every key in it masked

    def describe(self) -> str:
        # The context is masked already; the channel can hold a key too (a command line).
        channel = KEY_RE.sub(lambda m: mask(m.group()), self.channel.replace(self.key, mask(self.key)))
        return f"{channel}: {mask(self.key)} in …{self.context}…"


@dataclass
class TestRecord:
    """What one test made visible outside pytest's own capture, by phase."""

    started: float = field(default_factory=time.time)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (phase, channel, text)
    phase: str = "setup"

    def add(self, channel: str, data: object) -> None:
        text = as_text(data)
        if text:
            self.seen.append((self.phase, channel, text))


_current: TestRecord | None = None


def mask(key: str) -> str:
    """Never print what we found in clear either (the scanner's own report must not leak)."""
    prefix = next((p for p in ("sk-bf-", "sk-ant-", "sk-") if key.startswith(p)), "")
    return f"{prefix}…{key[-4:]}"


def as_text(data: object) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes | bytearray):
        return bytes(data).decode("utf-8", "replace")
    return data if isinstance(data, str) else ""


def find_keys(text: str, known: Iterable[str] = ()) -> Iterator[tuple[str, str]]:
    """(key, a little context, every key in it masked) for each key in clear in text."""
    known = [key for key in known if not KEY_RE.fullmatch(key)]  # the others are found by KEY_RE already
    spans = [(m.start(), m.end()) for m in KEY_RE.finditer(text)]
    for key in known:
        start = text.find(key)
        if start >= 0:
            spans.append((start, start + len(key)))
    for start, end in spans:
        yield text[start:end], _masked_context(text, start, end, known)


def _masked_context(text: str, start: int, end: int, known: list[str]) -> str:
    """About 30 characters before and 10 after, without a cut-off piece of a token at either edge (it could be the
    end or start of another key), and with every key in it masked."""
    left, right = max(0, start - 30), min(len(text), end + 10)
    window = text[left:right]
    if left > 0 and _KEY_CHAR.match(text[left - 1]):
        window = _LEADING_TOKEN.sub("", window)
    if right < len(text) and _KEY_CHAR.match(text[right]):
        window = _TRAILING_TOKEN.sub("", window)
    for key in known:
        window = window.replace(key, mask(key))
    return KEY_RE.sub(lambda m: mask(m.group()), window).replace("\n", "⏎")


_KEY_CHAR = re.compile(r"[A-Za-z0-9_\-]")
_LEADING_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+")
_TRAILING_TOKEN = re.compile(r"[A-Za-z0-9_\-]+$")


def scan(channel: str, text: str, known: Iterable[str]) -> list[Finding]:
    return [Finding(channel, key, context) for key, context in find_keys(text, known)]


# --- files -------------------------------------------------------------------------------------------------------


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def key_may_live_in(path: Path, text: str, key: str) -> bool:
    """Where a key legitimately sits in a file under tmp_path: settings files, their backups and temp files, and
    the inputs tests write.

    - anything in the backups folder (copies of a settings file, incl. `settings.json.original`);
    - a settings file (`settings.json`, `settings.local.json`, `managed-settings.json`, `.settings.json.*.tmp` left by
      a save, `my-settings.json`…), anywhere in it: users put keys in headers and helper commands too;
    - another JSON file (Claude Code's own `.claude.json`, a settings file at a test-chosen path) when the key is a
      whole string value in it, as in `"ANTHROPIC_AUTH_TOKEN": "sk-…"`; a key inside longer text (a reply quoted in
      a JSON report) is a leak. One that does not parse is a test's input (the app never writes invalid JSON).
    - a script (`#!` first): an apiKeyHelper that prints the key, or a fake command a test wrote; the app writes
      no scripts.
    - the app's keys file (`keys.toml`), as a whole TOML string value (`name = "sk-…"`); never its config.toml.
    Reports (`.md`, `.txt`, `.log`, `.html`, `.svg`, anything under `reports/` or named `report*`) never may.
    """
    if BACKUP_DIR_NAME in path.parts or text.startswith("#!"):
        return True
    name = path.name
    if name == KEYS_FILE_NAME:
        return f'= "{key}"' in text
    if "reports" in path.parts or name.startswith("report") or ".json" not in name:
        return False
    if "settings" in name:
        return True
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except (ValueError, RecursionError):
        return True
    return key not in "".join(s for s in _json_strings(data) if s != key)


def secrets_in_settings(root: Path) -> set[str]:
    """The exact key values a test put into the settings files under its tmp_path."""
    found: set[str] = set()
    for path in _files(root):
        if not path.name.endswith(".json") or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            data = json.loads(path.read_text("utf-8", "replace").lstrip("\ufeff"))
        except (ValueError, RecursionError, OSError):
            continue
        env = data.get("env") if isinstance(data, dict) else None
        if isinstance(env, dict):
            for name in SECRET_ENV_NAMES:
                value = env.get(name)
                if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and "…" not in value:
                    found.add(value)
    return found


def _files(root: Path) -> Iterator[Path]:
    try:
        for path in root.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():  # a regular file (a FIFO or device would block)
                    yield path
            except OSError:
                continue
    except OSError:
        return


def scan_tree(root: Path, known: set[str]) -> list[Finding]:
    findings: list[Finding] = []
    for path in _files(root):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        for found in scan(f"file {path.relative_to(root)}", text, known):
            if not key_may_live_in(path, text, found.key):
                findings.append(found)
    return findings


def svg_text(text: str) -> str:
    """The text an SVG shows: Textual writes each run of a line as its own <text>, entities for spaces."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", text))


def scan_artifact(path: Path, known: Iterable[str] = ()) -> list[Finding]:
    raw = path.read_bytes()
    text = raw.decode("utf-8", "replace") if path.suffix == ".svg" else raw.decode("latin-1")
    shown = svg_text(text) if path.suffix == ".svg" else text
    return scan(f"artifact {path.relative_to(REPO) if path.is_relative_to(REPO) else path}",
                text + "\n" + shown, known)


def artifacts() -> list[Path]:
    return sorted({p for pattern in ARTIFACT_GLOBS for p in REPO.glob(pattern)})


# --- where output goes besides pytest's capture --------------------------------------------------------------------


def _record(channel: str, data: object) -> None:
    if _current is not None:
        _current.add(channel, data)


def _command(popen: subprocess.Popen) -> str:
    args = popen.args if isinstance(popen.args, list | tuple) else [popen.args]
    return " ".join(str(a) for a in args[:4])[:80]


def _install_taps() -> list[tuple[object, str, object]]:
    """Wrap the places output reaches a test without passing pytest's capture. Returns what to put back."""
    undo: list[tuple[object, str, object]] = []

    original_communicate = subprocess.Popen.communicate

    def communicate(self, *args, **kwargs):
        out, err = original_communicate(self, *args, **kwargs)
        _record(f"subprocess stdout of `{_command(self)}`", out)
        _record(f"subprocess stderr of `{_command(self)}`", err)
        return out, err

    subprocess.Popen.communicate = communicate
    undo.append((subprocess.Popen, "communicate", original_communicate))

    from _pytest.capture import CaptureFixture

    original_readouterr = CaptureFixture.readouterr

    def readouterr(self):
        result = original_readouterr(self)
        _record("stdout (read by capsys/capfd)", result.out)
        _record("stderr (read by capsys/capfd)", result.err)
        return result

    CaptureFixture.readouterr = readouterr
    undo.append((CaptureFixture, "readouterr", original_readouterr))

    undo += _tap_textual_screens()
    try:
        from optscale_tui.testing.pty_terminal import PtyTerminal
    except ImportError:
        return undo
    original_init = PtyTerminal.__init__

    def init(self, argv, *args, **kwargs):
        original_init(self, argv, *args, **kwargs)
        feed = self.stream.feed
        command = " ".join(str(a) for a in list(argv)[:4])[:80]

        def tapped(data: bytes) -> None:
            _record(f"pty output of `{command}`", data)
            feed(data)

        self.stream.feed = tapped

    PtyTerminal.__init__ = init
    undo.append((PtyTerminal, "__init__", original_init))
    return undo


def screen_text(app) -> str:
    """What the app's active screen shows now, as plain text (headless apps in tests draw nothing anywhere)."""
    try:
        return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
    except Exception:  # an app that failed to start or has no screen: nothing shown
        return ""


def _tap_textual_screens() -> list[tuple[object, str, object]]:
    """The screen of every `run_test` app after each key a test presses and when the test leaves the app."""
    try:
        from textual.app import App
        from textual.pilot import Pilot
    except ImportError:
        return []
    original_run_test, original_press = App.run_test, Pilot.press

    @contextlib.asynccontextmanager
    async def run_test(self, *args, **kwargs):
        async with original_run_test(self, *args, **kwargs) as pilot:
            try:
                yield pilot
            finally:
                _record(f"TUI screen of {type(self).__name__} when the test left it", screen_text(self))

    async def press(self, *keys: str) -> None:
        await original_press(self, *keys)
        _record(f"TUI screen of {type(self.app).__name__} after pressing {' '.join(keys)[:40]}", screen_text(self.app))

    App.run_test, Pilot.press = run_test, press
    return [(App, "run_test", original_run_test), (Pilot, "press", original_press)]


_UNDO = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNDO] = _install_taps()


def pytest_unconfigure(config: pytest.Config) -> None:
    undo = config.stash.get(_UNDO, [])
    while undo:  # per config: a pytester run inside a test puts back only its own taps
        owner, name, original = undo.pop()
        setattr(owner, name, original)


# --- per test --------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    global _current
    outer, _current = _current, TestRecord()
    try:
        return (yield)
    finally:
        _current = outer  # a pytester run inside a test hands the outer test's record back


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item):
    if _current is not None:
        _current.phase = "setup"
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item):
    if _current is not None:
        _current.phase = "call"
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    if _current is not None:
        _current.phase = "teardown"
    return (yield)


def _allowed(item: pytest.Item, finding: Finding) -> bool:
    return any(fnmatch.fnmatch(item.nodeid, allow.nodeid) and finding.channel.startswith(allow.channel)
               for allow in ALLOWED)


def _tmp_path(item: pytest.Item) -> Path | None:
    funcargs = getattr(item, "funcargs", {})
    path = funcargs.get("tmp_path")
    if path is None and funcargs.get("tmpdir") is not None:
        path = Path(str(funcargs["tmpdir"]))
    return path


def findings_for(item: pytest.Item, report: pytest.TestReport) -> list[Finding]:
    """Everything the test made visible in this phase, scanned. The call phase also takes setup's output (fixtures
    that start the CLI belong to the test), the files under tmp_path and the artifacts written meanwhile."""
    record = _current
    phases = {"setup", "call"} if report.when == "call" else {report.when}
    tmp = _tmp_path(item)
    known = secrets_in_settings(tmp) if tmp is not None and tmp.is_dir() else set()
    findings: list[Finding] = []
    for title, content in report.sections:  # "Captured stdout call", "Captured log setup", …
        head, _, when = title.rpartition(" ")
        if when in phases and head.startswith("Captured "):
            findings += scan(f"{head.removeprefix('Captured ')} ({when})", content, known)
    if record is not None:
        for phase, channel, text in record.seen:
            if phase in phases:
                findings += scan(f"{channel} ({phase})", text, known)
    if report.when == "call":
        if tmp is not None and tmp.is_dir():
            findings += scan_tree(tmp, known)
        started = record.started if record is not None else time.time()
        for path in artifacts():
            if path.stat().st_mtime >= started:  # written while this test ran (--snapshot-update, screenshots)
                findings += scan_artifact(path, known)
    return [f for f in findings if not _allowed(item, f)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report: pytest.TestReport = yield
    if report.when == "setup" and report.passed:
        return report  # scanned with the call, so a leak in a fixture's output fails the test itself
    findings = findings_for(item, report)
    if not findings:
        return report
    lines = [f"leak scanner: an API key in clear in what this test made visible ({len(findings)} place(s)):"]
    seen: set[tuple[str, str]] = set()
    for finding in findings:
        if (finding.channel, finding.key) not in seen:
            seen.add((finding.channel, finding.key))
            lines.append(f"  - {finding.describe()}")
    lines.append("Mask it (mask_secret) where it is shown; if this test must show it, add a narrow Allowed(...) entry "
                 "with the reason in tests/leak_scanner.py.")
    message = "\n".join(lines)
    if report.failed:
        report.sections.append(("leak scanner", message))
    else:
        report.outcome = "failed"
        report.longrepr = message
        if hasattr(report, "wasxfail"):
            del report.wasxfail
    return report
