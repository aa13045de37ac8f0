"""Verification results as JSON, Markdown or plain text. The key is never in any of them (targets carry it masked)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from optscale_tui import __version__
from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationDone, VerificationTarget

STATUS_MARK = {
    CheckStatus.PASS: "✓",
    CheckStatus.WARN: "!",
    CheckStatus.FAIL: "✗",
    CheckStatus.SKIP: "-",
    CheckStatus.RUNNING: "…",
    CheckStatus.PENDING: " ",
}
STATUS_WORD = {
    CheckStatus.PASS: "PASS",
    CheckStatus.WARN: "WARN",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.SKIP: "SKIP",
    CheckStatus.RUNNING: "RUN ",
    CheckStatus.PENDING: "    ",
}


def format_timings(result: CheckResult) -> str:
    t = result.timings
    parts = []
    if t.get("ttft_ms") is not None:
        parts.append(f"TTFT {t['ttft_ms']:.0f} ms")
    elif t.get("ttfb_ms") is not None:
        parts.append(f"TTFB {t['ttfb_ms']:.0f} ms")
    if t.get("tokens_per_s"):
        parts.append(f"{t['tokens_per_s']:.0f} tok/s")
    if t.get("total_ms") is not None:
        parts.append(f"{t['total_ms']:.0f} ms total")
    return ", ".join(parts)


def to_json(done: VerificationDone, target: VerificationTarget | None = None) -> dict[str, object]:
    payload: dict[str, object] = {
        "ok": done.ok,
        "checks": [r.to_json() for r in done.results],
        "elapsed_ms": round(done.elapsed_ms, 1),
        **({"rerun_elapsed_ms": round(done.rerun_ms, 1), "rerun_checks": done.rerun_checks}
           if done.rerun_ms is not None else {}),
        "version": __version__,
    }
    if target is not None:
        payload["target"] = target.summary
    return payload


def to_json_text(done: VerificationDone, target: VerificationTarget | None = None) -> str:
    return json.dumps(to_json(done, target), indent=2, ensure_ascii=False)


def result_line(result: CheckResult) -> str:
    timing = format_timings(result)
    head = f"{STATUS_MARK[result.status]} {STATUS_WORD[result.status]}  {result.title}"
    if timing:
        head += f"  ({timing})"
    return head


def plural(count: int, word: str) -> str:
    """"1 warning", "2 warnings", "0 warnings"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _problem_key(result: CheckResult) -> tuple[object, str] | None:
    if result.cause is None or result.status not in (CheckStatus.FAIL, CheckStatus.WARN):
        return None
    return (result.cause, result.fix)


def repeated_problems(results: Iterable[CheckResult]) -> set[str]:
    """Ids of the results whose cause and fix an earlier result (in this order) already explains: a wrong key fails
    eight checks for one reason, and the reason is worth reading once."""
    seen: set[tuple[object, str]] = set()
    repeated: set[str] = set()
    for result in results:
        key = _problem_key(result)
        if key is None:
            continue
        if key in seen:
            repeated.add(result.id)
        seen.add(key)
    return repeated


def same_cause_line(result: CheckResult) -> str:
    return f"same cause as above ({result.cause.value if result.cause else '?'})"


def result_details(result: CheckResult, seen: set[tuple[object, str]] | None = None) -> list[str]:
    """The message, cause and fix under a result line. With `seen` (shared across the results printed so far), a
    cause and fix already printed above collapse to one line."""
    key = _problem_key(result)
    if seen is not None and key is not None:
        if key in seen:
            return [f"    {same_cause_line(result)}"]
        seen.add(key)
    lines = []
    if result.message and result.status is not CheckStatus.PASS:
        lines.append(f"    {result.message}")
    if result.cause:
        lines.append(f"    cause: {result.cause.value}")
    if result.request_ids and result.status in (CheckStatus.FAIL, CheckStatus.WARN):
        # What a fix like "look the request id up in OptScale Traces" needs, next to the error it is about.
        lines.append(f"    request id: {', '.join(dict.fromkeys(result.request_ids.values()))}")
    if result.fix and result.status in (CheckStatus.FAIL, CheckStatus.WARN):
        lines.append(f"    fix:   {result.fix}")
        if result.fix_command:
            lines.append(f"    run:   {result.fix_command}")
    elif result.fix and result.status is CheckStatus.SKIP:
        lines.append(f"    hint:  {result.fix}")  # e.g. how to install the claude CLI the check needs
    return lines


