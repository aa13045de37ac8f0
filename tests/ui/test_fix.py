"""Fix-it actions in the TUI: the diff first, saved only on confirm, with a backup."""

from __future__ import annotations

import json

from textual.widgets import Checkbox

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey
from optscale_tui.demo.server import DEMO_KEY, DEMO_KEY_LIMITED
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.fix import FixScreen
from optscale_tui.ui.widgets.diff_view import DiffView
from tests.ui.screen import paste, press_and_wait, run_all_checks, screen_text, settle

URL = "https://gw.example.com/llm_proxy/00000000-0000-0000-0000-000000000000/anthropic"


def seed_sonnet_only(ui_sandbox):
    return ui_sandbox.seed({"theme": "dark", "env": {"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                                     "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})


async def open_doctor_fix(app: OptScaleApp, pilot) -> None:
    """Once the start-up checks are done, go to the Doctor pane (F6) and ask for the fix it offers (f)."""
    await app.workers.wait_for_complete()
    await pilot.press("f6")
    await pilot.pause()
    await press_and_wait(pilot, "f")


async def open_fix_screen(app: OptScaleApp, pilot) -> FixScreen:
    """Doctor's f, and the Fix it dialog it opens."""
    await open_doctor_fix(app, pilot)
    assert isinstance(app.screen, FixScreen)
    return app.screen


async def test_doctor_offers_the_tier_fix_shows_the_diff_and_saves_on_confirm(ui_sandbox):
    path = seed_sonnet_only(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await open_doctor_fix(app, pilot)
        assert isinstance(app.screen, FixScreen)
        diff = app.screen.query_one("#fix-diff", DiffView)
        assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-sonnet-4-6"' in diff.text
        assert DEMO_KEY not in diff.text
        assert json.loads(path.read_text())["env"].get("ANTHROPIC_DEFAULT_OPUS_MODEL") is None  # not yet
        await press_and_wait(pilot, "y")
        assert not isinstance(app.screen, FixScreen)
        env = json.loads(path.read_text())["env"]
        assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "anthropic/claude-sonnet-4-6"
        assert json.loads(path.read_text())["theme"] == "dark"
        said = [n.message for n in app._notifications]
        assert any(m.startswith("Saved ~/.claude/settings.json. Backup: ~/.claude/") for m in said), said
        assert any((ui_sandbox.config_dir / "optscale-tui-backups").iterdir())
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert Cause.TIER_UNMAPPED not in {f.cause for f in app.state.config.findings}


async def test_cancel_leaves_the_file_alone(ui_sandbox):
    path = seed_sonnet_only(ui_sandbox)
    before = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await open_doctor_fix(app, pilot)
        assert isinstance(app.screen, FixScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FixScreen)
    assert path.read_bytes() == before


async def test_verify_pane_offers_the_beta_fix_after_a_run(ui_sandbox):
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gw:
        gw.faults.reject_beta = True
        path = ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
                                        "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                                        "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}})
        app = OptScaleApp()
        async with app.run_test(size=(100, 32)) as pilot:
            await app.workers.wait_for_complete()
            await run_all_checks(pilot)
            await press_and_wait(pilot, "f")
            assert isinstance(app.screen, FixScreen)
            assert "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS" in app.screen.query_one("#fix-diff", DiffView).text
            await press_and_wait(pilot, "y")
        assert json.loads(path.read_text())["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"


def seed_for_beta_fix(ui_sandbox, gw):
    return ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gw.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
                                    "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                                    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6"}})


async def apply_beta_fix(app: OptScaleApp, pilot) -> None:
    await run_all_checks(pilot)
    await press_and_wait(pilot, "f")
    assert isinstance(app.screen, FixScreen)
    await press_and_wait(pilot, "y")
    await settle(pilot)


