"""A running row shows how long it has waited (a prompt can wait seconds for its first token), redrawn on the
spinner's tick only."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult

from optscale_tui.core.verify import CheckResult, CheckSpec, CheckStatus
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
