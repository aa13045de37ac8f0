"""`make bench`: one table of measured numbers, each against a baseline measured in the same run and a goal.

Loopback only; bounded in time. Benchmarks are measurements, not tests: they report, they do not fail the build.

Adding a row: write `def bench_<what>() -> Row` (or `-> list[Row]`) that measures our figure and its baseline in the
same run and returns `Row(...)` (`Row.within(...)` when the goal is a ratio), then add it to BENCHES below. Run one
alone with `benchmarks/run.py <name>`; `--update-readme` also writes the table into README.md.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Row:
    """One line of the table: our figure, the baseline measured in the same run, and the goal."""

    name: str  # what is measured, e.g. "first frame at 80×24 in a pty (median of 15)"
    ours: float
    baseline: float
    baseline_name: str  # what the baseline is, e.g. "a bare Textual hello world"
    unit: str  # "ms", "s" or "MiB"
    goal: str  # as shown, e.g. "≤ 1.3×" or "< 1000 ms"
    passed: bool | None  # None: not measured (see detail)
    detail: str = ""  # what else is worth a glance: phases, counts, causes

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else math.nan

    @classmethod
    def within(cls, name: str, ours: float, baseline: float, baseline_name: str, unit: str, max_ratio: float,
               detail: str = "") -> Row:
        """A row whose goal is ours ≤ max_ratio × baseline."""
        return cls(name, ours, baseline, baseline_name, unit, f"≤ {max_ratio:g}×", ours <= max_ratio * baseline,
                   detail)

    @classmethod
    def not_measured(cls, name: str, why: str) -> Row:
        return cls(name, math.nan, math.nan, "", "", "", None, why)


def figure(value: float, unit: str) -> str:
    if math.isnan(value):
        return "–"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.0f} {unit}" if value >= 10 or unit != "ms" else f"{value:.1f} {unit}"


def verdict(row: Row) -> str:
    return "–" if row.passed is None else "ok" if row.passed else "MISSED"


def table(rows: list[Row]) -> str:
    """The table as Markdown, the same in the terminal and in the README."""
    lines = ["| benchmark | ours | baseline (same run) | ratio | goal | verdict |", "|---|---|---|---|---|---|"]
    for row in rows:
        baseline = f"{figure(row.baseline, row.unit)}, {row.baseline_name}" if row.baseline_name else "–"
        ratio = "–" if math.isnan(row.ratio) else f"{row.ratio:.2f}×" if row.ratio >= 0.1 else f"{row.ratio:.3f}×"
        name = f"{row.name} ({row.detail})" if row.detail else row.name
        lines.append(f"| {name} | {figure(row.ours, row.unit)} | {baseline} | {ratio} | {row.goal} | {verdict(row)} |")
    return "\n".join(lines)


def timed_runs(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def compile_bytecode() -> None:
    """Compile our modules as `pip install` does: this machine sets PYTHONDONTWRITEBYTECODE, so an editable checkout
    would otherwise recompile every changed module on every start, a cost no installed user pays."""
    import compileall

    compileall.compile_dir(str(ROOT / "optscale_tui"), quiet=1)
    compileall.compile_file(str(ROOT / "benchmarks" / "hello_textual.py"), quiet=1)


def bench_startup() -> list[Row]:
    compile_bytecode()
    exe = Path(sys.executable).parent / "optscale-tui"
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "optscale_tui"]
    baseline = statistics.median(timed_runs([sys.executable, "-c", "pass"], 15))
    return [Row.within(f"`optscale-tui {flag}` (median of 15)", statistics.median(timed_runs([*cli, flag], 15)),
                       baseline, "`python -c pass`", "ms", 3) for flag in ("--version", "--help")]


def bench_verify() -> Row:
    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
    from optscale_tui.core.gateway.client import GatewayClient
    from optscale_tui.core.verify.engine import VerifyOptions, verify
    from optscale_tui.core.verify.targets import target_from_values
    from optscale_tui.demo.server import DEMO_KEY, DemoGateway

    with DemoGateway() as gw:
        gw.faults.ttft_ms = 300
        url = parse_base_url(gw.base_url)
        key = ApiKey(DEMO_KEY)
        tiers = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                            opus="anthropic/claude-opus-4-6")

        async def slowest_single() -> float:
            # Each probe alone, as one `curl` would be: a fresh client (TLS context cached, as in verify).
            worst = 0.0
            for name in ("stream_message", "tool_use_probe", "count_tokens", "beta_probe"):
                start = time.perf_counter()
                async with GatewayClient(url, key) as client:
                    method = getattr(client, name)
                    await (method(tiers.opus, "hello") if name == "stream_message" else method(tiers.opus))
                worst = max(worst, (time.perf_counter() - start) * 1000)
            return worst

        async def full() -> float:
            target = target_from_values(ConnectionValues(url=url, key=key, tiers=tiers))
            start = time.perf_counter()
            done = await verify(target, VerifyOptions())
            assert done.ok, [r.to_json() for r in done.results if r.status.value == "fail"]
            return (time.perf_counter() - start) * 1000

        single = statistics.median(asyncio.run(slowest_single()) for _ in range(3))
        whole = statistics.median(asyncio.run(full()) for _ in range(3))
    checks = 3 * 2 + 4
    return Row.within(f"`verify` direct probes, 3 tiers at 300 ms TTFT ({checks} checks, median of 3)", whole,
                      single, "the slowest single probe", "ms", 1.2)


def bench_big_settings() -> Row:
    from optscale_tui.core.clients.claude_code.schema import plan_apply
    from optscale_tui.core.config.plan import load_settings
    from optscale_tui.core.config.store import save_plan
    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.json"
        big = {
            "permissions": {"allow": [f"Bash(tool-{i} --flag value-{i}:*)" for i in range(60_000)]},
            "env": {"KEEP_ME": "1"},
            "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "x" * 200}]}]},
        }
        text = json.dumps(big, indent=2) + "\n"
        while len(text) < 5_000_000:
            big["permissions"]["allow"].extend(f"Read(./pad/{i}/**)" for i in range(20_000))
            text = json.dumps(big, indent=2) + "\n"
        path.write_text(text)
        values = ConnectionValues(
            url=parse_base_url("https://my.optscale.ai/llm_proxy/00000000-0000-0000-0000-000000000000/v1"),
            key=ApiKey("sk-bf-benchmark-0000000000000000"),
            tiers=TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                              opus="anthropic/claude-opus-4-6"),
        )
        phases: dict[str, list[float]] = {"load": [], "plan": [], "diff": [], "save": []}
        bare: list[float] = []

        def clock(name: str, fn: Callable[[], object]) -> object:
            start = time.perf_counter()
            out = fn()
            phases[name].append((time.perf_counter() - start) * 1000)
            return out

        for _ in range(3):
            path.write_text(text)
            doc = clock("load", lambda: load_settings(path))
            plan = clock("plan", lambda: plan_apply(doc, values))  # noqa: B023
            clock("diff", plan.diff)
            clock("save", lambda: save_plan(plan))  # noqa: B023
            bare.append(bare_rewrite(path, values.key.value))
        total = sum(statistics.median(v) for v in phases.values())
        detail = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in phases.items())
    return Row(f"load + plan + diff + save of a {len(text) / 1e6:.1f} MB settings file (median of 3)", total,
               statistics.median(bare), "json load, set, dump, write + rename", "ms", "< 1000 ms", total < 1000,
               f"ms: {detail}")


def bare_rewrite(path: Path, key: str) -> float:
    """The least any tool must do to set one key in the file: parse, set, serialise, write a temp file, rename."""
    start = time.perf_counter()
    data = json.loads(path.read_text())
    data.setdefault("env", {})["ANTHROPIC_AUTH_TOKEN"] = key
    tmp = path.with_name(path.name + ".bench-tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return (time.perf_counter() - start) * 1000


def bench_first_frame() -> Row:
    """The first frame of `optscale-tui` vs a bare Textual hello world, both as users start them, in an 80×24 pty.

    Both have their bytecode compiled first, as `pip install` does (this machine sets PYTHONDONTWRITEBYTECODE, so
    an editable checkout would otherwise recompile our modules on every start). Runs alternate between the two
    programs, so a slow moment of the machine hits both alike."""
    from optscale_tui.testing.pty_terminal import PtyTerminal

    compile_bytecode()

    def first_frame(argv: list[str], marker: str, env: dict[str, str]) -> float:
        with PtyTerminal(argv, cols=80, rows=24, env=env) as term:
            return term.wait_for(marker, timeout=20) * 1000

    runs = 15
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home}
        env.pop("CLAUDE_CONFIG_DIR", None)
        hello = [sys.executable, str(ROOT / "benchmarks" / "hello_textual.py")]
        exe = Path(sys.executable).parent / "optscale-tui"  # the console script, as users start it
        ours = [str(exe)] if exe.exists() else [sys.executable, "-m", "optscale_tui"]
        first_frame(hello, "hello world", env)  # warm the file cache once
        first_frame(ours, "Base URL", env)
        base_times, app_times = [], []
        for _ in range(runs):
            base_times.append(first_frame(hello, "hello world", env))
            app_times.append(first_frame(ours, "Base URL", env))
    return Row.within(f"first frame at 80×24 in a pty (median of {runs}, alternating)", statistics.median(app_times),
                      statistics.median(base_times), "a bare Textual hello world", "ms", 1.3)


def bench_wrong_key_verdict() -> Row:
    """Time to a verdict on a wrong key: our verify (direct probes + the real-client check, no retries) vs. the
    real `claude -p` as users run it (default retries: ~3 minutes before "Not logged in")."""
    from optscale_tui.core.verify.claude_cli import find_claude
    from optscale_tui.demo.server import DemoGateway

    claude = find_claude({"OPTSCALE_TUI_CLAUDE_BIN": os.environ.get("OPTSCALE_TUI_CLAUDE_BIN")
                          or str(ROOT / ".cache/npm/node_modules/.bin/claude")})
    name = "verdict on a wrong key: `verify` vs `claude -p` as users run it (default retries)"
    if claude is None:
        return Row.not_measured(name, "claude CLI not installed: `make claude-cli`")
    with DemoGateway() as gw, tempfile.TemporaryDirectory() as home:
        settings = Path(home, ".claude", "settings.json")
        settings.parent.mkdir()
        settings.write_text(json.dumps({"env": {
            "ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": "sk-bf-wrong-key-0000000000000",
            "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}}))
        env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "OPTSCALE_TUI_CLAUDE_BIN": str(claude)}
        start = time.perf_counter()
        ours = subprocess.run([sys.executable, "-m", "optscale_tui", "verify", "--json"], env=env, cwd=home,
                              capture_output=True, text=True)
        ours_s = time.perf_counter() - start
        verdict = json.loads(ours.stdout)
        causes = sorted({c["cause"] for c in verdict["checks"] if c["status"] == "fail"})
        start = time.perf_counter()
        theirs = subprocess.run([str(claude), "-p", "hello"], env=env, cwd=home, capture_output=True, text=True,
                                timeout=400)
        theirs_s = time.perf_counter() - start
        said = (theirs.stdout or theirs.stderr).strip().splitlines()[-1:] or [""]
    return Row.within(name, ours_s, theirs_s, "`claude -p`", "s", 1,
                      f"ours: {', '.join(causes)}; claude: \"{said[0][:40]}\"")


# 5 s at 2,000 chunks/s: about 1.5 MiB of SSE per stream, under the cap on one streamed reply (gateway.py's
# MAX_STREAM_BYTES, 2 MiB; the probes ask for 128 tokens). 20,000 chunks (10 s) now end as response_too_large.
STREAM_CHUNKS = 10_000


def bench_streaming_ui() -> Row:
    """The Verify pane while the gateway streams 2,000 chunks/s for 5 s (per tier, three tiers at once): no text
    lost, and key presses answered quickly. The gateway runs in its own process, as a real one would."""
    from textual import events

    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.panes.verify import VerifyPane
    from optscale_tui.ui.widgets.stream_log import StreamLog

    chunks = STREAM_CHUNKS
    server = subprocess.Popen([sys.executable, "-m", "optscale_tui.demo", "--json", "--stream-chunks", str(chunks),
                               "--chunk-delay-ms", "0.5"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        info = json.loads(server.stdout.readline())
        with tempfile.TemporaryDirectory() as home:
            settings = Path(home, ".claude", "settings.json")
            settings.parent.mkdir()
            settings.write_text(json.dumps({"env": {
                "ANTHROPIC_BASE_URL": info["anthropic_url"], "ANTHROPIC_AUTH_TOKEN": info["api_key"],
                "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
                "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}}))
            saved = dict(os.environ)
            os.environ["HOME"] = home
            os.environ["OPTSCALE_TUI_CLAUDE_BIN"] = str(Path(home, "no-claude"))  # direct probes only here
            os.environ.pop("CLAUDE_CONFIG_DIR", None)
            try:
                idle, latencies, words, elapsed = asyncio.run(
                    _drive_stream(OptScaleApp, VerifyPane, StreamLog, events))
            finally:
                os.environ.clear()
                os.environ.update(saved)
    finally:
        server.terminate()
        server.wait(10)
    lat = sorted(latencies)
    p50, worst = lat[len(lat) // 2], lat[-1]
    expected = 3 * chunks
    return Row(f"slowest key press in the Verify pane under 3 streams × {chunks:,} chunks at 2,000/s", worst,
               max(idle), "the same pane idle", "ms", "no loss, < 100 ms", words == expected and worst < 100,
               f"{words:,}/{expected:,} chunks shown in {elapsed:.0f} s; p50 {p50:.0f} ms of {len(lat)} presses")


async def _press_and_time(app, pressed: list[float], key) -> float | None:
    """Milliseconds from a key press sent to the app until its action ran (None: not within 5 s)."""
    before = len(pressed)
    sent = time.perf_counter()
    app._driver.send_message(key)
    while len(pressed) == before and time.perf_counter() - sent < 5:
        await asyncio.sleep(0.001)
    return (pressed[-1] - sent) * 1000 if len(pressed) > before else None


async def _drive_stream(app_cls, view_cls, log_cls, events) -> tuple[list[float], list[float], int, float]:
    app = app_cls()
    latencies: list[float] = []
    async with app.run_test(size=(80, 24)):
        await asyncio.sleep(0.5)
        app.action_step("verify")
        await asyncio.sleep(0.3)
        view = app.query_one(view_cls)
        pressed: list[float] = []
        original = view.action_toggle_traces

        def toggled() -> None:
            pressed.append(time.perf_counter())
            original()

        view.action_toggle_traces = toggled
        idle: list[float] = []
        for _ in range(10):  # the baseline: the same presses before anything streams (an even count: traces as before)
            took = await _press_and_time(app, pressed, events.Key("t", "t"))
            if took is not None:
                idle.append(took)
            await asyncio.sleep(0.2)
        start = time.perf_counter()
        view.action_run_all()
        await asyncio.sleep(0.5)
        while app.verification_running and time.perf_counter() - start < 60:
            took = await _press_and_time(app, pressed, events.Key("t", "t"))
            if took is not None:
                latencies.append(took)
            await asyncio.sleep(0.2)
        await app.workers.wait_for_complete()
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.2)
        text = app.query_one(log_cls).text
    # The demo gateway sends its deterministic reply one word per chunk, repeated: rebuild what each tier must show.
    from optscale_tui.core.verify.checks import VERIFY_PROMPT
    from optscale_tui.demo.server import demo_reply_text

    pieces = re.findall(r"\S+\s*", demo_reply_text([{"role": "user", "content": VERIFY_PROMPT}]))
    expected = "".join(pieces[i % len(pieces)] for i in range(STREAM_CHUNKS)).split()
    shown = 0
    for block in text.split("▸ ")[1:]:
        got = block.split("\n", 1)[1].rsplit("✓ TTFT", 1)[0].split()
        if got == expected:
            shown += STREAM_CHUNKS
    return idle, latencies, shown, elapsed


def bench_typing() -> Row:
    """The Base URL arriving key by key in one burst (a paste over SSH without bracketed paste, a fast typist), in the
    full app with every pane mounted and a settings file with hooks and plugins loaded: how long until every key is
    handled and the URL is in the state. Each key updates all the panes, so this is what a slow pane would cost."""
    from textual import events

    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.panes.base import Pane

    url = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c1e-9a51-0d6f2b8a9c11/v1"

    async def drive() -> float:
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            while len(app.query(Pane)) < 7 or app.state.document is None:
                await pilot.pause(0.02)
            await pilot.pause(0.3)
            app.query_one("#base-url").focus()
            await pilot.pause()
            start = time.perf_counter()
            for char in url:
                app._driver.send_message(events.Key(char, char))
            while app.state.base_url_text != url and time.perf_counter() - start < 30:
                await asyncio.sleep(0.001)
            await pilot.pause()  # and until what the keys set off is done (a Footer rebuilt after the refresh…)
            elapsed = time.perf_counter() - start
            assert app.state.base_url_text == url and app.state.url is not None  # no key lost or misplaced
        return elapsed * 1000

    async def drive_bare() -> float:
        """The baseline: the same burst into the one Input of a bare Textual app."""
        from textual.app import App
        from textual.widgets import Input

        class Bare(App[None]):
            def compose(self):
                yield Input(id="base-url")

        app = Bare()
        async with app.run_test(size=(80, 24)) as pilot:
            field = app.query_one(Input)
            field.focus()
            await pilot.pause(0.3)
            start = time.perf_counter()
            for char in url:
                app._driver.send_message(events.Key(char, char))
            while field.value != url and time.perf_counter() - start < 30:
                await asyncio.sleep(0.001)
            await pilot.pause()
            elapsed = time.perf_counter() - start
            assert field.value == url
        return elapsed * 1000

    with tempfile.TemporaryDirectory() as home:
        settings = Path(home, ".claude", "settings.json")
        settings.parent.mkdir()
        hooks = {event: [{"matcher": "*", "hooks": [{"type": "command", "command": f"~/.claude/hooks/{event}.sh"}]}]
                 for event in ("PreToolUse", "PostToolUse", "Stop", "Notification", "SessionStart")}
        plugins = {f"plugin-{n}@marketplace": True for n in range(40)}
        settings.write_text(json.dumps({"permissions": {"allow": [f"Bash(tool-{n}:*)" for n in range(200)]},
                                        "hooks": hooks, "enabledPlugins": plugins, "env": {"BASH_MAX_TIMEOUT_MS": "1"}},
                                       indent=2))
        saved = dict(os.environ)
        os.environ["HOME"] = home
        os.environ.pop("CLAUDE_CONFIG_DIR", None)
        try:
            runs = sorted(asyncio.run(drive()) for _ in range(3))
            bare = sorted(asyncio.run(drive_bare()) for _ in range(3))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    per_key, bare_per_key = runs[1] / len(url), bare[1] / len(url)
    return Row(f"per key of the Base URL typed in one burst of {len(url)} keys, all panes mounted (median of 3)",
               per_key, bare_per_key, "a bare Textual Input", "ms", "< 10 ms", per_key < 10)


# --- the real-client check against one plain `claude -p` (issue 9 §7, issue 14 §2) ----------------------------
# Three rows from the same runs, figures in ms, each against a baseline measured in those runs.

REAL_CLIENT_RUNS = 5
REAL_CLIENT_SKIPPED = "claude CLI not installed: `make claude-cli`"


def _real_client_runs(runs: int = REAL_CLIENT_RUNS) -> dict[str, list[float]]:
    """Alternating runs against one demo gateway, in one sandbox HOME: the full `verify` with the real-client check,
    one plain `claude -p`, and `verify --no-claude-cli`; wall and CPU times and the Opus prompt's TTFT, in ms.
    Memoised: the three rows come from the same runs."""
    if _REAL_CLIENT_CACHE:
        return _REAL_CLIENT_CACHE
    from optscale_tui.core.verify.claude_cli import find_claude
    from optscale_tui.demo.server import DEMO_KEY, DemoGateway

    claude = find_claude({"OPTSCALE_TUI_CLAUDE_BIN": os.environ.get("OPTSCALE_TUI_CLAUDE_BIN")
                          or str(ROOT / ".cache/npm/node_modules/.bin/claude")})
    if claude is None:
        return {}
    times: dict[str, list[float]] = {"verify": [], "plain": [], "ttft_in_full_run": [], "ttft_alone": [],
                                     "verify_cpu": [], "plain_cpu": []}
    with DemoGateway() as gw, tempfile.TemporaryDirectory() as home:
        settings = Path(home, ".claude", "settings.json")
        settings.parent.mkdir()
        settings.write_text(json.dumps({"env": {
            "ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
            "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
            "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}}))
        env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "TERM": "dumb",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "OPTSCALE_TUI_CLAUDE_BIN": str(claude)}
        commands = {
            "verify": [sys.executable, "-m", "optscale_tui", "verify", "--json"],
            "plain": [str(claude), "-p", "Reply with one short sentence: the connection from Claude Code works."],
            "alone": [sys.executable, "-m", "optscale_tui", "verify", "--json", "--no-claude-cli"],
        }
        for _ in range(runs):
            for kind, command in commands.items():
                start, cpu = time.perf_counter(), _children_cpu_ms()
                done = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=300)
                elapsed, cpu = (time.perf_counter() - start) * 1000, _children_cpu_ms() - cpu
                if kind == "plain":
                    times["plain"].append(elapsed)
                    times["plain_cpu"].append(cpu)
                    continue
                report = json.loads(done.stdout)
                ttft = next(c for c in report["checks"] if c["id"] == "prompt.opus")["timings"].get("ttft_ms")
                times["ttft_alone" if kind == "alone" else "ttft_in_full_run"].append(ttft or 0.0)
                if kind == "verify":
                    times["verify"].append(elapsed)
                    times["verify_cpu"].append(cpu)
    _REAL_CLIENT_CACHE.update(times)
    return times


_REAL_CLIENT_CACHE: dict[str, list[float]] = {}


def _children_cpu_ms() -> float:
    """CPU time (user + system) of the waited-for child processes and theirs: a figure the machine's load barely
    moves, unlike wall time on two shared cores."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def real_client_cpu_row() -> Row:
    """(a') The same comparison in CPU time (the verify process and its `claude`, vs the plain `claude -p`)."""
    name = f"`verify` with the real-client check, CPU time (median of {REAL_CLIENT_RUNS})"
    times = _real_client_runs()
    if not times:
        return Row.not_measured(name, REAL_CLIENT_SKIPPED)
    return Row.within(name, statistics.median(times["verify_cpu"]), statistics.median(times["plain_cpu"]),
                      "one plain `claude -p`", "ms", 2)


