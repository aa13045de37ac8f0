"""App-wide navigation: focus after a step change, Next/Back through the panes' guards, the Footer's keys."""

from __future__ import annotations

import pytest
from textual.style import Style
from textual.widgets import Footer

from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.widgets.step_bar import PaneSlot as Pane
from optscale_tui.ui.widgets.step_bar import StepBar
from tests.ui.screen import screen_text, settle
from tests.ui.test_diff_view import contrast
from tests.ui.test_tiers import connect, text_of


def focus_pane(app: OptScaleApp) -> str | None:
    focused = app.screen.focused
    if focused is None:
        return None
    pane = next((node for node in focused.ancestors_with_self if isinstance(node, Pane)), None)
    return pane.id if pane is not None else None


def footer_keys(app: OptScaleApp) -> dict[str, str]:
    """What the active screen's Footer shows: key as displayed → description."""
    footer = app.screen.query_one(Footer)
    return {key.key_display: key.description for key in footer.query("FooterKey")}


async def test_focus_lands_in_the_target_pane_after_every_step_change(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "h")  # a tier mapped: a stray ctrl+n reaching the hidden Models pane would open Review
        await pilot.pause()
        assert app.state.tiers.any_tier
        # Keys back to back, as a fast typist sends them: each one must already act on the pane just shown.
        moves = [(("f4", "alt+left"), "tiers"), (("f6", "f3"), "tiers"), (("f2", "ctrl+n"), "tiers"),
                 (("f3", "alt+left"), "connect"), (("f7", "f2", "f3"), "tiers"), (("f5", "f4", "f3"), "tiers")]
        for run in range(30):
            keys, target = moves[run % len(moves)]
            await pilot.press(*keys)
            await pilot.pause()
            assert (app.current_pane, focus_pane(app)) == (target, target), (run, keys, app.screen.focused)


