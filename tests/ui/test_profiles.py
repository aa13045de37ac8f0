"""Profiles in the TUI (issue 13 §2), at 80×24: ^o on Connect (and the palette) picks a profile that fills Connect
and Models, Review shows what it changes, the app bar names it; "Save these values as a profile" saves them, and
stores the key only when the user says so; r and d in the picker (and the palette) rename and delete, the app bar
following, a failed write losing nothing; the stored theme applies at start-up and a new choice is stored."""

from __future__ import annotations

import tomllib

from textual.screen import ModalScreen

from optscale_tui.core import app_config as ac
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.dialogs.profiles import ConfirmDeleteProfile, ProfileNameScreen, ProfilePicker
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


# --- rename and delete in the picker (r, d; and the palette's "Rename a profile…", "Delete a profile…") -----------

PROD_URL = "https://prod.example.com/llm_proxy/9b2c1d7e-0000-4000-8000-000000000001/v1"


def two_profiles(ui_sandbox, monkeypatch):
    path = config_with_profile(ui_sandbox, monkeypatch)
    config = ac.load_config(path)
    config.profiles["prod"] = ac.Profile(name="prod", label="Production", base_url=PROD_URL, opus=OPUS)
    ac.save_config(config)
    return path


def toasts(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def use_staging(app, pilot) -> None:
    """Fill Connect and Models from staging (the app bar names it), then open the picker again on staging."""
    await pilot.press("ctrl+o")
    await pilot.pause()
    await pilot.press("down", "enter")  # prod, staging: sorted by name
    await pilot.pause()
    assert app.active_profile == "staging"
    await pilot.press("ctrl+o")
    await pilot.pause()
    assert app.screen.highlighted_name == "staging"  # the picker starts on the profile in use


async def type_name(pilot, name: str, *, replacing: str) -> None:
    await pilot.press(*["backspace"] * len(replacing), *name, "enter")
    await pilot.pause()


async def test_r_renames_the_profile_its_stored_key_and_the_app_bar_follows(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = two_profiles(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await use_staging(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ProfileNameScreen)
        assert app.screen.query_one("#profile-name").value == "staging"  # edit the old name
        await type_name(pilot, "stage-2", replacing="staging")
        picker = app.screen
        assert isinstance(picker, ProfilePicker)  # back in the picker, which lists the new name
        assert picker.highlighted_name == "stage-2"
        assert [o.id for o in picker.query_one("#profile-list").options] == ["prod", "stage-2"]
        assert "profile stage-2" in str(app.query_one("#app-bar").render())
        assert sorted(tomllib.loads(path.read_text())["profiles"]) == ["prod", "stage-2"]
        assert tomllib.loads((path.parent / "keys.toml").read_text())["keys"] == {"stage-2": KEY}
        await pilot.press("enter")  # and it is usable under its new name
        await pilot.pause()
        assert app.state.key is not None and app.state.key.value == KEY


async def test_a_rename_to_a_taken_or_bad_name_is_refused_in_the_dialog_and_changes_nothing(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = two_profiles(ui_sandbox, monkeypatch)
    before = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await use_staging(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        await type_name(pilot, "prod", replacing="staging")
        assert isinstance(app.screen, ProfileNameScreen)  # still asking
        error = str(app.screen.query_one("#profile-name-error").render())
        assert "A profile named prod already exists" in error
        await type_name(pilot, "my prod", replacing="prod")
        assert isinstance(app.screen, ProfileNameScreen)
        assert "1 to 64 letters" in str(app.screen.query_one("#profile-name-error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ProfilePicker)
        assert path.read_bytes() == before and app.active_profile == "staging"


async def test_d_asks_first_then_deletes_the_profile_and_its_key_and_the_app_bar_stops_naming_it(
        ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = two_profiles(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await use_staging(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteProfile) and isinstance(app.screen, ModalScreen)
        await pilot.press("enter")  # the focus starts on Keep: enter keeps it
        await pilot.pause()
        assert isinstance(app.screen, ProfilePicker) and "staging" in tomllib.loads(path.read_text())["profiles"]
        await pilot.press("d", "y")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ProfilePicker)
        assert [o.id for o in picker.query_one("#profile-list").options] == ["prod"]
        assert sorted(tomllib.loads(path.read_text())["profiles"]) == ["prod"]
        assert tomllib.loads((path.parent / "keys.toml").read_text())["keys"] == {}
        assert app.active_profile is None and "profile" not in str(app.query_one("#app-bar").render())
        assert app.state.base_url_text == URL  # what it filled stays on Connect
        await pilot.press("d", "y")  # the last one: the picker says how to make one
        await pilot.pause()
        assert "No profiles yet" in str(app.screen.query_one("#profile-help").render())
        assert tomllib.loads(path.read_text())["profiles"] == {}


async def test_the_palette_renames_and_deletes_through_the_picker(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = two_profiles(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await run_command(app, pilot, "rename a profile")
        assert isinstance(app.screen, ProfilePicker) and app.screen.purpose == "rename"
        await pilot.press("enter")  # prod, the first
        await pilot.pause()
        assert isinstance(app.screen, ProfileNameScreen)
        await type_name(pilot, "production", replacing="prod")
        await pilot.press("escape")
        await pilot.pause()
        await run_command(app, pilot, "delete a profile")
        assert isinstance(app.screen, ProfilePicker) and app.screen.purpose == "delete"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteProfile)
        await pilot.press("y")
        await pilot.pause()
        assert sorted(tomllib.loads(path.read_text())["profiles"]) == ["production"]
        assert app.state.url is None  # neither changed Connect


async def test_a_rename_or_delete_whose_write_fails_loses_nothing_and_says_so(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = two_profiles(ui_sandbox, monkeypatch)
    before = path.read_bytes()
    real_write = ac._write_private

    def full_disk(target, text):
        if target == path:
            raise OSError(28, "No space left on device", str(target))
        real_write(target, text)

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await use_staging(app, pilot)
        monkeypatch.setattr(ac, "_write_private", full_disk)
        await pilot.press("r")
        await pilot.pause()
        await type_name(pilot, "stage-2", replacing="staging")
        assert "Profile staging was not renamed: No space left on device" in toasts(app)
        await pilot.press("d", "y")
        await pilot.pause()
        assert "Profile staging was not deleted" in toasts(app)
        picker = app.screen
        assert isinstance(picker, ProfilePicker)
        assert [o.id for o in picker.query_one("#profile-list").options] == ["prod", "staging"]
        assert path.read_bytes() == before
        assert tomllib.loads((path.parent / "keys.toml").read_text())["keys"] == {"staging": KEY}
        assert "profile staging" in str(app.query_one("#app-bar").render())


# --- preferences: the theme is applied at start-up and stored when changed ---------------------------------------


async def test_the_stored_theme_applies_at_start_and_a_new_choice_is_stored(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = config_with_profile(ui_sandbox, monkeypatch)
    config = ac.load_config(path)
    config.preferences = ac.Preferences(theme="textual-light", default_scope="user")
    ac.save_config(config)
    before = path.read_bytes()
    app = OptScaleApp()
    assert app.theme == "textual-light"  # before the first frame
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.theme == "textual-light" and path.read_bytes() == before  # applying it wrote nothing
        await run_command(app, pilot, "dark theme")
        await app.workers.wait_for_complete()
        stored = ac.load_config(path)
        assert stored.preferences.theme == "textual-dark" and stored.preferences.default_scope == "user"
        assert "staging" in stored.profiles  # the rest of the file stays


async def test_starting_stores_nothing_and_an_unknown_theme_only_warns(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = ui_sandbox.home / "app" / "config.toml"
    monkeypatch.setenv(ac.CONFIG_ENV, str(path))
    async with OptScaleApp().run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    assert not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[preferences]\ntheme = "no-such-theme"\n')
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.theme == "textual-dark"
        assert "'no-such-theme' is not a theme" in toasts(app)
    assert path.read_text() == '[preferences]\ntheme = "no-such-theme"\n'


async def test_a_profile_that_leaves_a_tier_unmapped_unmaps_it_in_the_review_diff(ui_sandbox, monkeypatch):
    ui_sandbox.seed({"env": {"ANTHROPIC_AUTH_TOKEN": "sk-bf-" + "other-gw-0123456789", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "other-gw/haiku"}})
    two_profiles(ui_sandbox, monkeypatch)  # prod maps only Opus
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+o", "enter")
        await pilot.pause()
        plan = app.state.plan()
        assert plan is not None and app.active_profile == "prod"
        assert {c.key: c.new for c in plan.changes}["env.ANTHROPIC_DEFAULT_HAIKU_MODEL"] is None


async def test_a_label_with_brackets_is_shown_as_written(ui_sandbox, monkeypatch):
    ui_sandbox.seed()
    path = config_with_profile(ui_sandbox, monkeypatch)
    config = ac.load_config(path)
    config.profiles["odd"] = ac.Profile(name="odd", label="[/] team [b]x", base_url=PROD_URL)
    ac.save_config(config)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        prompts = [str(o.prompt) for o in app.screen.query_one("#profile-list").options]
        assert any("[/] team [b]x · prod.example.com" in prompt for prompt in prompts), prompts


# --- what a profile's save records and drops ------------------------------------------------------------------------


async def write_in_review(app, pilot) -> None:
    """f4, w, y: the Review save of the values on screen."""
    from optscale_tui.ui.dialogs.confirm import ConfirmScreen

    await app.workers.wait_for_complete()
    await pilot.press("f4")
    await pilot.pause()
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_writing_what_a_profile_filled_records_it_as_the_last_used(ui_sandbox, monkeypatch):
    path = seed_with_profile(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+o", "enter")  # picked: nothing written, nothing recorded
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.active_profile == "staging"
        assert ac.load_config(path).preferences.last_profile is None
        await write_in_review(app, pilot)
        assert "llm_proxy/3fa85f64-5717-4562-b3fc-2c963f66afa6/anthropic" in ui_sandbox.settings.read_text()
        config = ac.load_config(path)
        assert config.preferences.last_profile == "staging"  # as `profile use` records it
        assert "staging" in config.profiles and KEY not in path.read_text()


async def test_a_write_without_a_profile_records_none(ui_sandbox, monkeypatch):
    path = seed_with_profile(ui_sandbox, monkeypatch)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        from optscale_tui.core.connection import ApiKey, TierMapping, parse_base_url
        from optscale_tui.ui.messages import ConnectionEdited, TiersEdited

        app.post_message(ConnectionEdited(PROD_URL, parse_base_url(PROD_URL), ApiKey(KEY)))
        app.post_message(TiersEdited(TierMapping(opus=OPUS)))
        await pilot.pause()
        await write_in_review(app, pilot)
        assert "prod.example.com" in ui_sandbox.settings.read_text()
        assert ac.load_config(path).preferences.last_profile is None


async def test_using_a_profile_drops_a_label_written_for_another_model_and_keeps_one_for_the_same(
        ui_sandbox, monkeypatch):
    ui_sandbox.seed({"env": {"ANTHROPIC_AUTH_TOKEN": "sk-bf-" + "other-gw-0123456789",
                             "ANTHROPIC_DEFAULT_OPUS_MODEL": "other-gw/opus",
                             "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME": "Opus elsewhere",
                             "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME": "My Haiku"}})
    config_with_profile(ui_sandbox, monkeypatch)  # staging: HAIKU, SONNET, OPUS
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        from optscale_tui.ui.messages import TiersEdited

        # Labels the Models pane made for the models on screen before the switch.
        app.post_message(TiersEdited(app.state.tiers, None, {"opus": "Opus elsewhere", "haiku": "My Haiku"}))
        await pilot.pause()
        await pilot.press("ctrl+o", "enter")
        await pilot.pause()
        plan = app.state.plan()
        assert plan is not None
        changes = {c.key: c.new for c in plan.changes}
        assert "env.ANTHROPIC_DEFAULT_OPUS_MODEL_NAME" in changes and changes["env.ANTHROPIC_DEFAULT_OPUS_MODEL_NAME"] is None
        assert "env.ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME" not in changes  # Haiku keeps its model and its label
        await write_in_review(app, pilot)
        import json

        env = json.loads(ui_sandbox.settings.read_text())["env"]
        assert "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME" not in env and env["ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME"] == "My Haiku"


async def test_using_a_profile_without_a_main_model_removes_another_gateways_model_in_the_review_diff(
        ui_sandbox, monkeypatch):
    import json

    ui_sandbox.seed({"model": "other-gw/main", "env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/llm_proxy/o/anthropic",
        "ANTHROPIC_AUTH_TOKEN": "sk-bf-" + "other-gw-0123456789", "ANTHROPIC_DEFAULT_OPUS_MODEL": "other-gw/opus"}})
    config_with_profile(ui_sandbox, monkeypatch)  # staging: no main model
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.state.plan() is None or not app.state.plan().has_changes  # nothing to change before the switch
        await pilot.press("ctrl+o", "enter")
        await pilot.pause()
        plan = app.state.plan()
        assert plan is not None
        removed = next(c for c in plan.changes if c.key == "model")
        assert (removed.old, removed.new) == ("other-gw/main", None) and "refuse" in removed.reason
        await write_in_review(app, pilot)
        data = json.loads(ui_sandbox.settings.read_text())
        assert "model" not in data and data["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
