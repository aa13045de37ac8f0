"""The commands that check and write nothing: `verify` (the probes, streamed), `doctor` (what Claude Code will
really use), `models` (the key's catalog)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from optscale_tui.cli.common import fix_rows, inspect_settings, load_document, print_fixes, read_key
from optscale_tui.cli.output import (
    EXIT_OK,
    EXIT_PROBLEM,
    UsageError,
    err,
    json_text,
    out,
    remember_secret,
    shown,
)
from optscale_tui.cli.profile_values import preferences, profile_target


def cmd_verify(args: argparse.Namespace) -> int:
    import asyncio

    from optscale_tui.core.verify.engine import run_verification
    from optscale_tui.core.verify.targets import target_from_effective

    if args.settings is not None and os.path.lexists(args.settings):
        load_document(args.settings)  # a file that does not parse (or is a FIFO, a loop, …) is an input error (exit 2)
    config = inspect_settings(args.settings)
    if getattr(args, "profile", None):  # the profile's values, as they would be used; nothing is read or written
        target = profile_target(args)
    else:
        target = target_from_effective(config, cwd=Path.cwd())
    if target.key is not None:
        remember_secret(target.key.value)
    options = _verify_options(args, target)
    events = run_verification(target, options)
    done = asyncio.run(_print_events(events, as_json=args.json, stream=not args.json and not args.quiet))
    _print_closing(args, config, target, done)
    return EXIT_OK if done.ok else EXIT_PROBLEM


def _verify_options(args: argparse.Namespace, target):
    """--ca-bundle and --timeout, the app's preferences, and the real-client check unless it is off."""
    from dataclasses import replace

    from optscale_tui.core.verify.engine import VerifyOptions

    prefs = preferences(args)
    options = VerifyOptions(ca_bundle=args.ca_bundle or (Path(prefs.ca_bundle) if prefs.ca_bundle else None),
                            check_timeout=args.timeout)
    if not args.no_claude_cli and prefs.real_client_check and not target.problems:
        from optscale_tui.core.verify.real_client import real_client

        client = real_client(target, cwd=Path.cwd(), timeout=args.timeout)
        options = replace(options, extra_checks=tuple(client.checks), extra_session=client)
    return options


async def _print_events(events, *, as_json: bool, stream: bool):
    """Print the run as it goes (nothing with --json) and return its VerificationDone."""
    from optscale_tui.core.verify import report
    from optscale_tui.core.verify.events import CheckFinished, VerificationDone, VerificationPlanned
    from optscale_tui.core.verify.replies import ReplyOrder

    done_box: list[VerificationDone] = []
    printer = _RunPrinter(ReplyOrder() if stream else None)
    async for event in events:
        if as_json:
            if isinstance(event, VerificationDone):
                done_box.append(event)
            continue
        if isinstance(event, VerificationPlanned):
            out("\n".join(shown(line) for line in report.target_lines(event.target)))
            out("")
        printer.feed(event)
        if isinstance(event, CheckFinished):
            printer.finished(event.result)
        elif isinstance(event, VerificationDone):
            printer.flush()
            done_box.append(event)
            out("")
            out(report.verdict_line(event, printer.shown_ids))  # counts what was printed, not the --json-only rows
    return done_box[0]


class _RunPrinter:
    """Streamed replies tier by tier in plan order (core's ReplyOrder, as the TUI's log shows them), and the
    result lines of the other checks; a line that comes while a reply streams waits, so no reply is cut in half."""

    def __init__(self, replies) -> None:
        self.replies = replies  # None: replies are not streamed (--quiet)
        self.waiting: list = []  # results printed once the open reply has ended
        self.seen: set = set()  # causes already explained above: later checks failing for the same one get one line
        self.shown_ids: set[str] = set()  # the checks printed (the doctor's findings are summed up in "config")

    def feed(self, event) -> None:
        if self.replies is not None:
            self.replies.feed(event)
            self._write_replies()

    def finished(self, result) -> None:
        self.shown_ids.add(result.id)
        if self.replies is not None and result.id in self.replies.order:
            return  # a streamed reply's result line follows its reply (ReplyClosed / NoReply)
        self.waiting.append(result)
        if self.replies is None or self.replies.open is None:
            self.flush()

    def flush(self) -> None:
        for result in self.waiting:
            _print_lines(_result_lines(result, "", self.seen))
        self.waiting.clear()

    def _write_replies(self) -> None:
        from optscale_tui.core.verify.replies import NoReply, ReplyClosed, ReplyOpened, ReplyText

        for piece in self.replies.take():
            if isinstance(piece, ReplyOpened):
                sys.stdout.write(f"  [{piece.check_id}] ")
            elif isinstance(piece, ReplyText):
                sys.stdout.write(_reply_text(piece.text))  # cleaned in core already; this is the last guard
            elif isinstance(piece, ReplyClosed):
                out("")  # the reply is complete: end its line, then its result and what waited
                _print_lines(_result_lines(piece.result, "", self.seen))
                self.flush()
            elif isinstance(piece, NoReply):
                _print_lines(_result_lines(piece.result, "", self.seen))
        sys.stdout.flush()


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        out(line)


def _result_lines(result, text: str, seen: set) -> list[str]:
    # Rendered when printed (not when finished), so "same cause as above" always has the full one above.
    from optscale_tui.core.verify import report

    reply = [f"  [{result.id}] {_reply_text(text)}"] if text else []
    return [shown(line) for line in (*reply, report.result_line(result), *report.result_details(result, seen))]


def _reply_text(text: str) -> str:
    # A reply's own line breaks are indented, so no line of it starts where our result lines do (a reply could
    # otherwise print a line that reads like "✓ PASS …").
    return shown(text, single_line=False).replace("\n", "\n      ")


