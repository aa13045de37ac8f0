"""The diff widget: every kind of line stays readable in the light and the dark theme."""

from __future__ import annotations

import pytest
from rich.color import Color as RichColor
from textual.app import App, ComposeResult

from optscale_tui.ui.widgets.diff_view import DiffView

DIFF = "--- a/settings.json\n+++ b/settings.json\n@@ -1 +1 @@\n-old\n+new\n same\n\\ No newline at end of file"


def luminance(color: RichColor) -> float:
    """WCAG relative luminance."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RichColor, b: RichColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class DiffApp(App):
    def compose(self) -> ComposeResult:
        yield DiffView(DIFF)


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
async def test_every_line_kind_is_readable(theme: str) -> None:
    app = DiffApp()
    async with app.run_test(size=(80, 12)) as pilot:
        app.theme = theme
        await pilot.pause()
        view = app.query_one(DiffView)
        for y, line in enumerate(DIFF.splitlines()):
            segment = next(iter(view.render_line(y)))
            assert segment.text.startswith(line[:10])
            style = segment.style
            assert style is not None and style.color is not None and style.bgcolor is not None
            # 3:1 is WCAG's minimum for large/bold text; muted lines are meant to be dimmer than the body text.
            assert contrast(style.color, style.bgcolor) >= 3, (theme, line, style)
