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


LONG = "--- a/x\n+++ b/x\n@@ -1,3 +1,4 @@\n a\n b\n c\n+" + "0123456789" * 10 + "\n d"
# A context line whose text has a "-" where the sign column would be once scrolled ("sk-bf-…" at offset 10).
CONTEXT = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n" + '     "TOKEN": "sk-bf-…a001",' + " " * 60 + "x\n-old\n+new"


class LongApp(App):
    CSS = "#cut { scrollbar-size-horizontal: 0; }"

    def compose(self) -> ComposeResult:
        yield DiffView(LONG, id="bar")
        yield DiffView(LONG, id="cut")


def row(view: DiffView, y: int) -> str:
    return view.render_line(y).text


async def test_without_a_horizontal_scrollbar_a_cut_line_shows_an_ellipsis() -> None:
    app = LongApp()
    async with app.run_test(size=(40, 24)) as pilot:
        await pilot.pause()
        bar, cut = app.query_one("#bar", DiffView), app.query_one("#cut", DiffView)
        width = cut.scrollable_content_region.width
        assert not bar.marks_cuts and cut.marks_cuts
        # With a scrollbar (e.g. Backups) the line is simply cropped; without one its last cell says it goes on.
        assert row(bar, 6) == ("+" + "0123456789" * 10)[:bar.scrollable_content_region.width]
        assert row(cut, 6) == ("+" + "0123456789" * 10)[:width - 1] + "…"
        assert row(cut, 3) == " a".ljust(width)  # a short line is left alone
        assert cut.scrollable_content_region.height == cut.region.height  # no row goes to a scrollbar
        cut.scroll_to(x=10, animate=False, immediate=True)
        await pilot.pause()
        assert row(cut, 6) == "+…" + ("+" + "0123456789" * 10)[12:10 + width - 1] + "…"  # cut on both sides
        cut.scroll_to(x=cut.max_scroll_x, animate=False, immediate=True)
        await pilot.pause()
        assert row(cut, 6).rstrip().endswith("0123456789") and row(cut, 6).startswith("+…")  # the end is readable


async def test_scrolled_sideways_an_added_line_keeps_its_sign() -> None:
    # Without colour the + / - column is the only sign of what a line is; it must not scroll away.
    app = LongApp()
    async with app.run_test(size=(40, 24)) as pilot:
        await pilot.pause()
        for view in (app.query_one("#bar", DiffView), app.query_one("#cut", DiffView)):
            view.scroll_to(x=10, animate=False, immediate=True)
            await pilot.pause()
            assert row(view, 6).startswith("+"), view.id
            assert row(view, 3).strip() == ""  # " a" is shorter than the offset: a context line stays blank
            line = "+" + "0123456789" * 10
            if view.marks_cuts:
                assert row(view, 6).startswith("+…" + line[12:20])  # cut: the sign, then "…", then from column 12
            else:
                assert row(view, 6).startswith("+" + line[11:20])  # cropped under a scrollbar


class ShortApp(App):
    CSS = "DiffView { height: 4; }"

    def compose(self) -> ComposeResult:
        yield DiffView(LONG)


async def test_scroll_to_first_change_starts_at_its_hunk() -> None:
    app = ShortApp()
    async with app.run_test(size=(80, 12)) as pilot:
        view = app.query_one(DiffView)
        assert view.first_change == 2  # the @@ line above "+0123…"
        view.scroll_to_first_change()
        await pilot.pause()
        assert view.scroll_y == 2 and row(view, 0).startswith("@@")
        view.set_diff("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new")
        await pilot.pause()
        assert view.scroll_y == 0  # a new diff starts at the top again
        view.set_diff("")
        assert view.first_change is None


class ShrinkingApp(App):
    """A diff box that starts tall and shrinks when a panel below it fills in, as on Review."""

    CSS = "DiffView { height: 9; }"

    def compose(self) -> ComposeResult:
        yield DiffView(LONG)


async def test_the_first_change_stays_in_view_when_the_box_shrinks_later() -> None:
    app = ShrinkingApp()
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(DiffView)
        view.scroll_to_first_change()
        await pilot.pause()
        assert view.scroll_y == 0  # 8 lines in 9 rows: everything fits
        view.styles.height = 4  # the panels around it took rows
        await pilot.pause()
        assert view.scroll_y == 2 and row(view, 0).startswith("@@")


async def test_once_the_reader_has_the_diff_a_resize_leaves_their_place_alone() -> None:
    app = ShrinkingApp()
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(DiffView)
        view.scroll_to_first_change()
        view.focus()
        await pilot.pause()
        view.styles.height = 6  # 2 lines hidden: the first change is in reach, not in view
        await pilot.pause()
        assert view.scroll_y == 2
        await pilot.press("home")  # the reader goes back to the file names
        view.styles.height = 4
        await pilot.pause()
        assert view.scroll_y == 0  # no jump under them


class ContextApp(App):
    CSS = "#cut { scrollbar-size-horizontal: 0; }"

    def compose(self) -> ComposeResult:
        yield DiffView(CONTEXT, id="cut")


async def test_scrolled_sideways_a_context_line_keeps_a_blank_sign_column() -> None:
    app = ContextApp()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(DiffView)
        line = CONTEXT.splitlines()[3]
        offset = line.index("-bf")  # the view starts at the "-" of "sk-bf-"
        view.scroll_to(x=offset, animate=False, immediate=True)
        await pilot.pause()
        assert row(view, 3).startswith(" …") and not row(view, 3).lstrip().startswith("-")
        assert row(view, 4).startswith("-")  # a removed line still says so