def real_client_verify_row() -> Row:
    """(a) The whole `verify` with the real-client check (three tiers) vs one plain `claude -p`, same gateway."""
    name = f"`verify` with the real-client check, 3 tiers, wall time (median of {REAL_CLIENT_RUNS})"
    times = _real_client_runs()
    if not times:
        return Row.not_measured(name, REAL_CLIENT_SKIPPED)
    return Row.within(name, statistics.median(times["verify"]), statistics.median(times["plain"]),
                      "one plain `claude -p`", "ms", 2)


def probe_ttft_row() -> Row:
    """(b) The Opus prompt's TTFT within the full run (the real client's session launched, probes timed once it
    has started) vs the same probe in a run without the real client. Goal: the same figure, give or take noise."""
    name = f"Opus prompt TTFT within the full `verify` (median of {REAL_CLIENT_RUNS})"
    times = _real_client_runs()
    if not times:
        return Row.not_measured(name, REAL_CLIENT_SKIPPED)
    return Row.within(name, statistics.median(times["ttft_in_full_run"]), statistics.median(times["ttft_alone"]),
                      "the same probe in `verify --no-claude-cli`", "ms", 1.5)


def bench_real_client() -> list[Row]:
    """(a) and (b) of issue 9 §7 / issue 14 §2: what the real-client check costs, in time and in the probes' TTFT."""
    return [real_client_verify_row(), real_client_cpu_row(), probe_ttft_row()]


