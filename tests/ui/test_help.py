"""Help screen: opened by F1 and ?, lists the app's and the panes' keys from their bindings, closes with Escape."""

from __future__ import annotations

from textual.widgets import Static

from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.help import HelpScreen
from optscale_tui.ui.panes import PANES
from optscale_tui.ui.panes.base import Pane


def help_text(app: OptScaleApp) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query("#help-body Static").results(Static))


async def test_f1_opens_help_with_keys_steps_and_what_gets_written(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        while len(app.query(Pane)) < len(PANES):  # the panes after the first mount lazily
            await pilot.pause(0.02)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        # App keys come from the app's bindings (grouped per action), pane keys from the panes' own bindings.
        assert "f1 / ?" in text and "Help" in text
        assert "^q / q" in text and "Quit" in text
        assert "Next pane — on the step bar (or click a name)" in text
        assert "Keys on Connect" in text and "Reveal key" in text
        assert "Keys on Models" in text and "use the highlighted model for Opus" in text
        for step in ("1 Connect", "2 Models", "3 Review", "4 Verify"):
            assert step in text
        assert "Connect this model to external tools" in text and "OPENAI-COMPATIBLE" in text
        assert "/anthropic" in text and "ANTHROPIC_AUTH_TOKEN" in text and "ANTHROPIC_API_KEY" in text
        assert "follows the Opus tier" in text
        assert "OSC 52" in text and "set -g set-clipboard on" in text
        assert "~/.claude/settings.json" in text
        # It fits at 80×24 and scrolls.
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24
        body = app.screen.query_one("#help-body")
        assert app.focused is body and body.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_question_mark_opens_help_outside_text_fields(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")  # the cursor is in the Base URL field: ? is typed there
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        app.screen.set_focus(None)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_help_tells_that_typing_in_the_models_list_filters_it(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        while len(app.query(Pane)) < len(PANES):
            await pilot.pause(0.02)
        await pilot.press("f1")
        await pilot.pause()
        text = help_text(app)
        models = text[text.index("Keys on Models"):]
        assert "Filter as you type" in models and "goes to the filter (h s o m a / r q ? are keys" in models
        assert models.index("use the highlighted model for Opus") < models.index("Filter as you type")


async def test_help_tells_the_profile_picker_and_its_keys(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        text = help_text(app)
        picker = text[text.index("Profiles: the picker (^o on Connect)"):]
        assert "Use a profile…" in picker and "Save these values as a profile…" in picker
        # From the picker's own bindings (and its enter): r, d / del, esc.
        for key, what in (("⏎", "Use — fill Connect and Models"), ("r", "Rename"), ("d / del", "Delete"),
                          ("esc", "Close")):
            assert f"{key}\n{what}" in picker, (key, what)
        assert "last used" in picker
