"""The checklist's status words stay readable on every row: plain, highlighted, focused or not, in both themes."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from optscale_tui.core.verify.events import CheckResult, CheckSpec, CheckStatus
from optscale_tui.ui.widgets.checklist import Checklist
from tests.ui.test_diff_view import contrast

FINISHED = (CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.SKIP)
ROWS = [status.value for status in (*FINISHED, CheckStatus.RUNNING, CheckStatus.PENDING)]


class ChecklistApp(App):
    def compose(self) -> ComposeResult:
        yield Checklist()


def status_word_contrast(checklist: Checklist, check_id: str) -> float:
    """The contrast of the row's first visible segment (its mark and status word) against what is behind it."""
    for y in range(checklist.region.height):
        strip = checklist.render_line(y)
        if f"check {check_id}" in strip.text:
            segment = next(s for s in strip if s.text.strip())
            assert segment.style is not None and segment.style.color and segment.style.bgcolor
            return contrast(segment.style.color, segment.style.bgcolor)
    raise AssertionError(f"row {check_id} not drawn")


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
async def test_status_words_are_readable_highlighted_or_not(theme: str) -> None:
    app = ChecklistApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        checklist = app.query_one(Checklist)
        checklist.plan([CheckSpec(check_id, f"check {check_id}") for check_id in ROWS])
        for status in FINISHED:
            checklist.finish(CheckResult(status.value, f"check {status.value}", status, None, "message"))
        checklist.mark(CheckStatus.RUNNING.value, CheckStatus.RUNNING)
        checklist.focus()
        await pilot.pause()
        ratios: dict[tuple[str, str], float] = {}
        for focused in (True, False):
            if not focused:
                app.set_focus(None)
            for index, check_id in enumerate(ROWS):
                checklist.highlighted = index
                await pilot.pause()
                ratios[("focused" if focused else "blurred", check_id)] = status_word_contrast(checklist, check_id)
                # and the same word on a row that is not highlighted
                checklist.highlighted = (index + 1) % len(ROWS)
                await pilot.pause()
                ratios[("plain", check_id)] = status_word_contrast(checklist, check_id)
        low = {where: round(ratio, 2) for where, ratio in ratios.items() if ratio < 4.5}
        assert not low, (theme, low)  # WCAG AA for normal text (it was 1.0:1 for ✗ FAIL on the light cursor)
