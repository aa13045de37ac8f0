"""Step 4 — Verify: prove the connection works the way Claude Code will use it, and watch the replies stream in.

The core engine (`core.verify.run_verification`) runs the checks concurrently and yields events; an async worker
(group "verify", so the app can ask before quitting) turns them into a checklist and a log. Token chunks are only
buffered as they arrive and written to the log ~30 times a second, so a gateway streaming thousands of chunks a
second never makes the keyboard wait. Replies are shown tier by tier in plan order (a tier that answers early waits
for the one before it), so the log reads cleanly and every character arrives.

What is verified: the settings in effect (read fresh from disk for each run) — or, when there are unsaved changes,
the unsaved values on request (`u`). The run starts by itself when the pane is shown after a save; otherwise `r`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, OptionList, Static

from optscale_tui.core.causes import CAUSES, Cause
from optscale_tui.core.verify import report
from optscale_tui.core.verify.engine import VerifyOptions, merge_results, run_verification
from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckProgress,
    CheckResult,
    CheckSpec,
    CheckStarted,
    CheckStatus,
    TokenChunk,
    VerificationDone,
    VerificationEvent,
    VerificationPlanned,
    VerificationTarget,
)
from optscale_tui.core.verify.replies import NoReply, ReplyOpened, ReplyOrder, ReplyText, streamed_ids
from optscale_tui.core.verify.targets import (
    BETA_WARN_FIX,
    CATALOG_FIX,
    WRITE_CONNECTION_FIX,
    target_from_effective,
    target_from_unsaved,
)
from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import Change, CopyRequested, FixesRequested, Notice
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.findings import home_relative
from optscale_tui.ui.widgets.stream_log import StreamLog

LOG_TITLE, LOG_HINT = "Replies", "(t: request ids for OptScale Traces)"
TRACES_TITLE, TRACES_HINT = "Find it in OptScale Traces", "(t: replies)"
FLUSH_INTERVAL = 1 / 30  # log writes per second while streaming
YIELD_EVERY = 0.005  # seconds of event handling before the worker lets the UI run
WIDE = 110  # columns from which the checklist sits beside the log
EFFECTIVE, UNSAVED = "effective", "unsaved"

# The fixes core writes for one check (not one cause), in the app's words; a cause's fix is worded in core/causes.py.
MODELS = "Go to step 2, Models (F3)"
FIX_IT = "Press f (Fix it) to"


def tui_fix(result: CheckResult) -> str:
    """A fix in the app's words: where to go here rather than the CLI command."""
    if result.fix == WRITE_CONNECTION_FIX:
        return ("Go to step 1, Connect (F2): paste the Base URL and the API key from OptScale Chat, then write them on "
                "step 3, Review (F4).")
    if result.fix == CATALOG_FIX:
        return f"{MODELS}, and pick models from the catalog this key sees, or ask your OptScale admin to allow them."
    if result.fix == BETA_WARN_FIX:
        return (f"{FIX_IT} add CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1, or tick “Turn off experimental betas” on "
                "step 2, Models (F3), so Claude Code sends only the betas this gateway accepts.")
    if result.cause is Cause.SHELL_API_KEY and result.fix.startswith("Remove ANTHROPIC_API_KEY from the env block"):
        return home_relative(f"{FIX_IT} remove{result.fix.removeprefix('Remove')}")  # the doctor's, naming the file
    info = CAUSES.get(result.cause) if result.cause is not None else None
    if info is not None and result.fix == info.fix:
        return home_relative(info.tui_fix)  # the cause's generic fix, as the app words it (core/causes.py)
    return home_relative(result.fix)


def tui_message(result: CheckResult) -> str:
    """A message in the app's words: paths as ~/…, and the config row's other findings where this app shows them."""
    return home_relative(result.message).replace("; see doctor)", "; see Doctor (F6))")