def to_text(done: VerificationDone, target: VerificationTarget | None = None) -> str:
    lines: list[str] = []
    if target is not None:
        lines.extend(target_lines(target))
        lines.append("")
    seen: set[tuple[object, str]] = set()
    for result in done.results:
        lines.append(result_line(result))
        lines.extend(result_details(result, seen))
    lines.append("")
    lines.append(verdict_line(done))
    lines.extend(closing_lines(done, target))
    return "\n".join(lines)


def closing_lines(done: VerificationDone, target: VerificationTarget | None,
                  finished: datetime | None = None) -> list[str]:
    """After the verdict: where to find the run's requests in Traces (where, when, which ids) and, once the connection
    is verified, what is left to do in Claude Code (the guide's last steps)."""
    from optscale_tui.core.diagnosis.next_steps import after_save_steps, traces_lines

    lines: list[str] = []
    ids = [rid for _, rid, _ in traces_rows(done.results)]
    traces = traces_lines(ids, finished or datetime.now(UTC), done.elapsed_ms)
    if traces:
        lines += ["", "Traces:", *(f"  {line}" for line in traces)]
    if done.ok and target is not None:
        login = any(r.cause is not None and r.cause.value == "claude_login_present" for r in done.results)
        lines += ["", "Still to do in Claude Code:",
                  *(f"  {line}" for line in after_save_steps(target.tiers, claude_login_present=login))]
    return lines


def verdict_line(done: VerificationDone, shown: Collection[str] | None = None) -> str:
    """The one-line verdict with the counts per status. `shown`: count only the results with these ids, for a view
    that lists fewer rows than `done.results` holds (the TUI's checklist sums the doctor's findings up in its
    "config" row instead of one `doctor.<cause>` row each), so that every counted warning is one the user sees."""
    results = done.results if shown is None else [r for r in done.results if r.id in shown]
    counts = {s: sum(1 for r in results if r.status is s) for s in CheckStatus}
    summary = f"{counts[CheckStatus.PASS]} passed, {plural(counts[CheckStatus.WARN], 'warning')}, " \
              f"{counts[CheckStatus.FAIL]} failed"
    if counts[CheckStatus.SKIP]:  # e.g. the real-client check without a `claude` CLI: say so, do not hide it
        summary += f", {counts[CheckStatus.SKIP]} skipped"
    word = "Connection verified" if done.ok else "Verification failed"
    if done.rerun_ms is not None:  # a full run updated by a partial re-run: say which time is which
        # Say so when the reachability check ran again too: "re-ran 1 check" alone was not what happened.
        need = "it needs" if done.rerun_checks == 1 else "they need"
        also = f", plus the reachability check {need}," if done.rerun_connect else ""
        return (f"{word}: {summary} (full run {done.elapsed_ms / 1000:.1f} s; re-ran "
                f"{plural(done.rerun_checks, 'check')}{also} in {done.rerun_ms / 1000:.1f} s).")
    return f"{word}: {summary} in {done.elapsed_ms / 1000:.1f} s."


def target_lines(target: VerificationTarget) -> list[str]:
    s = target.summary
    tiers = ", ".join(f"{t}={m or '—'}" for t, m in target.tiers.tiers().items())
    return [
        f"Verifying {s['source']}",
        f"  Base URL: {s['anthropic_base_url'] or '(none)'}",
        f"  API key:  {s['api_key'] or '(none)'}" + (f" (from {target.key_source})" if target.key_source else "")
        + (" (sent as x-api-key)" if target.auth_scheme == "x-api-key" else ""),
        f"  Tiers:    {tiers}",
        *([f"  Main model:     {target.tiers.main_model}"] if target.tiers.main_model else []),
        *([f"  Subagent model: {target.tiers.subagent_model}"] if target.tiers.subagent_model else []),
        *_named_file_lines(target),
    ]


_CONNECTION_NAMES = ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                     "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL")


def _named_file_lines(target: VerificationTarget) -> list[str]:
    """With `--settings FILE`: which of the values above FILE holds, and which come from elsewhere (and win)."""
    config = target.config
    if config is None or not config.user_settings_named:
        return []
    named = config.user_settings
    own, elsewhere = [], []
    for name in _CONNECTION_NAMES:
        var = config.variables.get(name)
        if var is None:
            continue
        if var.source_path is not None and var.source_path == named:
            own.append(f"{name}={var.display}")
        else:
            elsewhere.append(f"{name} from {var.where}")
    lines = [f"  {named} holds: {', '.join(own) if own else 'none of these values'}"]
    if elsewhere:
        lines.append(f"  Not from {named.name}: {'; '.join(elsewhere)}")
    return lines


