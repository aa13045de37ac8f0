"""Profiles in the TUI (issue 13 §2), at 80×24: ^o on Connect (and the palette) picks a profile that fills Connect
and Models, Review shows what it changes, the app bar names it; "Save these values as a profile" saves them, and
stores the key only when the user says so."""

from __future__ import annotations

import tomllib

from optscale_tui.core import app_config as ac
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.dialogs.profiles import ProfileNameScreen, ProfilePicker
from tests.ui.test_commands import run_command

KEY = "sk-" + "bf-" + "tui-profile-0123456789abcd"
HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"
URL = "https://gw.example.com/llm_proxy/3fa85f64-5717-4562-b3fc-2c963f66afa6/v1"


def config_with_profile(ui_sandbox, monkeypatch):
    path = ui_sandbox.home / "app" / "config.toml"
    monkeypatch.setenv(ac.CONFIG_ENV, str(path))
    monkeypatch.setenv(ac.KEY_STORE_ENV, "file")
    config = ac.AppConfig(path=path, profiles={"staging": ac.Profile(
        name="staging", label="Staging org", base_url=URL, haiku=HAIKU, sonnet=SONNET, opus=OPUS,
        key_source=ac.KeySource("stored"))})
    ac.save_config(config)
    ac.FileKeyStore(path.parent / "keys.toml").set("staging", KEY)
    return path


def seed_with_profile(ui_sandbox, monkeypatch):
    """An empty settings file and an app config holding the "staging" profile (its key stored); the config's path."""
    ui_sandbox.seed()
    return config_with_profile(ui_sandbox, monkeypatch)


async def open_profiles(pilot) -> None:
    """^o on Connect once the app is up: the profile picker."""
    await pilot.pause()
    await pilot.press("ctrl+o")
    await pilot.pause()


async def test_ctrl_o_on_connect_fills_connect_and_models_and_names_the_profile(ui_sandbox, monkeypatch):
    seed_with_profile(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_profiles(pilot)
        assert isinstance(app.screen, ProfilePicker)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        state = app.state
        assert state.base_url_text == URL and state.url is not None
        assert state.key is not None and state.key.value == KEY
        assert (state.tiers.haiku, state.tiers.sonnet, state.tiers.opus) == (HAIKU, SONNET, OPUS)
        assert app.query_one("#base-url").value == URL
        assert "profile staging" in str(app.query_one("#app-bar").render())
        plan = state.plan()  # what Review shows: the switch as a diff of settings.json, nothing written yet
        assert plan is not None and plan.has_changes
        assert "llm_proxy/3fa85f64-5717-4562-b3fc-2c963f66afa6/anthropic" in plan.diff()
        assert "ANTHROPIC_BASE_URL" not in ui_sandbox.settings.read_text()


async def test_escape_in_the_picker_changes_nothing(ui_sandbox, monkeypatch):
    seed_with_profile(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_profiles(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.state.url is None and app.active_profile is None


async def test_save_these_values_as_a_profile_stores_the_key_only_when_asked(ui_sandbox, monkeypatch):
    path = seed_with_profile(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+o", "enter")
        await pilot.pause()
        await run_command(app, pilot, "save these values")
        assert isinstance(app.screen, ProfileNameScreen)
        await pilot.press(*"copy", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # don't store the key
        await pilot.pause()
        saved = tomllib.loads(path.read_text())["profiles"]["copy"]
        assert saved == {"label": "", "base_url": URL, "haiku": HAIKU, "sonnet": SONNET, "opus": OPUS, "key": "none"}
        assert "copy" not in tomllib.loads((path.parent / "keys.toml").read_text())["keys"]
        assert KEY not in path.read_text()
        assert "profile copy" in str(app.query_one("#app-bar").render())
