"""A running row shows how long it has waited (a prompt can wait seconds for its first token), redrawn on the
spinner's tick only."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult

from optscale_tui.core.verify.events import CheckResult, CheckSpec, CheckStatus
from optscale_tui.ui.widgets.checklist import Checklist


class _Host(App):
    def compose(self) -> ComposeResult:
        yield Checklist(id="list")


def row_text(checklist: Checklist, check_id: str) -> str:
    return str(checklist.get_option(check_id).prompt)


async def test_running_rows_show_the_seconds_waited_so_far():
    now = [100.0]
    app = _Host()
    async with app.run_test(size=(80, 10)) as pilot:
        checklist = app.query_one(Checklist)
        checklist.clock = lambda: now[0]
        checklist.plan([CheckSpec("prompt.opus", "Opus tier answers a streamed prompt", "opus", "m")])
        checklist.mark("prompt.opus", CheckStatus.RUNNING)
        await pilot.pause()
        assert "RUN" in row_text(checklist, "prompt.opus") and "0.0 s" in row_text(checklist, "prompt.opus")
        now[0] = 102.1
        assert "2.1 s" not in row_text(checklist, "prompt.opus")  # nothing redraws between ticks
        checklist.tick()
        assert "2.1 s" in row_text(checklist, "prompt.opus")
        # A progress note does not restart the count.
        checklist.mark("prompt.opus", CheckStatus.RUNNING, "waiting for the first token")
        assert "2.1 s" in row_text(checklist, "prompt.opus")
        # Finished: the result's own timings, no waiting time.
        checklist.finish(CheckResult("prompt.opus", "Opus tier answers a streamed prompt", CheckStatus.PASS))
        assert not re.search(r"\d\.\d s", row_text(checklist, "prompt.opus"))


async def test_a_long_title_wraps_under_itself_not_at_column_one():
    # At 80x24 the running subagent row broke as "…answers a streamed" with "prompt" at column 1 of the next line.
    title = "Subagent model (CLAUDE_CODE_SUBAGENT_MODEL) answers a streamed prompt"
    app = _Host()
    async with app.run_test(size=(70, 10)) as pilot:
        checklist = app.query_one(Checklist)
        checklist.clock = lambda: 100.0
        checklist.plan([CheckSpec("prompt.subagent", title, "subagent", "m")])
        checklist.mark("prompt.subagent", CheckStatus.RUNNING)
        await pilot.pause()
        width = checklist.scrollable_content_region.width
        for status in (CheckStatus.RUNNING, CheckStatus.PASS):
            if status is CheckStatus.PASS:
                checklist.finish(CheckResult("prompt.subagent", title, CheckStatus.PASS,
                                             timings={"ttfb_ms": 5, "total_ms": 9}))
            lines = row_text(checklist, "prompt.subagent").splitlines()
            assert all(len(line) <= width for line in lines), (width, lines)
            # The rest of the title under its first letter, not at column 1.
            assert len(lines) >= 2 and lines[1].startswith(" " * 8) and not lines[1][8].isspace(), lines
            assert "prompt" in lines[1], lines
            assert " ".join(" ".join(lines).split()).count(title) == 1, lines