def _print_closing(args: argparse.Namespace, config, target, done) -> None:
    """The fix-it commands for what failed, then the JSON report or the closing lines (Traces: where, when, ids)."""
    from optscale_tui.core.diagnosis.fixes import fixes_for
    from optscale_tui.core.verify import report

    fixes = fixes_for(config, [r.cause for r in done.results if r.cause], catalog=done.catalog)
    if getattr(args, "profile", None):
        fixes = []  # they fix the settings file, which a profile's verification did not look at
    if args.json:
        payload = report.to_json(done, target)
        payload["fixes"] = fix_rows(fixes)
        out(json_text=True, text=json_text(payload))
    else:
        print_fixes(fixes)
        for line in report.closing_lines(done, target):  # Traces: where, when, which ids; what is left to do
            out(line)


def cmd_doctor(args: argparse.Namespace) -> int:
    from optscale_tui.core.diagnosis.desktop import with_desktop_findings
    from optscale_tui.core.diagnosis.fixes import fixes_for

    config = with_desktop_findings(inspect_settings(args.settings))  # and Claude Desktop's managed configuration
    fixes = fixes_for(config)
    if args.json:
        out(json_text=True, text=json_text({
            "ok": not any(f.severity == "fail" for f in config.findings),
            "user_settings": str(config.user_settings),
            "variables": [
                {"name": v.name, "value": v.display, "source": v.source.value,
                 "source_path": str(v.source_path) if v.source_path else None,
                 "overridden": [{"source": layer.value, "path": str(p) if p else None} for layer, p in v.overridden]}
                for v in config.variables.values()
            ],
            "findings": [{"cause": f.cause.value, "severity": f.severity, "message": f.message, "fix": f.fix}
                         for f in config.findings],
            "notes": list(getattr(config, "notes", ())),
            "run_precedence": _run_precedence_note(),
            "fixes": fix_rows(fixes),
        }, ensure_ascii=True))
    else:
        _print_doctor(config)
        print_fixes(fixes)
    return EXIT_PROBLEM if any(f.severity == "fail" for f in config.findings) else EXIT_OK


def _print_doctor(config) -> None:
    out(f"Claude Code reads user settings from {config.user_settings}")
    out("")
    # The value last: a long one (a URL) pushed the source column out of line.
    rows = [(v, v.source.value + (f" ({v.source_path})" if v.source_path else ""))
            for v in config.variables.values()]
    name_w = max([len("variable"), *(len(v.name) for v, _ in rows)])
    source_w = max([len("source"), *(len(where) for _, where in rows)])
    out(f"{'variable':<{name_w}}  {'source':<{source_w}}  value")
    for v, where in rows:
        out(f"{v.name:<{name_w}}  {where:<{source_w}}  {v.display}")
        for layer, p in v.overridden:
            out(f"{'':<{name_w}}    overrides {layer.value}{f' ({p})' if p else ''}")
    out("")
    if not config.findings:
        out("✓ No conflicts: nothing overrides the gateway settings.")
    for f in config.findings:
        out(f"{'✗' if f.severity == 'fail' else '!'} {f.message}")
        out(f"    cause: {f.cause.value}")
        out(f"    fix:   {f.fix}")
    for note in getattr(config, "notes", ()):
        out(f"  note: {note}")
    out(f"  note: {_run_precedence_note()}")


def _run_precedence_note() -> str:
    from optscale_tui.core.session_run import PRECEDENCE_NOTE

    return PRECEDENCE_NOTE


def cmd_models(args: argparse.Namespace) -> int:
    import asyncio

    from optscale_tui.core.connection import InputError, parse_base_url
    from optscale_tui.core.gateway.client import GatewayClient

    try:
        url = parse_base_url(args.base_url)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    key = read_key(args)
    assert key is not None

    try:
        client = GatewayClient(url, key, ca_bundle=args.ca_bundle, timeout=args.timeout)
    except InputError as exc:  # an unreadable CA file
        raise UsageError(exc.reason) from None

    async def fetch():
        async with client:
            return await client.list_models()

    catalog = asyncio.run(fetch())
    if args.json:
        _print_catalog_json(catalog)
    else:
        _print_catalog(catalog)
    return EXIT_OK if catalog.probe.ok else EXIT_PROBLEM


def _print_catalog_json(catalog) -> None:
    from optscale_tui.core.causes import describe

    probe = catalog.probe
    # JSON escapes control characters itself; keys are masked (json_text), as everywhere.
    out(json_text=True, text=json_text({
        "ok": probe.ok,
        "source": catalog.source,
        "models": [{"id": m.id, "display_name": m.display_name, "owned_by": m.owned_by} for m in catalog.models],
        "cause": probe.cause.value if probe.cause else None,
        "message": probe.detail,
        "fix": describe(probe.cause).fix if probe.cause else "",
        "request_ids": dict(probe.request_ids),
    }, ensure_ascii=True))


def _print_catalog(catalog) -> None:
    from optscale_tui.core.causes import describe

    probe = catalog.probe
    if not probe.ok:
        info = describe(probe.cause) if probe.cause else None
        err(f"✗ Could not list models: {shown(probe.detail or (info.message if info else ''))}")
        if info:
            err(f"  cause: {info.cause.value}\n  fix:   {info.fix}")
        return
    out(f"{len(catalog.models)} models from {shown(catalog.source)}:")
    altered = 0
    for m in catalog.models:
        listed = shown(m.id)
        if listed != m.id:  # what is printed is not the id: it must not be copied into a mapping as is
            altered += 1
            listed += "  (!)"
        out(f"  {listed}")
    if altered:
        err(f"warning: {altered} model id{'s' if altered != 1 else ''} marked (!) held control characters or "
            "something shaped like an API key; shown cleaned, and refused as a tier model.")
