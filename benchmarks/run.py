"""`make bench`: prints a table of measured numbers against their goals. Loopback only; bounded in time.

Benchmarks are measurements, not tests: they report, they do not fail the build.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS: list[tuple[str, str, str, str]] = []


def row(name: str, value: str, goal: str, verdict: str) -> None:
    ROWS.append((name, value, goal, verdict))
    print(f"  {name}: {value}  (goal {goal}: {verdict})", flush=True)


def timed_runs(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_startup() -> None:
    exe = Path(sys.executable).parent / "optscale-tui"
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "optscale_tui"]
    baseline = statistics.median(timed_runs([sys.executable, "-c", "pass"], 15))
    for flag in ("--version", "--help"):
        ours = statistics.median(timed_runs([*cli, flag], 15))
        ratio = ours / baseline
        row(f"optscale-tui {flag} (median of 15)", f"{ours:.0f} ms = {ratio:.1f}× python -c pass ({baseline:.0f} ms)",
            "≤ 3×", "ok" if ratio <= 3 else "MISSED")


def bench_verify() -> None:
    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
    from optscale_tui.core.gateway import GatewayClient
    from optscale_tui.core.verify import VerifyOptions, target_from_values, verify
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
        ratio = whole / single
        checks = 3 * 2 + 4
        row(f"verify, 3 tiers, 300 ms TTFT ({checks} checks; median of 3)",
            f"{whole:.0f} ms = {ratio:.2f}× slowest single probe ({single:.0f} ms)", "≤ 1.2×",
            "ok" if ratio <= 1.2 else "MISSED")


def bench_big_settings() -> None:
    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
    from optscale_tui.core.settings_file import load_settings, plan_apply, save_plan

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
        total = sum(statistics.median(v) for v in phases.values())
        detail = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in phases.items())
        row(f"load + plan + diff + save of a {len(text) / 1e6:.1f} MB settings file", f"{total:.0f} ms ({detail})",
            "< 1000 ms", "ok" if total < 1000 else "MISSED")


def bench_first_frame() -> None:
    """The first frame of `optscale-tui` vs a bare Textual hello world, both as users start them, in an 80×24 pty.

    Both have their bytecode compiled first, as `pip install` does (this machine sets PYTHONDONTWRITEBYTECODE, so
    an editable checkout would otherwise recompile our modules on every start). Runs alternate between the two
    programs, so a slow moment of the machine hits both alike."""
    import compileall

    from optscale_tui.testing.pty_terminal import PtyTerminal

    compileall.compile_dir(str(ROOT / "optscale_tui"), quiet=1)
    compileall.compile_file(str(ROOT / "benchmarks" / "hello_textual.py"), quiet=1)

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
    base, app = statistics.median(base_times), statistics.median(app_times)
    ratio = app / base
    row(f"first frame at 80×24 in a pty (median of {runs}, alternating)",
        f"{app:.0f} ms = {ratio:.2f}× a bare Textual hello world ({base:.0f} ms)", "≤ 1.3×",
        "ok" if ratio <= 1.3 else "MISSED")


def bench_wrong_key_verdict() -> None:
    """Time to a verdict on a wrong key: our verify (direct probes + the real-client check, no retries) vs. the
    real `claude -p` as users run it (default retries: ~3 minutes before "Not logged in")."""
    from optscale_tui.core.claude_cli import find_claude
    from optscale_tui.demo.server import DemoGateway

    claude = find_claude({"OPTSCALE_TUI_CLAUDE_BIN": os.environ.get("OPTSCALE_TUI_CLAUDE_BIN")
                          or str(ROOT / ".cache/npm/node_modules/.bin/claude")})
    if claude is None:
        row("verdict on a wrong key: verify vs claude -p", "skipped (claude CLI not installed)", "report", "-")
        return
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
    row("verdict on a wrong key: optscale-tui verify vs claude -p (default retries)",
        f"{ours_s:.1f} s ({', '.join(causes)}) vs {theirs_s:.0f} s (\"{said[0][:40]}\") = {theirs_s / ours_s:.0f}× faster",
        "report", "ok" if ours_s < theirs_s else "MISSED")


STREAM_CHUNKS = 20_000


def bench_streaming_ui() -> None:
    """The Verify pane while the gateway streams 2,000 chunks/s for 10 s (per tier, three tiers at once): no text
    lost, and key presses answered quickly. The gateway runs in its own process, as a real one would."""
    from textual import events

    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.screens.verify import VerifyView
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
                latencies, words, elapsed = asyncio.run(_drive_stream(OptScaleApp, VerifyView, StreamLog, events))
            finally:
                os.environ.clear()
                os.environ.update(saved)
    finally:
        server.terminate()
        server.wait(10)
    lat = sorted(latencies)
    p50, worst = lat[len(lat) // 2], lat[-1]
    expected = 3 * chunks
    row(f"Verify pane, 3 streams × {chunks:,} chunks at 2,000/s ({elapsed:.0f} s)",
        f"{words:,}/{expected:,} chunks shown; key press p50 {p50:.0f} ms, max {worst:.0f} ms ({len(lat)} presses)",
        "no loss, < 100 ms", "ok" if words == expected and worst < 100 else "MISSED")


async def _drive_stream(app_cls, view_cls, log_cls, events) -> tuple[list[float], int, float]:
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
        start = time.perf_counter()
        view.action_run_all()
        await asyncio.sleep(0.5)
        while app.verification_running and time.perf_counter() - start < 60:
            before = len(pressed)
            sent = time.perf_counter()
            app._driver.send_message(events.Key("t", "t"))
            while len(pressed) == before and time.perf_counter() - sent < 5:
                await asyncio.sleep(0.001)
            if len(pressed) > before:
                latencies.append((pressed[-1] - sent) * 1000)
            await asyncio.sleep(0.2)
        await app.workers.wait_for_complete()
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.2)
        text = app.query_one(log_cls).text
    # The demo gateway sends its deterministic reply one word per chunk, repeated: rebuild what each tier must show.
    from optscale_tui.core.verify import VERIFY_PROMPT
    from optscale_tui.demo.server import demo_reply_text

    pieces = re.findall(r"\S+\s*", demo_reply_text([{"role": "user", "content": VERIFY_PROMPT}]))
    expected = "".join(pieces[i % len(pieces)] for i in range(STREAM_CHUNKS)).split()
    shown = 0
    for block in text.split("▸ ")[1:]:
        got = block.split("\n", 1)[1].rsplit("✓ TTFT", 1)[0].split()
        if got == expected:
            shown += STREAM_CHUNKS
    return latencies, shown, elapsed


def bench_typing() -> None:
    """The Base URL arriving key by key in one burst (a paste over SSH without bracketed paste, a fast typist), in the
    full app with every pane mounted and a settings file with hooks and plugins loaded: how long until every key is
    handled and the URL is in the state. Each key updates all the panes, so this is what a slow pane would cost."""
    from textual import events

    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.widgets.step import StepView

    url = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c1e-9a51-0d6f2b8a9c11/v1"

    async def drive() -> float:
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            while len(app.query(StepView)) < 7 or app.state.document is None:
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
        finally:
            os.environ.clear()
            os.environ.update(saved)
    total = runs[1]
    per_key = total / len(url)
    row(f"Base URL typed in one burst of {len(url)} keys, all panes mounted (median of 3)",
        f"{total:.0f} ms, {per_key:.1f} ms per key", "< 10 ms per key", "ok" if per_key < 10 else "MISSED")


# --- the real-client check against one plain `claude -p` (issue 9 §7, issue 14 §2) ----------------------------
# Each row is a function returning (name, ours, baseline, goal), figures in ms and the goal as the largest ratio
# ours / baseline, both measured in the same run, for the one-table layout. `bench_real_client` prints them in the
# current row format meanwhile.

RealClientRow = tuple[str, float, float, float]
REAL_CLIENT_RUNS = 5


def _real_client_runs(runs: int = REAL_CLIENT_RUNS) -> dict[str, list[float]]:
    """Alternating runs against one demo gateway, in one sandbox HOME: the full `verify` with the real-client check,
    one plain `claude -p`, and `verify --no-claude-cli`; wall times and the Opus prompt's TTFT, in ms. Memoised: both
    rows come from the same runs."""
    if _REAL_CLIENT_CACHE:
        return _REAL_CLIENT_CACHE
    from optscale_tui.core.claude_cli import find_claude
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


def real_client_cpu_row() -> RealClientRow | None:
    """(a') The same comparison in CPU time (the verify process and its `claude`, vs the plain `claude -p`)."""
    times = _real_client_runs()
    if not times:
        return None
    return (f"verify with the real-client check vs one plain claude -p (median of {REAL_CLIENT_RUNS}, CPU time)",
            statistics.median(times["verify_cpu"]), statistics.median(times["plain_cpu"]), 2.0)


def real_client_verify_row() -> RealClientRow | None:
    """(a) The whole `verify` with the real-client check (three tiers) vs one plain `claude -p`, same gateway."""
    times = _real_client_runs()
    if not times:
        return None
    return (f"verify with the real-client check vs one plain claude -p (median of {REAL_CLIENT_RUNS}, wall)",
            statistics.median(times["verify"]), statistics.median(times["plain"]), 2.0)


def probe_ttft_row() -> RealClientRow | None:
    """(b) The Opus prompt's TTFT within the full run (the real client's session launched, probes timed once it
    has started) vs the same probe in a run without the real client. Goal: the same figure, give or take noise."""
    times = _real_client_runs()
    if not times:
        return None
    return (f"Opus prompt TTFT within the full verify vs alone (median of {REAL_CLIENT_RUNS})",
            statistics.median(times["ttft_in_full_run"]), statistics.median(times["ttft_alone"]), 1.5)


def bench_real_client() -> None:
    for what, make in (("verify with the real-client check vs one plain claude -p", real_client_verify_row),
                       ("verify with the real-client check vs one plain claude -p, CPU", real_client_cpu_row),
                       ("Opus prompt TTFT within the full verify vs alone", probe_ttft_row)):
        made = make()
        if made is None:
            row(what, "skipped (claude CLI not installed)", "report", "-")
            continue
        name, ours, baseline, goal = made
        ratio = ours / baseline if baseline else float("inf")
        row(name, f"{ours:.0f} ms vs {baseline:.0f} ms = {ratio:.2f}×", f"≤ {goal:g}×",
            "ok" if ratio <= goal else "MISSED")


BENCHES = {
    "startup": bench_startup,
    "first-frame": bench_first_frame,
    "verify": bench_verify,
    "settings": bench_big_settings,
    "streaming-ui": bench_streaming_ui,
    "typing": bench_typing,
    "wrong-key": bench_wrong_key_verdict,
    "real-client": bench_real_client,
}


def main(argv: list[str]) -> int:
    wanted = argv or list(BENCHES)
    print(f"optscale-tui benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name in wanted:
        print(f"[{name}]", flush=True)
        BENCHES[name]()
    width = max(len(r[0]) for r in ROWS)
    print("\n" + "benchmark".ljust(width) + " | result | goal | verdict")
    print("-" * (width + 40))
    for name, value, goal, verdict in ROWS:
        print(f"{name.ljust(width)} | {value} | {goal} | {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