def peak_memory_mib(argv: list[str], ready: str, env: dict[str, str],
                    interact: Callable[[object], None]) -> tuple[float, float]:
    """Peak resident memory (VmHWM, MiB) of a program in an 80×24 pty: at its first frame, and after `interact`."""
    from optscale_tui.testing.pty_terminal import PtyTerminal

    def peak(pid: int) -> float:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    with PtyTerminal(argv, cols=80, rows=24, env=env) as term:
        term.wait_for(ready, timeout=60)
        first = peak(term.process.pid)
        interact(term)
        term.settle(quiet=0.5, timeout=10)
        return first, peak(term.process.pid)


def bench_memory() -> Row:
    """Peak memory of `optscale-tui --demo` (its demo gateway runs in the same process) from start to first frame,
    then a short session: the key typed, the catalog loaded, every pane and the help opened; against a bare Textual
    hello world sent the same keys. Both in an 80×24 pty, as users start them."""
    from optscale_tui.demo.server import DEMO_KEY

    name = "peak memory: `optscale-tui --demo`, first frame + key, catalog, every pane (median of 3)"
    if not Path("/proc/self/status").exists():
        return Row.not_measured(name, "needs Linux /proc")
    panes = ("f3", "f4", "f5", "f6", "f7", "f8", "f1", "escape", "f2")

    def session(term, wait: bool) -> None:
        term.settle()
        term.press("enter")  # Base URL → key field
        if wait:
            term.wait_for(lambda _screen: term.cursor_on("sk-bf-… (paste"), timeout=60)
        term.type(DEMO_KEY)
        if wait:
            term.wait_for("•" * 8, timeout=60)  # typed, shown as bullets
        term.press("enter")  # accept the key: the catalog loads
        if wait:
            term.wait_for("anthropic/claude-sonnet-4-6", timeout=60)
        for key in panes:
            term.press(key)
            term.settle(quiet=0.2, timeout=3)

    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
        env.update(HOME=home, PYTHONPATH=str(ROOT), OPTSCALE_TUI_CLAUDE_BIN=str(Path(home, "no-claude")))
        exe = Path(sys.executable).parent / "optscale-tui"
        ours_argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "optscale_tui"]
        hello = [sys.executable, str(ROOT / "benchmarks" / "hello_textual.py")]
        ours, bare = [], []
        for _ in range(3):
            bare.append(peak_memory_mib(hello, "hello world", env, lambda t: session(t, wait=False)))
            ours.append(peak_memory_mib([*ours_argv, "--demo"], "/anthropic", env, lambda t: session(t, wait=True)))
    ours_first, ours_after = (statistics.median(values) for values in zip(*ours, strict=True))
    bare_first, bare_after = (statistics.median(values) for values in zip(*bare, strict=True))
    return Row.within(name, ours_after, bare_after, "a bare Textual hello world", "MiB", 2,
                      f"at the first frame {ours_first:.0f} vs {bare_first:.0f} MiB")


