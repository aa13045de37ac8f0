"""The command palette lists the app's actions and runs them."""

from __future__ import annotations

from textual.command import CommandPalette

from optscale_tui.core.connection import ApiKey, TierMapping, parse_base_url
from optscale_tui.demo.server import DEMO_KEY, DemoGateway
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.commands import ActionsProvider
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.panes.verify import VerifyPane
from optscale_tui.ui.state import WizardState

TIERS = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}


def palette_options(app) -> list[str]:
    from textual.widgets import OptionList

    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def open_palette(app, pilot) -> list[str]:
    """Open the palette with nothing typed; what it lists once its background search has run."""
    await pilot.press("ctrl+p")
    await pilot.pause(0.3)
    return palette_options(app)


async def run_command(app, pilot, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette searches in the background
    await pilot.press("enter")
    await pilot.pause()


async def test_provider_is_registered_and_discovers_the_main_actions(ui_sandbox):
    # Registered lazily (textual.command is imported when the palette first opens, not at start-up).
    assert ActionsProvider in {entry() if not isinstance(entry, type) else entry for entry in OptScaleApp.COMMANDS}
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        listed = " | ".join(await open_palette(app, pilot))
        for name in ("Go to Connect", "Go to Doctor", "Go to Desktop", "Write settings…", "Verify now",
                     "Copy verification report", "Reload settings", "Theme", "Help", "Quit"):
            assert name in listed, name


async def test_write_settings_is_found_by_the_word_the_review_pane_uses(ui_sandbox):
    # The Review pane's button and Footer say "Write"; the palette said "Save settings", so "write" found nothing.
    with DemoGateway() as gateway:
        ui_sandbox.seed()
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.state.url, app.state.key = parse_base_url(gateway.base_url), ApiKey(DEMO_KEY)
            app.state.tiers = TierMapping(opus=TIERS["ANTHROPIC_DEFAULT_OPUS_MODEL"])
            app.broadcast("tiers")
            await pilot.press("ctrl+p")
            await pilot.press(*"write")
            await pilot.pause(0.3)
            listed = palette_options(app)
            assert listed and listed[0].startswith("Write settings…"), listed
            assert "~/.claude/settings.json" in listed[0]  # the file it writes, as the Review pane names it
            await pilot.press("enter")
            await pilot.pause()
            await pilot.pause()
            assert app.current_pane == "review"
            assert isinstance(app.screen, ConfirmScreen)  # the Review pane's own write flow: confirm, then write


async def test_go_to_doctor(ui_sandbox):
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await run_command(app, pilot, "Go to Doctor")
        assert app.current_pane == "doctor"


async def test_verify_now_runs_the_verification(ui_sandbox):
    with DemoGateway() as gateway:
        ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                 **TIERS}})
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await run_command(app, pilot, "Verify now")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.current_pane == "verify"
            view = app.query_one(VerifyPane)
            assert view.done is not None and view.done.ok
            await run_command(app, pilot, "Copy verification report")
            assert app.clipboard.startswith("# optscale-tui verification report") and DEMO_KEY not in app.clipboard


async def test_one_quit_and_one_theme_entry_and_quit_asks_first(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        listed = await open_palette(app, pilot)
        assert sum(option.startswith("Quit") for option in listed) == 1
        assert sum("theme" in option.lower() for option in listed) == 1
        assert not any("as soon as possible" in option for option in listed)  # it asks first, and says so
        assert any("asks first" in option for option in listed if option.startswith("Quit"))
        await pilot.press("escape")
        await pilot.pause()
        monkeypatch.setattr(WizardState, "has_unsaved_changes", property(lambda self: True))
        await run_command(app, pilot, "Quit")
        assert isinstance(app.screen, ConfirmScreen)


async def test_theme_opens_the_theme_picker(ui_sandbox):
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await run_command(app, pilot, "Theme")
        await pilot.pause(0.3)
        assert isinstance(app.screen, CommandPalette)
        assert any("textual-light" in option for option in palette_options(app))


async def test_write_settings_with_nothing_to_write_says_why(ui_sandbox):
    # The file already has these values: Review's key is dimmed, and the palette's Write must not just beep.
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": parse_base_url("https://gw.example/llm_proxy/org/v1").anthropic_base,
                             "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, **TIERS}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await run_command(app, pilot, "write")
        await pilot.pause()
        assert app.current_pane == "review" and not isinstance(app.screen, ConfirmScreen)
        messages = [n.message for n in app._notifications]
        assert any("No changes: ~/.claude/settings.json already has these values" in m for m in messages), messages


async def test_light_and_dark_find_the_themes(ui_sandbox):
    """Issue 10 §5: searching the palette for "light" or "dark" found nothing (Textual's entry is "Theme")."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for word, theme in (("light", "textual-light"), ("dark", "textual-dark")):
            await pilot.press("ctrl+p")
            await pilot.press(*word)
            await pilot.pause(0.3)  # the palette searches in the background
            listed = palette_options(app)
            assert listed and listed[0].startswith(f"{word.capitalize()} theme"), listed
            await pilot.press("enter")
            await pilot.pause()
            assert app.theme == theme