def traces_rows(results: Iterable[CheckResult]) -> list[tuple[str, str, str]]:
    """(check, request id, total time) for finding the requests in OptScale Traces."""
    rows = []
    for r in results:
        total = r.timings.get("total_ms")
        # Gateways often send the same id under several headers (x-request-id, request-id…): list it once.
        for value in dict.fromkeys(r.request_ids.values()):
            rows.append((r.id, value, f"{total:.0f} ms" if total is not None else ""))
    return rows


def to_markdown(done: VerificationDone, target: VerificationTarget | None = None) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# optscale-tui verification report", "", f"- Generated: {now} (optscale-tui {__version__})"]
    if target is not None:
        s = target.summary
        out += [
            f"- Source: {s['source']}",
            f"- Base URL: `{s['anthropic_base_url']}`",
            f"- API key: `{s['api_key']}`",
            *(f"- {t.capitalize()} tier: `{m}`" if m else f"- {t.capitalize()} tier: unmapped"
              for t, m in target.tiers.tiers().items()),
            *([f"- Main model: `{target.tiers.main_model}`"] if target.tiers.main_model else []),
            *([f"- Subagent model: `{target.tiers.subagent_model}`"] if target.tiers.subagent_model else []),
        ]
    out += ["", f"**{verdict_line(done)}**", "", "| | Check | Status | Cause | Timings |", "|---|---|---|---|---|"]
    for r in done.results:
        out.append(f"| {STATUS_MARK[r.status]} | {r.title} | {r.status.value} | {r.cause.value if r.cause else ''} "
                   f"| {format_timings(r)} |")
    problems = [r for r in done.results if r.status in (CheckStatus.FAIL, CheckStatus.WARN)]
    if problems:
        out += ["", "## Problems and fixes", ""]
        repeated = repeated_problems(problems)
        for r in problems:
            out += [f"### {r.title} ({r.status.value})", ""]
            if r.id in repeated:
                out += [f"Same cause and fix as above ({r.cause.value if r.cause else ''}).", ""]
                continue
            command = f" (CLI: `{r.fix_command}`)" if r.fix_command else ""
            out += [r.message, "", f"Fix: {r.fix}{command}" if r.fix else "", ""]
    rows = traces_rows(done.results)
    if rows:
        from optscale_tui.core.diagnosis.next_steps import traces_lines

        where = traces_lines([rid for _, rid, _ in rows], datetime.now(UTC), done.elapsed_ms)
        out += ["", "## Find it in OptScale Traces", "", *where, "", "| Check | Request id | Time |", "|---|---|---|"]
        out += [f"| {c} | `{rid}` | {t} |" for c, rid, t in rows]
    steps = [line for line in closing_lines(done, target) if line.startswith("  ")
             and not line.startswith("  Open ")] if done.ok else []
    if steps:
        out += ["", "## Still to do in Claude Code", "", *(line[2:] for line in steps)]
    return "\n".join(out).rstrip() + "\n"


# --- saving a report (the TUI's "save report" dialog and anyone else who writes one to a file) ---------------------

REPORT_FORMATS: dict[str, str] = {"markdown": ".md", "json": ".json"}


def default_report_name(fmt: str = "markdown", now: datetime | None = None) -> str:
    """`optscale-tui-report-<YYYYmmdd-HHMMSS>.md` (or `.json`), local time."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"optscale-tui-report-{stamp}{REPORT_FORMATS[fmt]}"


def format_for_path(path: str, default: str = "markdown") -> str:
    """The format a file name asks for by its extension (`.json` → json, `.md`/`.markdown` → markdown)."""
    lower = path.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".md", ".markdown")):
        return "markdown"
    return default


def render_report(done: VerificationDone, target: VerificationTarget | None, fmt: str) -> str:
    """The report in `fmt` ("markdown" or "json"); the key is masked in both."""
    if fmt == "json":
        return to_json_text(done, target) + "\n"
    if fmt == "markdown":
        return to_markdown(done, target)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(REPORT_FORMATS)}")