# Each entry runs one or more rows; `benchmarks/run.py NAME…` runs only those.
BENCHES: dict[str, Callable[[], Row | list[Row]]] = {
    "startup": bench_startup,
    "first-frame": bench_first_frame,
    "memory": bench_memory,
    "verify": bench_verify,
    "settings": bench_big_settings,
    "streaming-ui": bench_streaming_ui,
    "typing": bench_typing,
    "wrong-key": bench_wrong_key_verdict,
    "real-client": bench_real_client,
}

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(text: str) -> None:
    """Put the table between the bench markers of README.md."""
    readme = ROOT / "README.md"
    current = readme.read_text()
    start, end = current.index(README_START) + len(README_START), current.index(README_END)
    readme.write_text(current[:start] + "\n" + text + "\n" + current[end:])


def main(argv: list[str]) -> int:
    write_readme = "--update-readme" in argv
    wanted = [a for a in argv if a != "--update-readme"] or list(BENCHES)
    unknown = [name for name in wanted if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    print(f"optscale-tui benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    rows: list[Row] = []
    for name in wanted:
        print(f"[{name}]", flush=True)
        try:
            made = BENCHES[name]()
        except Exception as exc:  # one broken benchmark must not lose the others' rows
            traceback.print_exc()
            made = Row.not_measured(name, f"failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"[:120])
        for row in made if isinstance(made, list) else [made]:
            rows.append(row)
            print(f"  {row.name}: {figure(row.ours, row.unit)} vs {figure(row.baseline, row.unit)} "
                  f"{row.baseline_name} ({row.goal}: {verdict(row)})", flush=True)
    load = f", load average {os.getloadavg()[1]:.1f} over the last 5 min" if hasattr(os, "getloadavg") else ""
    summary = (f"Measured with `make bench` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores{load}, "
               f"Python {sys.version.split()[0]}, loopback only:\n\n{table(rows)}")
    print("\n" + summary)
    if write_readme and wanted == list(BENCHES):
        update_readme(summary)
    elif write_readme:
        print("README.md not updated: its table holds every row of one full run (drop the names).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