async def test_a_fix_to_the_edited_file_shows_in_models_and_leaves_nothing_unsaved(ui_sandbox):
    """The beta fix writes CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1: Models ticks its checkbox, as a fresh start
    would, and there is nothing to save (the next w must not revert the fix)."""
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gw:
        gw.faults.reject_beta = True
        path = seed_for_beta_fix(ui_sandbox, gw)
        app = OptScaleApp()
        async with app.run_test(size=(100, 32)) as pilot:
            await app.workers.wait_for_complete()
            await apply_beta_fix(app, pilot)
            assert json.loads(path.read_text())["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"
            await pilot.press("f3")
            await settle(pilot)
            assert app.query_one("#no-betas", Checkbox).value is True
            assert not app.state.has_unsaved_changes


async def test_a_fix_overrides_an_earlier_toggle_but_keeps_other_unsaved_edits(ui_sandbox):
    """The checkbox was toggled on and off earlier (unticked: "remove the key") and a new key typed but not saved:
    after the fix the checkbox shows the fix's value, and Review offers only the new key, not a revert of the fix."""
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gw:
        gw.faults.reject_beta = True
        path = seed_for_beta_fix(ui_sandbox, gw)
        app = OptScaleApp()
        async with app.run_test(size=(100, 32)) as pilot:
            await app.workers.wait_for_complete()
            await paste(pilot, "#api-key", DEMO_KEY_LIMITED)
            await pilot.press("tab")
            await pilot.pause()
            assert app.state.key == ApiKey(DEMO_KEY_LIMITED)
            await pilot.press("f3")
            await settle(pilot)
            app.query_one("#no-betas").focus()
            await pilot.press("space", "space")
            await pilot.pause()
            assert app.state.disable_experimental_betas is False
            await apply_beta_fix(app, pilot)  # verifies the settings in effect (the file), fixes the file
            assert json.loads(path.read_text())["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"
            assert json.loads(path.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
            await pilot.press("f3")
            await settle(pilot)
            assert app.query_one("#no-betas", Checkbox).value is True
            assert app.state.key == ApiKey(DEMO_KEY_LIMITED)  # still an unsaved edit
            await pilot.press("f4")
            await settle(pilot)
            text = screen_text(app)
            assert "~ ANTHROPIC_AUTH_TOKEN = sk-bf-…" in text
            assert "env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS" not in text


async def test_a_fix_to_a_project_file_keeps_the_edited_values_and_reloads_the_configuration(ui_sandbox):
    """A fix that edits another file (the project's settings) is no save of the file the app edits: the values being
    edited stay as they are (an unsaved new key stays unsaved), while the doctor's view is read again."""
    path = seed_sonnet_only(ui_sandbox)
    project = ui_sandbox.cwd / ".claude" / "settings.json"
    project.parent.mkdir()
    project.write_text(json.dumps({"env": {"ANTHROPIC_AUTH_TOKEN": "sk-bf-project-stale-key-00009999"}}))
    before = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert Cause.PROJECT_OVERRIDE in {f.cause for f in app.state.config.findings}
        await paste(pilot, "#api-key", DEMO_KEY_LIMITED)
        await pilot.press("tab")
        await pilot.pause()
        await open_doctor_fix(app, pilot)
        assert isinstance(app.screen, FixScreen)
        for _ in app.screen.fixes:
            if app.screen.selected.cause is Cause.PROJECT_OVERRIDE:
                break
            await press_and_wait(pilot, "down")  # the fixes' list has the focus
        assert app.screen.selected.path == project
        await press_and_wait(pilot, "y")
        await settle(pilot)
        assert "ANTHROPIC_AUTH_TOKEN" not in json.loads(project.read_text()).get("env", {})
        assert path.read_bytes() == before
        assert Cause.PROJECT_OVERRIDE not in {f.cause for f in app.state.config.findings}
        assert app.state.key == ApiKey(DEMO_KEY_LIMITED)
        assert app.state.has_unsaved_changes


def assert_apply_above_the_footer(app, screen) -> None:
    """At 80×24: Apply is enabled and drawn above the Footer row, and the Footer lists the dialog's keys."""
    apply = screen.query_one("#fix-apply")
    assert not apply.disabled and apply.region.bottom <= 23
    footer = screen_text(app).splitlines()[-1]
    assert "Apply" in footer and "Cancel" in footer


async def test_the_dialog_fits_80x24_with_its_buttons_and_keys_in_view(ui_sandbox):
    # The diff and the shell command used to push the buttons off the screen and cover the Footer's y / esc.
    seed_sonnet_only(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_fix_screen(app, pilot)
        assert_apply_above_the_footer(app, screen)
        diff = screen.query_one("#fix-diff", DiffView)
        shown = "\n".join(diff.render_line(y).text for y in range(diff.scrollable_content_region.height))
        assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL"' in shown  # the change itself is in view, not only headers


V1_URL = URL.removesuffix("/anthropic") + "/v1"


def seed_three_fixes(ui_sandbox):
    """A /v1 base URL, Opus unmapped and ANTHROPIC_API_KEY in the file: three fixes at once."""
    return ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": V1_URL, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                                    "ANTHROPIC_API_KEY": "sk-ant-FILE-KEY-0123456789",
                                    "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})


async def test_on_a_big_screen_the_dialog_is_as_tall_as_its_content_and_centred(ui_sandbox):
    # The diff was 1fr: the auto-height dialog took all 49 rows, its buttons mid-screen over ~23 empty rows.
    seed_sonnet_only(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(200, 50)) as pilot:
        await open_doctor_fix(app, pilot)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FixScreen)
        dialog = screen.query_one("#fix-dialog").region
        buttons = screen.query_one(".dialog-buttons").region
        diff = screen.query_one("#fix-diff", DiffView)
        assert diff.region.height == diff.virtual_size.height  # the whole diff, no empty rows under it
        assert buttons.bottom >= dialog.bottom - 2  # the buttons end the dialog
        assert dialog.height < 40
        assert abs(dialog.y - (49 - dialog.bottom)) <= 1  # centred above the Footer


async def test_several_fixes_are_counted_and_three_are_in_view_at_80x24(ui_sandbox):
    seed_three_fixes(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor_fix(app, pilot)
        screen = app.screen
        assert isinstance(screen, FixScreen) and len(screen.fixes) == 3
        text = screen_text(app)
        assert "3 fixes" in text
        choices = [line for line in text.splitlines() if any(f"{f.cause.value}: " in line for f in screen.fixes)]
        assert len(choices) == 3  # one line each, all three in view without ↓
        assert all(line.rstrip(" █▎").endswith("…") for line in choices if len(line.rstrip()) >= 76)
        assert_apply_above_the_footer(app, screen)


async def test_the_shell_command_is_whole_on_a_wide_screen_and_c_copies_it(ui_sandbox):
    seed_three_fixes(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await open_fix_screen(app, pilot)
        command = screen.selected.command  # the tier fix: its command names the model for each tier
        assert command and "--opus anthropic/" in command and "--haiku anthropic/" in command
        line = screen.query_one("#fix-command")
        assert str(line.render()).replace("\n", " ") == f"Same from a shell: {command}"  # not cut…
        assert line.region.height <= 2 and command.split()[-1] in screen_text(app)  # …and on screen
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor_fix(app, pilot)
        screen = app.screen
        assert isinstance(screen, FixScreen) and screen.query_one("#fix-command").region.height <= 2
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == screen.selected.command