class VerifyPane(Pane):
    """The verification log (pane id "verify")."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The Footer shows only what matters most here (run, re-run, copy, fix, and cancel while running), so it
        # fits 80 columns beside the app's Help and Quit; the rest stay in the command palette and the help screen.
        Binding("r", "run_all", "Run all", id="verify.run", tooltip="Run every check again"),
        Binding("full_stop", "rerun_selected", "Re-run", id="verify.rerun_one",
                tooltip="Re-run the highlighted check (enter does the same)"),
        Binding("x,escape", "cancel", "Cancel", id="verify.cancel", tooltip="Stop the running verification"),
        Binding("c", "copy_report", "Copy", id="verify.copy",
                tooltip="Copy the report as Markdown (the API key is masked)"),
        Binding("s", "save_report", "Save", id="verify.save", show=False,
                tooltip="Save the report as Markdown or JSON (the API key is masked)"),
        Binding("t", "toggle_traces", "Traces", id="verify.traces", show=False,
                tooltip="Switch between the replies and the request ids for OptScale Traces"),
        Binding("u", "toggle_source", "Unsaved", id="verify.source", show=False,
                tooltip="Verify the unsaved values instead of the settings in effect (or back)"),
        Binding("f", "fix", "Fix it", id="verify.fix",
                tooltip="Show the diff of the automatic fix for what failed, and apply it"),
    ]

    def _fix_words(self, result: CheckResult) -> str:
        """tui_fix, except that "enter the values and save them" cannot come first while the settings file does not
        parse: nothing can be written to it until it is corrected."""
        config = self.target.config if self.target is not None else None
        if result.fix == WRITE_CONNECTION_FIX and config is not None and any(
                f.cause is Cause.SETTINGS_INVALID for f in config.findings):
            return ("First correct the settings file (the configuration check above says where) and press r; then "
                    "enter the Base URL and the API key on step 1, Connect (F2), and write them on step 3, Review "
                    "(F4).")
        return tui_fix(result)

    def _causes(self) -> tuple:
        return tuple(r.cause for r in self.done.results if r.cause) if self.done is not None else ()

    def _fix_config(self):
        """The configuration the results were judged against, as the run read it: for the settings in effect, the
        files as they were on disk then (the app's stored view may be older: a file edited outside the app showed
        "cause: shell_api_key" with no Fix it); for a run of unsaved values, those values as saved (judged against
        the file on disk, an all-pass run would offer to "fix" what saving them fixes anyway)."""
        if self.target is not None:
            return self.target.config
        return None

    def _fixes(self) -> list:
        """The automatic fixes the app's Fix it would offer for these results (core decides which apply)."""
        if self.done is None:
            return []
        return self.state.fixes(self._causes(), self._fix_config())

    def action_fix(self) -> None:
        self.post_message(FixesRequested(self._causes(), self._fix_config()))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = EFFECTIVE
        self.target: VerificationTarget | None = None
        self._target_unsaved = False  # whether `target` is the unsaved values (the source may switch after the run)
        self.done: VerificationDone | None = None
        self._finished_at: datetime | None = None  # when the last run ended: the Traces title's time window
        self._run = 0  # generation: events of a superseded run are ignored
        self._partial = False
        self._replies = ReplyOrder()  # the streamed replies, tier by tier in plan order (core/verify/replies.py)
        self._finished: dict[str, CheckResult] = {}
        self._ticks = 0
        self._run_on_show = False
        self._show_traces = False
        self._last_status = ""
        self._specs: dict[str, CheckSpec] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="verify-source", markup=False)
        yield Static(id="verify-status", markup=False)
        with Horizontal(id="verify-body"):
            yield Checklist(id="verify-checklist", empty="Nothing verified yet: press r to run every check.",
                            fix_formatter=self._fix_words, message_formatter=tui_message)
            with Vertical(id="verify-output"):
                yield Static(LOG_TITLE, id="verify-log-title", markup=False)
                yield StreamLog(id="verify-log")
                yield Static(TRACES_TITLE, id="verify-traces-title", markup=False)
                yield DataTable(id="verify-traces", cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        table = self.query_one("#verify-traces", DataTable)
        table.add_columns("Check", "Request id", "Time")
        self.query_one(StreamLog).write_line("The model's replies stream here, tier by tier, as they arrive.")
        self._apply_layout()
        with contextlib.suppress(Exception):  # the pane switcher exists in the app; not when the view is tested alone
            self.watch(self.app.query_one("#panes"), "current", self._pane_activated, init=False)

    # --- state --------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(w.group == "verify" and w.is_running and w.node is self for w in self.workers)

    @property
    def unsaved_available(self) -> bool:
        state = self.state
        return state.values() is not None and state.effective_key is not None and state.has_unsaved_changes

    def source_words(self) -> str:
        if self.source == UNSAVED:
            return "unsaved values"
        state = self.state
        path = state.config.user_settings if state.config is not None else state.target.path
        return f"settings in effect ({display_path(path)})"

    def refresh_from_state(self, change: Change | None) -> None:
        if change is Change.SAVED:
            if self.source == UNSAVED:
                self._switch_source(EFFECTIVE)
            elif self._pane_is_current():
                self.action_run_all()
            else:
                self._run_on_show = True
        if self.source == UNSAVED and not self.unsaved_available:
            self._switch_source(EFFECTIVE)
        elif self.source == UNSAVED and change in (Change.CONNECTION, Change.TIERS) and (self.done is not None or self.running):
            self._discard_results()  # the unsaved values changed since they were verified
        self._show_source()
        self.refresh_bindings()

    def _pane_is_current(self) -> bool:
        try:
            return self.host.current_pane == "verify"
        except Exception:
            return False

    def _pane_activated(self, pane: str | None) -> None:
        if pane == "verify" and self._run_on_show:
            self._run_on_show = False
            self.action_run_all()

    def _show_source(self) -> None:
        line = f"Verifying: {self.source_words()}"
        if self.source == EFFECTIVE and self.unsaved_available:
            line += " · u: verify the unsaved values"
        elif self.source == UNSAVED:
            line += " (not saved) · u: the settings in effect"
        self.query_one("#verify-source", Static).update(line)
        if not self._last_status:
            self._set_status("Press r to run every check (it runs by itself when you come here after saving).")

    def _set_status(self, text: str) -> None:
        self._last_status = text
        self.query_one("#verify-status", Static).update(text)

    # --- layout -------------------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        wide = self.size.width >= WIDE
        self.set_class(wide, "-wide")
        # Narrow: the replies (or traces) take the rows they need, up to ~40% of the pane, and the checklist gets
        # the rest. The cap is set here because a container's auto height ignores its children's max-height.
        rows = max(3, self.size.height * 2 // 5)
        log, traces = self.query_one("#verify-log"), self.query_one("#verify-traces")
        log.styles.max_height = "60%" if wide else rows
        traces.styles.max_height = None if wide else rows
        self.query_one("#verify-output").styles.max_height = None if wide else rows + 1  # + the title
        # Both panels are shown side by side when wide, and `t` is off there: name the key only where it works.
        self.query_one("#verify-log-title", Static).update(LOG_TITLE if wide else f"{LOG_TITLE}  {LOG_HINT}")
        title = self._traces_title()
        self.query_one("#verify-traces-title", Static).update(title if wide else f"{title}  {TRACES_HINT}")
        self.query_one("#verify-log-title").display = wide or not self._show_traces
        self.query_one("#verify-log").display = wide or not self._show_traces
        self.query_one("#verify-traces-title").display = wide or self._show_traces
        self.query_one("#verify-traces").display = wide or self._show_traces

    def action_toggle_traces(self) -> None:
        self._show_traces = not self._show_traces
        self._apply_layout()

    # --- bindings -----------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action in ("copy_report", "save_report"):
            return True if self.done is not None else None
        if action == "rerun_selected":
            return True if self.query_one(Checklist).highlighted_id else None
        if action == "toggle_source":
            return self.unsaved_available or self.source == UNSAVED
        if action == "toggle_traces":
            return not self.has_class("-wide")
        if action == "fix":
            return bool(self._fixes())  # hidden, not dimmed, when pressing it could only say "nothing to fix"
        return True

    # --- running ------------------------------------------------------------------------------------------------

    def action_run_all(self) -> None:
        self._start(None)

    def action_rerun_selected(self) -> None:
        check_id = self.query_one(Checklist).highlighted_id
        if check_id is not None:
            self._start(frozenset({check_id}))

    @on(OptionList.OptionSelected, "#verify-checklist")
    def _row_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._start(frozenset({event.option.id}))

    def action_toggle_source(self) -> None:
        if self.source == UNSAVED:
            self._switch_source(EFFECTIVE)
        elif self.unsaved_available:
            self._switch_source(UNSAVED)

    def _switch_source(self, source: str) -> None:
        """Results of one source must never sit under the other's heading (a false pass): drop them and verify the
        new source at once (after the running verification, if any, is cancelled)."""
        if source == self.source:
            return
        self.source = source
        self._discard_results()

    def _discard_results(self) -> None:
        """Drop results that no longer describe what the heading names, and verify again (now if the pane is
        shown, else when it is)."""
        self.action_cancel()
        self.done = None
        self._show_source()
        if self._pane_is_current():
            self.action_run_all()
        else:
            self._run += 1  # a late event of the old source's run must not fill the cleared checklist
            self.query_one(StreamLog).clear()
            self.query_one(Checklist).show_empty("Nothing verified yet: press r to run every check.")
            self._finished = {}
            self._fill_traces()
            self._set_status("The source changed: press r to verify it.")
            self._run_on_show = True
        self.refresh_bindings()

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "verify")

    def _start(self, only: frozenset[str] | None) -> None:
        self._run += 1
        self._run_on_show = False
        partial = only is not None and self.done is not None
        self._partial = partial
        self._replies, self._finished = ReplyOrder(), {}
        log = self.query_one(StreamLog)
        if not partial:
            self.done = None  # copy, save and fix must not act on the results this run replaces
            log.clear()
            self.query_one(Checklist).show_empty("Reading the settings…")
            self._fill_traces()  # the previous run's request ids must not pass for this run's
        self._set_status("Reading the settings…")
        self._verify(self._run, only)

    def _build_target(self) -> VerificationTarget:
        """Runs in a thread: reads the settings files (the settings in effect may have changed on disk)."""
        from optscale_tui.core.clients.claude_code.locations import Scope
        from optscale_tui.core.diagnosis.doctor import inspect_environment

        state = self.state
        user = state.target.path if state.target.scope is Scope.USER else None
        if self.source == UNSAVED:
            values, plan = state.values(), state.plan()
            if values is not None and plan is not None:
                # The configuration check sees these values as saved, over every other layer as it is now.
                return target_from_unsaved(replace(values, key=state.effective_key), plan, cwd=state.cwd,
                                           user_settings=user)
        return target_from_effective(inspect_environment(cwd=state.cwd, user_settings=user), cwd=state.cwd)

    @work(exclusive=True, group="verify")
    async def _verify(self, run: int, only: frozenset[str] | None) -> None:
        try:
            target = await asyncio.to_thread(self._build_target)
        except Exception as exc:  # an unreadable file: say so, never a traceback
            if run == self._run:
                self._set_status(f"✗ Could not read the settings: {exc}")
            return
        if run != self._run:
            return
        self.target = target
        self._target_unsaved = self.source == UNSAVED
        self._show_source()
        options = VerifyOptions(ca_bundle=self.state.ca_bundle, only=only)
        if self.source != UNSAVED and not target.problems:
            # The real-client check: the user's own `claude` against the settings in effect (skipped with the
            # install hint when there is none).
            from optscale_tui.core.verify.real_client import real_client

            client = real_client(target, cwd=self.state.cwd, only=only)
            options = replace(options, extra_checks=tuple(client.checks), extra_session=client)
        flush_timer = self.set_interval(FLUSH_INTERVAL, self._flush)
        self.refresh_bindings()
        try:
            async with contextlib.aclosing(run_verification(target, options)) as events:
                last_yield = time.perf_counter()
                async for event in events:
                    if run != self._run:
                        return
                    self._on_event(event)
                    # A fast stream keeps the engine's queue full, so `async for` might never give the event loop
                    # back: yield every few milliseconds so keys, timers and repaints are served while it streams.
                    now = time.perf_counter()
                    if now - last_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        last_yield = time.perf_counter()
        except asyncio.CancelledError:
            if run == self._run:
                self._cancelled()
            raise
        finally:
            flush_timer.stop()
            self.call_after_refresh(self.refresh_bindings)

    def _on_event(self, event: VerificationEvent) -> None:
        checklist = self.query_one(Checklist)
        if isinstance(event, TokenChunk):  # the hot path: only buffer
            self._replies.add_text(event.check_id, event.text)
        elif isinstance(event, CheckStarted):
            checklist.mark(event.check_id, CheckStatus.RUNNING)
        elif isinstance(event, CheckProgress):
            checklist.mark(event.check_id, CheckStatus.RUNNING, event.message)
        elif isinstance(event, CheckFinished):
            self._finished[event.check_id] = event.result
            self._replies.finish(event.result)
            checklist.finish(event.result)
            self._progress_status()
            if event.result.request_ids:
                self._fill_traces()
        elif isinstance(event, VerificationPlanned):
            checklist.plan(event.checks, keep=self._partial)
            self._specs = {s.id: s for s in event.checks}
            self._replies.plan(streamed_ids(event.checks))
            self._progress_status()
            self._fill_traces()
        elif isinstance(event, VerificationDone):
            self._flush()
            previous = self.done if self._partial else None
            self.done = merge_results(previous, event)
            # Count the rows the checklist shows: the doctor's findings are summed up in its "config" row.
            shown = self.query_one(Checklist).check_ids
            self._set_status(("✓ " if self.done.ok else "✗ ") + report.verdict_line(self.done, shown))
            self._fill_traces(self.done.results)
            self._finished_at = datetime.now(UTC)
            self._apply_layout()  # the Traces title names the time window of this run
            self.refresh_bindings()  # "Fix it" shows only when the results have something to fix

    def _progress_status(self) -> None:
        counts = self.query_one(Checklist).counts()
        total = sum(counts.values())
        left = counts[CheckStatus.PENDING] + counts[CheckStatus.RUNNING]
        if left:
            self._set_status(f"Running… {total - left} of {report.plural(total, 'check')} done  ·  x cancels")

    def _cancelled(self) -> None:
        self._flush()
        log = self.query_one(StreamLog)
        if log.in_stream:
            log.end_stream()
        log.line("— cancelled —")
        checklist = self.query_one(Checklist)
        skipped = checklist.cancel_open("Cancelled before it finished.")
        self._set_status(f"Cancelled: {skipped} check{'s' if skipped != 1 else ''} did not finish. "
                         "r runs every check again.")

    # --- the log ------------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Write the buffered replies, in plan order; a later tier waits until the one before it has finished."""
        self._ticks += 1
        checklist = self.query_one(Checklist)
        if self._ticks % 3 == 0 and checklist.running:
            checklist.tick()
        log = self.query_one(StreamLog)
        for piece in self._replies.take():
            if isinstance(piece, NoReply):
                # No reply at all: one line per tier keeps the log short, and the checklist gets the room for why.
                result = piece.result
                log.line(f"{self._stream_header(result.id, self._specs.get(result.id))}  "
                         f"{self._stream_footer(result, replied=False)}")
            elif isinstance(piece, ReplyOpened):
                log.begin_stream(self._stream_header(piece.check_id, self._specs.get(piece.check_id)))
            elif isinstance(piece, ReplyText):
                log.stream(piece.text)
            else:
                log.end_stream()
                log.paragraph(self._stream_footer(piece.result))

    def _stream_header(self, check_id: str, spec: CheckSpec | None) -> str:
        tier = (spec.tier if spec and spec.tier else check_id.removeprefix("prompt.")).capitalize()
        model = spec.model if spec and spec.model else ""
        if check_id.startswith("claude."):  # the real client's own reply, not a direct probe
            how = "default session" if check_id == "claude.default" else f"--model {tier.lower()}"
            return f"▸ Claude Code ({how})" + (f" · {model}" if model else "")
        return f"▸ {tier}" + (f" · {model}" if model else "")

    def _stream_footer(self, result: CheckResult, *, replied: bool = True) -> str:
        timing = self.query_one(Checklist).timing_formatter(result)
        if result.status is CheckStatus.PASS:
            return f"✓ {timing}" if timing else "✓ replied"
        mark = report.STATUS_MARK[result.status]
        cause = f": {result.cause.value}" if result.cause else ""
        # The checklist holds the message and the fix; the log only says how the reply ended.
        return f"{mark} {report.STATUS_WORD[result.status].strip()}{cause}" if replied else f"{mark} no reply{cause}"

    def _trace_results(self) -> list[CheckResult]:
        """The results whose request ids the traces table lists: the finished run's; while one runs, what has
        finished so far (a partial re-run: over the earlier results, its checks replacing theirs), in plan order."""
        results: dict[str, CheckResult] = {}
        if self.done is not None and self._partial:  # the re-run's checks drop their earlier ids until they finish
            results = {r.id: r for r in self.done.results if r.id not in self._specs}
        results.update(self._finished)
        order = {check_id: index for index, check_id in enumerate(self.query_one(Checklist).check_ids)}
        return sorted(results.values(), key=lambda r: order.get(r.id, len(order)))

    def _traces_title(self) -> str:
        """Where to look and when, once a run has finished: ids alone left the user searching all of Traces."""
        from optscale_tui.core.diagnosis.next_steps import traces_window

        if self.done is None or self._finished_at is None:
            return TRACES_TITLE
        window = traces_window(self._finished_at, self.done.elapsed_ms, with_date=False)
        return f"Admin UI → Core Services → Traces, {window}"

    def _fill_traces(self, results: Iterable[CheckResult] | None = None) -> None:
        """List the request ids of `results` (default: the run's so far, see `_trace_results`)."""
        table = self.query_one("#verify-traces", DataTable)
        table.clear()
        rows = report.traces_rows(self._trace_results() if results is None else results)
        for check_id, request_id, took in rows:
            table.add_row(check_id, request_id, took)
        if not rows:
            table.add_row("—", "no request ids yet", "")

    # --- report -------------------------------------------------------------------------------------------------

    def report_markdown(self) -> str | None:
        return report.to_markdown(self.done, self.target) if self.done else None

    def action_copy_report(self) -> None:
        text = self.report_markdown()
        if text is None:
            self.notify("Nothing to copy yet: run the verification first (r).", severity="warning")
            return
        self.post_message(CopyRequested(text, "Copied the verification report (key masked)."))

    def action_save_report(self) -> None:
        if self.done is None:
            self.notify("Nothing to save yet: run the verification first (r).", severity="warning")
            return
        done, target = self.done, self.target
        folder, sandbox = self._report_folder()

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer:
                path_text, fmt = answer
                path = Path(path_text).expanduser()
                if not path.is_absolute():
                    path = folder / path
                self._write_report(path, report.render_report(done, target, fmt), sandbox)

        from optscale_tui.ui.dialogs.report import SaveReportScreen

        self.app.push_screen(SaveReportScreen(report.default_report_name("markdown"), folder, demo=sandbox is not None),
                             chosen)

    def _report_folder(self) -> tuple[Path, Path | None]:
        """Where a report goes unless a full path is given: the folder the app was started from. In --demo that is
        not the current folder (the sandbox, deleted when the app quits) but the one it was started in; the
        sandbox comes second, to warn about a report saved inside it."""
        demo = self.host.demo
        if demo is None:
            return self.state.cwd, None
        return (demo.started_in or self.state.cwd), demo.root

    @work(thread=True, group="verify-report")
    def _write_report(self, path: Path, text: str, sandbox: Path | None = None) -> None:
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            self.post_message(Notice(f"{display_path(path)} already exists; choose another name.",
                                     severity="error", title="Report not saved"))
        except OSError as exc:
            self.post_message(Notice(f"{display_path(path)}: {exc.strerror or exc}",
                                     severity="error", title="Report not saved"))
        else:
            if sandbox is not None and path.resolve().is_relative_to(sandbox.resolve()):
                self.post_message(Notice(f"Saved the verification report to {display_path(path)}, "
                                         "inside the demo's sandbox: it is deleted when the app quits.",
                                         severity="warning"))
                return
            self.post_message(Notice(f"Saved the verification report to {display_path(path)} (key masked)."))