async def test_app_next_runs_the_pane_guard_even_with_nothing_focused(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert app.current_pane == "tiers" and not app.state.tiers.any_tier
        for key in ("ctrl+n", "alt+right"):
            app.screen.set_focus(None)  # the app's binding answers, not the pane's
            await pilot.pause()
            await pilot.press(key)
            await pilot.pause()
            assert app.current_pane == "tiers", key
            assert "map at least one tier" in text_of(app, "#nav-hint")
        app.screen.set_focus(None)
        await pilot.press("alt+left")  # Back has no guard on Models
        await pilot.pause()
        assert app.current_pane == "connect"


async def test_next_is_hidden_where_there_is_no_next_step(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key, pane in (("f5", "verify"), ("f6", "doctor"), ("f7", "backups"), ("f8", "desktop")):
            await pilot.press(key)
            await pilot.pause()
            await pilot.pause()
            assert app.current_pane == pane
            assert "Next" not in footer_keys(app).values(), pane
            app.screen.set_focus(None)
            await pilot.press("ctrl+n", "alt+right")
            await pilot.pause()
            assert app.current_pane == pane  # no jump back to Connect
        await pilot.press("f4")
        await pilot.pause()
        await pilot.pause()
        assert footer_keys(app).get("^n") == "Next"


async def test_first_screen_shows_quit_and_help_and_q_quits_outside_inputs(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "base-url"
        keys = footer_keys(app)
        assert keys.get("^q") == "Quit" and keys.get("f1") == "Help"
        assert list(keys.values()).count("Quit") == 1
        footer = app.screen.query_one(Footer)
        for key in footer.query("FooterKey"):
            if key.description in ("Quit", "Help"):
                assert key.region.right <= 80, key.description  # really on screen at 80 columns
        await pilot.press("q")  # typed into the field
        await pilot.pause()
        assert app.is_running and "q" in app.focused.value
        app.screen.set_focus(None)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_a_dialog_footer_lists_its_own_keys_not_the_panes(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen("Sure?", "Really."), answers.append)
        await pilot.pause()
        await pilot.pause()
        keys = footer_keys(app)
        assert (keys.get("y"), keys.get("n"), keys.get("esc")) == ("Yes", "No", "Cancel")
        assert "Next" not in keys.values() and "Help" not in keys.values() and "Reveal key" not in keys.values()
        await pilot.press("ctrl+n")  # inert behind the dialog
        await pilot.pause()
        assert app.current_pane == "connect" and isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert answers == [False]


def underlined(bar: StepBar) -> list[str]:
    """The text the step bar underlines: the active pane's name (what marks it without colour)."""
    content = bar.render()
    return [content.plain[span.start:span.end] for span in content.spans
            if isinstance(span.style, Style) and span.style.underline]


async def test_step_bar_click_shows_a_pane_and_arrow_keys_move_along_the_bar(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.query_one("#steps", StepBar)
        assert underlined(bar) == ["1 Connect"]
        column = bar.render().plain.index("Doctor")
        assert column + len("Doctor") <= 80  # every name fits on one row at 80 columns
        await pilot.click("#steps", offset=(column + 2, 0))
        await pilot.pause()
        assert app.current_pane == "doctor" and focus_pane(app) == "doctor"  # a click moves in, like the F key
        assert underlined(bar) == ["Doctor"]
        bar.focus()
        await pilot.press("right")
        await pilot.pause()
        assert app.current_pane == "backups" and app.focused is bar  # ←/→ keep the focus on the bar
        await pilot.press("left", "left")
        await pilot.pause()
        assert app.current_pane == "verify" and app.focused is bar and underlined(bar) == ["4 Verify"]
        assert "Next" not in footer_keys(app).values()  # the Footer follows the pane shown


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_step_bar_names_are_readable_focused_or_not(ui_sandbox, theme: str) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.pause()
        bar = app.query_one("#steps", StepBar)
        for focused in (False, True):
            if focused:
                bar.focus()
            await pilot.pause()
            for segment in bar.render_line(0):
                if segment.text.strip() and segment.text.strip() not in "›│":
                    style = segment.style
                    assert contrast(style.color, style.bgcolor) >= 4.5, (theme, focused, segment.text, style)


async def test_one_shift_tab_from_the_first_field_reaches_the_step_bar_and_down_goes_back(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "base-url"
        await pilot.press("shift+tab")  # no invisible stop (the pane itself) in between
        await pilot.pause()
        bar = app.query_one("#steps", StepBar)
        assert app.focused is bar
        keys = footer_keys(app)  # the bar's keys, while it has the focus
        assert {"←", "→"} <= keys.keys() and keys.get("⏎") == "Into the pane"
        await pilot.press("right", "down")
        await pilot.pause()
        await pilot.pause()
        assert app.current_pane == "tiers" and focus_pane(app) == "tiers"
        await pilot.press("shift+tab")
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        assert focus_pane(app) == "tiers"  # Tab from the bar lands on a control of the pane, never on the pane


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_status_text_classes_are_readable_in_both_themes(ui_sandbox, theme: str) -> None:
    # .ok-text / .warn-text / .error-text are used by every pane (Review's unmapped-tier line, its "No changes"…).
    from textual.widgets import Static

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        pane = app.query_one("#connect-view")
        lines = [Static(f"{kind} status line", classes=kind) for kind in ("ok-text", "warn-text", "error-text")]
        await pane.mount_all(lines)
        await pilot.pause()
        for line in lines:
            for segment in line.render_line(0):
                if segment.text.strip():
                    ratio = contrast(segment.style.color, segment.style.bgcolor)
                    assert ratio >= 3, (theme, line.classes, ratio)  # as the diff; each line has ✓ ! ✗ too


async def test_the_step_bar_says_it_has_the_focus_and_a_paste_there_reaches_the_pane(ui_sandbox, gateway) -> None:
    """Issue 10 §5: after shift+tab into the step bar a paste was dropped silently, and nothing said where the focus
    was (←/→ switch panes there)."""
    from textual import events
    from textual.widgets import Input

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#base-url", Input)
        await pilot.press("shift+tab")
        await pilot.pause()
        bar = app.query_one("#steps", StepBar)
        assert app.focused is bar
        assert screen_text(app).splitlines()[0].strip().startswith("Focus: the step bar")
        bar.post_message(events.Paste(gateway.base_url))
        await settle(pilot)
        field = app.query_one("#base-url", Input)
        assert app.focused is field and field.value == gateway.base_url
        assert "Focus: the step bar" not in screen_text(app).splitlines()[0]
