"""A checklist of verification checks: one row per check with a mark *and* a word (never colour alone), the title,
timings when known, and for problems the cause id, message and fix.

Rows are options of an `OptionList`, so the list is keyboard-navigable and `enter` selects a row (the verify view
re-runs that check). Rows are rebuilt on resize so the timings sit at the right edge when there is room, and on their
own line when there is not (80 columns). The scrollbar's column is always reserved (`scrollbar-gutter: stable`): rows
are laid out for the width they really get, whether or not the list scrolls, so the OptionList never re-wraps them.

A check failing for the same cause (and fix) as a row above it gets one line saying so instead of the whole block: a
wrong key fails eight checks for one reason.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from optscale_tui.core.secrets import clean_outside_text
from optscale_tui.core.verify.events import CheckResult, CheckSpec, CheckStatus
from optscale_tui.core.verify.report import (
    STATUS_MARK,
    STATUS_WORD,
    format_timings,
    repeated_problems,
    same_cause_line,
)

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
WORD = {**STATUS_WORD, CheckStatus.PENDING: "WAIT", CheckStatus.RUNNING: "RUN "}
# Theme variables only: light and dark themes both work; NO_COLOR drops them and the words remain.
# The status words are badges: plain text on the status colour, muted, so they stay readable on the
# highlighted row too, where a bare colour sat on the cursor's background (✗ FAIL in $text-error on the light theme's
# blue cursor was 1.0:1). Now at least 9:1 in both themes, focused or not; tests/ui/test_checklist_contrast.py.
STYLE = {
    CheckStatus.PASS: "$text on $success-muted",
    CheckStatus.WARN: "$text on $warning-muted",
    CheckStatus.FAIL: "$text on $error-muted",
    CheckStatus.SKIP: "$text-muted",
    CheckStatus.RUNNING: "$text on $accent-muted",
    CheckStatus.PENDING: "$text-muted",
}
INDENT = " " * 8  # under the title: "✓ PASS  "


@dataclass
class _Row:
    spec: CheckSpec
    status: CheckStatus = CheckStatus.PENDING
    result: CheckResult | None = None
    note: str = ""  # progress while running, "Cancelled" after a cancel
    started: float | None = None  # when it started running (the checklist's clock), for the seconds waited so far


class Checklist(OptionList):
    """The checks of one verification, updated as events arrive."""

    DEFAULT_CSS = """
    Checklist { height: 1fr; scrollbar-gutter: stable; }
    """

    def __init__(self, *, id: str | None = None, empty: str = "No checks yet.",
                 timing_formatter: Callable[[CheckResult], str] = format_timings,
                 fix_formatter: Callable[[CheckResult], str] = lambda result: result.fix,
                 message_formatter: Callable[[CheckResult], str] = lambda result: result.message) -> None:
        super().__init__(id=id, compact=True)
        self._rows: dict[str, _Row] = {}
        self._frame = 0
        self._empty = empty
        self._repeated: set[str] = set()
        self.timing_formatter = timing_formatter
        self.fix_formatter = fix_formatter  # the front end's words for a fix (where to do it in the app)
        self.message_formatter = message_formatter  # and for a message (e.g. paths as ~/…)
        self.clock: Callable[[], float] = time.monotonic  # injectable for tests

    # --- data ---------------------------------------------------------------------------------------------------

    @property
    def check_ids(self) -> list[str]:
        return list(self._rows)

    @property
    def highlighted_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None and option.id in self._rows else None

    def status_of(self, check_id: str) -> CheckStatus | None:
        row = self._rows.get(check_id)
        return row.status if row else None

    def counts(self) -> dict[CheckStatus, int]:
        counts = dict.fromkeys(CheckStatus, 0)
        for row in self._rows.values():
            counts[row.status] += 1
        return counts

    @property
    def running(self) -> bool:
        return any(r.status is CheckStatus.RUNNING for r in self._rows.values())

    def show_empty(self, text: str | None = None) -> None:
        self._rows.clear()
        if text is not None:
            self._empty = text
        self._rebuild()

    def plan(self, specs: Iterable[CheckSpec], *, keep: bool = False) -> None:
        """Show these checks as pending. With keep=True (a re-run of some checks) the other rows stay as they are and
        new ones are added at the end."""
        if not keep:
            self._rows.clear()
        for spec in specs:
            row = self._rows.get(spec.id)
            if row is None:
                self._rows[spec.id] = _Row(spec)
            else:
                row.status, row.result, row.note, row.started = CheckStatus.PENDING, None, "", None
        self._rebuild()

    def mark(self, check_id: str, status: CheckStatus, note: str = "") -> None:
        row = self._rows.get(check_id)
        if row is None:
            row = self._rows[check_id] = _Row(CheckSpec(check_id, check_id))
            row.status, row.note = status, note
            row.started = self.clock() if status is CheckStatus.RUNNING else None
            self._rebuild()
            return
        if status is CheckStatus.RUNNING and row.status is not CheckStatus.RUNNING:
            row.started = self.clock()  # progress notes keep the first start
        row.status, row.note = status, note
        self._update(check_id)

    def finish(self, result: CheckResult) -> None:
        row = self._rows.get(result.id)
        if row is None:
            row = self._rows[result.id] = _Row(CheckSpec(result.id, result.title, result.tier, result.model))
            row.status, row.result = result.status, result
            self._rebuild()
            return
        row.status, row.result, row.note = result.status, result, ""
        if self._refresh_repeated():  # which row explains a shared cause may have changed: redraw them all
            self._rebuild()
        else:
            self._update(result.id)

    def _refresh_repeated(self) -> bool:
        """Recompute which rows only repeat a cause explained above; True when that changed."""
        results = [row.result for row in self._rows.values() if row.result is not None]
        repeated = repeated_problems(results)
        changed, self._repeated = repeated != self._repeated, repeated
        return changed

    def cancel_open(self, note: str = "Cancelled") -> int:
        """Mark every pending or running row as skipped; returns how many."""
        count = 0
        for check_id, row in self._rows.items():
            if row.status in (CheckStatus.PENDING, CheckStatus.RUNNING):
                row.status, row.note = CheckStatus.SKIP, note
                count += 1
                self._update(check_id)
        return count

    def tick(self) -> None:
        """Advance the spinner of the running rows (and the seconds they have waited, drawn with it)."""
        self._frame = (self._frame + 1) % len(SPINNER)
        for check_id, row in self._rows.items():
            if row.status is CheckStatus.RUNNING:
                self._update(check_id)

    # --- rendering ----------------------------------------------------------------------------------------------

    def _width(self) -> int:
        width = self.scrollable_content_region.width
        return width if width > 20 else 76

    def _prompt(self, row: _Row) -> Content:
        width = self._width()
        status = row.status
        mark = SPINNER[self._frame] if status is CheckStatus.RUNNING else STATUS_MARK[status]
        title = row.result.title if row.result else row.spec.title
        # A title longer than the line wraps under itself (as messages do), not back at column 1 (OptionList's wrap).
        titles = textwrap.wrap(title, max(20, width - len(INDENT)), break_on_hyphens=False) or [""]
        lines: list[Content] = [Content.assemble((f"{mark} {WORD[status]}", f"bold {STYLE[status]}"), "  ", titles[0])]
        lines.extend(Content(INDENT + line) for line in titles[1:])
        timing = self.timing_formatter(row.result) if row.result else ""
        if status is CheckStatus.RUNNING and row.started is not None:
            # The seconds waited so far (a prompt may wait long for its first token); redrawn on the spinner's tick.
            timing = f"{max(0.0, self.clock() - row.started):.1f} s"
        head = lines[-1]
        if timing and head.cell_length + 2 + cell_len(timing) <= width:
            pad = width - head.cell_length - cell_len(timing)
            lines[-1] = head + Content(" " * pad) + Content.styled(timing, "$text-muted")
            timing = ""
        if timing:
            lines.append(Content.styled(INDENT + timing, "$text-muted"))
        result = row.result
        if row.note:
            lines.extend(self._wrapped(row.note, "$text-muted"))
        if result is not None and result.id in self._repeated:
            lines.extend(self._wrapped(same_cause_line(result), "$text-muted"))
        elif result is not None and result.status in (CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.SKIP):
            message = self.message_formatter(result)
            if message:
                lines.extend(self._wrapped(message, ""))
            if result.cause:
                lines.append(Content.assemble(INDENT, ("cause: ", "$text-muted"),
                                              (result.cause.value, "bold")))
            fix = self.fix_formatter(result)
            if fix:
                # A skipped check's fix is how to get it (the install hint for a missing claude CLI), as the
                # README promises: it was only in --json.
                label = "hint" if result.status is CheckStatus.SKIP else "fix"
                lines.extend(self._wrapped(f"{label}: {fix}", ""))
        return Content("\n").join(lines)

    def _wrapped(self, text: str, style: str) -> list[Content]:
        text = clean_outside_text(text, single_line=True)  # messages quote the gateway, claude and settings files
        width = max(20, self._width() - len(INDENT))
        # Not at hyphens: a URL or a UUID stays whole on its line unless it is longer than the line.
        lines = textwrap.wrap(text, width, break_on_hyphens=False)
        return [Content.styled(INDENT + line, style) for line in lines or [""]]

    def _update(self, check_id: str) -> None:
        row = self._rows[check_id]
        try:
            self.replace_option_prompt(check_id, self._prompt(row))
        except Exception:  # not rendered yet (OptionDoesNotExist): rebuild everything
            self._rebuild()

    def _rebuild(self) -> None:
        self._refresh_repeated()
        highlighted = self.highlighted_id
        if not self._rows:
            self.set_options([Option(Content.styled(self._empty, "$text-muted"), disabled=True)])
            return
        self.set_options([Option(self._prompt(row), id=check_id) for check_id, row in self._rows.items()])
        ids = list(self._rows)
        self.highlighted = ids.index(highlighted) if highlighted in ids else 0

    def on_resize(self) -> None:
        if self._rows:
            self._rebuild()
