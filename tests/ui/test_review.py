"""Review pane: the masked diff, Save through the confirmation, and the files it refuses to write."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Footer

from optscale_tui.core.clients.claude_code.models import CLAUDE_CODE_BUILTIN_MODELS
from optscale_tui.core.config.store import BACKUP_DIR_NAME, BackupStore
from optscale_tui.core.connection import ApiKey, TierMapping, mask_secret, parse_base_url
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.messages import ConnectionEdited, TiersEdited
from optscale_tui.ui.panes.review import ReviewPane
from optscale_tui.ui.widgets.diff_view import DiffView
from optscale_tui.ui.widgets.findings import FindingsList
from tests.ui.screen import screen_text

BASE_URL = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"
KEY = "sk-bf-REVIEW-SECRET-0123456789abcd"
OPUS = "anthropic/claude-opus-4-6"
SONNET = "anthropic/claude-sonnet-4-6"
HAIKU = "anthropic/claude-haiku-4-5"



def pane_text(app: OptScaleApp) -> str:
    """Every text the review pane holds, scrolled into view or not."""
    view = app.query_one(ReviewPane)
    parts = [str(w.content) for w in view.query("Static") if w.display and hasattr(w, "content")]
    parts.append(view.query_one(DiffView).text)
    parts.extend(view.query_one(FindingsList).texts)
    return "\n".join(parts)


async def enter_values(app: OptScaleApp, pilot, *, key: str | None = KEY, opus: str | None = OPUS,
                       tiers: TierMapping | None = None) -> None:
    url = parse_base_url(BASE_URL)
    app.post_message(ConnectionEdited(BASE_URL, url, ApiKey(key) if key else None))
    app.post_message(TiersEdited(tiers or TierMapping(opus=opus, sonnet=SONNET if opus else None)))
    await pilot.pause()


def on_screen(app: OptScaleApp, selector: str) -> bool:
    """The Review pane's widget is shown whole, inside the screen and above the Footer (no scrolling needed)."""
    widget = app.query_one(ReviewPane).query_one(selector)
    region, footer = widget.region, app.screen.query_one(Footer).region
    return (widget.display and region.height > 0 and app.screen.region.contains_region(region)
            and region.bottom <= footer.y)


async def open_review(app: OptScaleApp, pilot) -> ReviewPane:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("f4")
    await pilot.pause()
    return app.query_one(ReviewPane)


async def confirm_save(app: OptScaleApp, pilot, answer: str = "y") -> None:
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press(answer)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()  # the app reloads the settings after a save
    await pilot.pause()


def state_of(view: ReviewPane) -> str:
    return view.query_one("#review-state").current


async def test_review_shows_the_masked_diff_and_save_writes_with_a_backup(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    before = json.loads(path.read_text())
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await enter_values(app, pilot)
        view = await open_review(app, pilot)
        assert state_of(view) == "review-plan"
        diff = view.query_one(DiffView).text
        assert '+    "ANTHROPIC_BASE_URL": "https://my.optscale.ai/llm_proxy/' in diff
        assert f'"ANTHROPIC_AUTH_TOKEN": "{mask_secret(KEY)}"' in diff
        assert f'+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "{OPUS}"' in diff
        assert KEY not in screen_text(app) and KEY not in pane_text(app)
        assert "Target: ~/.claude/settings.json — user" in screen_text(app)

        await confirm_save(app, pilot)

        after = json.loads(path.read_text())
        assert after["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY
        assert after["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS
        for key in ("permissions", "hooks", "theme", "$schema"):
            assert after[key] == before[key]
        assert after["env"]["BASH_DEFAULT_TIMEOUT_MS"] == "120000"
        backups = BackupStore(path).list()
        assert any(b.is_original for b in backups) and any(not b.is_original for b in backups)
        assert json.loads(backups[0].path.read_text()) == before
        assert app.state.last_save is not None and app.state.last_save.path == path  # SettingsSaved reached the app
        # After the reload the file is the new baseline: nothing left to save, and the backup is named.
        assert state_of(view) == "review-plan"
        text = pane_text(app)
        assert "✓ Saved ~/.claude/settings.json." in text and "No changes" not in text
        assert f"~/.claude/{BACKUP_DIR_NAME}/settings.json." in text
        assert KEY not in screen_text(app) and KEY not in text


async def test_cancel_in_the_confirmation_writes_nothing(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    original = path.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        await confirm_save(app, pilot, answer="n")
        assert path.read_bytes() == original
        assert not (ui_sandbox.config_dir / BACKUP_DIR_NAME).exists()
        assert app.state.last_save is None


async def test_save_button_opens_the_confirmation(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        await pilot.click("#review-save")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Write ~/.claude/settings.json?" in screen_text(app)
        assert "A backup is made first" in screen_text(app)


async def test_no_changes_is_a_friendly_state_not_an_error(ui_sandbox) -> None:
    ui_sandbox.seed({"env": {
        "ANTHROPIC_BASE_URL": parse_base_url(BASE_URL).anthropic_base,
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS,
    }})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_review(app, pilot)  # prefilled from the file; the stored key is kept
        assert state_of(view) == "review-plan"
        assert "✓ No changes: ~/.claude/settings.json already has these values" in pane_text(app)
        assert not view.query_one("#review-save").display
        assert view.query_one(DiffView).text == ""
        # Write is out of the Footer; w says why nothing is written (issue 10: it did nothing, silently).
        assert app.screen.active_bindings["w"].binding.action == "why_not_saved"
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


async def test_without_a_model_the_pane_says_what_is_missing_and_goes_there(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot, opus=None)
        view = await open_review(app, pilot)
        assert state_of(view) == "review-missing"
        assert "no gateway model is mapped" in pane_text(app)
        view.query_one("#review-goto").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_pane == "tiers"


async def test_without_a_url_the_button_leads_to_connect(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_review(app, pilot)
        assert state_of(view) == "review-missing"
        assert "no valid Base URL" in pane_text(app)
        assert app.focused is view.query_one("#review-goto")
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_pane == "connect"


async def test_a_file_that_does_not_parse_is_refused_until_fixed_and_reloaded(ui_sandbox) -> None:
    broken = '{\n  "theme": "dark",\n  "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"},\n}\n'
    path = ui_sandbox.seed(text=broken)
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await enter_values(app, pilot)
        view = await open_review(app, pilot)
        assert state_of(view) == "review-refused"
        text = pane_text(app)
        assert "settings_invalid" in text and "line 3, column 47" in text
        assert "trailing comma" in text
        assert "silently ignores" in text  # Claude Code ignores the whole file
        assert "Fix: Correct the JSON" in text and "Fix: Fix" not in text  # the fix said once
        assert app.screen.active_bindings["w"].binding.action == "why_not_saved"
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert path.read_text() == broken

        path.write_text(broken.replace("},\n}", "}\n}"))
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert state_of(view) == "review-plan"
        assert "ANTHROPIC_DEFAULT_OPUS_MODEL" in view.query_one(DiffView).text
        await confirm_save(app, pilot)
        assert json.loads(path.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY


async def test_a_file_changed_on_disk_is_refused_and_saved_after_reload(ui_sandbox) -> None:
    path = ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await enter_values(app, pilot)
        view = await open_review(app, pilot)
        other = json.loads(path.read_text())
        other["env"]["OTHER_WRITER"] = "yes"
        path.write_text(json.dumps(other, indent=2) + "\n")
        theirs = path.read_bytes()

        await confirm_save(app, pilot)
        assert path.read_bytes() == theirs  # the other program's edit is kept
        assert state_of(view) == "review-refused"
        assert "Not saved: ~/.claude/settings.json: the file was changed by another program" in pane_text(app)
        assert app.state.last_save is None

        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert state_of(view) == "review-plan"
        await confirm_save(app, pilot)
        saved = json.loads(path.read_text())
        assert saved["env"]["OTHER_WRITER"] == "yes"
        assert saved["env"]["ANTHROPIC_AUTH_TOKEN"] == KEY


async def test_an_api_key_in_the_file_is_removed_with_its_reason(ui_sandbox) -> None:
    old_key = "sk-ant-OLD-CONSOLE-KEY-0123456789"
    ui_sandbox.seed({"env": {"ANTHROPIC_API_KEY": old_key}, "theme": "dark"})
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        text = pane_text(app)
        assert "- ANTHROPIC_API_KEY (removed, was " in text
        assert "— Claude Code would send both x-api-key and Bearer headers" in text
        assert old_key not in text and old_key not in screen_text(app)
        assert f'-    "ANTHROPIC_API_KEY": "{mask_secret(old_key)}"' in app.query_one("#review-diff", DiffView).text


async def test_a_shell_api_key_still_overrides_and_is_shown_with_its_fix(ui_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-SHELL-KEY-0123456789")
    ui_sandbox.seed({"env": {"ANTHROPIC_AUTH_TOKEN": KEY, "ANTHROPIC_BASE_URL": "https://x.example/anthropic"}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        findings = app.query_one("#review-findings", FindingsList).texts
        assert any(t.startswith("! warn  shell_api_key") and "Fix: Unset ANTHROPIC_API_KEY" in t for t in findings)
        assert "sk-ant-SHELL-KEY-0123456789" not in "\n".join(findings)


async def test_claude_config_dir_is_named(ui_sandbox, monkeypatch) -> None:
    config_dir = ui_sandbox.home / "alt-claude"
    config_dir.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        text = pane_text(app)
        assert "CLAUDE_CONFIG_DIR is set: Claude Code reads ~/alt-claude/settings.json" in text
        assert "Target: ~/alt-claude/settings.json — user: CLAUDE_CONFIG_DIR is set" in text
        assert "Saving creates the file with" in text


@pytest.mark.parametrize("key", ["w", "r"])
async def test_review_bindings_are_in_the_footer(ui_sandbox, key: str) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        binding = app.screen.active_bindings[key]
        assert binding.binding.show and binding.enabled


async def test_the_reasons_come_before_the_write_button_at_80x24(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot)
        view = await open_review(app, pilot)
        reasons = view.query_one("#review-reasons")
        assert "+ ANTHROPIC_BASE_URL = https://" in str(reasons.content)
        # On screen without scrolling, above the diff and the Write button (read before saving).
        save = view.query_one("#review-save")
        assert reasons.region.height > 0 and reasons.region.y < view.query_one("#review-diff").region.y
        assert reasons.region.bottom <= save.region.y
        widgets = list(view.query("*"))
        assert widgets.index(reasons) < widgets.index(save)  # and before it for a screen reader and Tab
        assert "+ ANTHROPIC_BASE_URL = https://my.optscale.a" in screen_text(app)


@pytest.mark.parametrize(("seed_env", "summary"), [
    ({"ANTHROPIC_DEFAULT_SONNET_MODEL": SONNET, "ANTHROPIC_BASE_URL": "", "ANTHROPIC_AUTH_TOKEN": KEY},
     "1 setting changes"),
    ({}, "4 settings change"),
])
async def test_the_summary_agrees_with_the_count(ui_sandbox, seed_env: dict, summary: str) -> None:
    url = parse_base_url(BASE_URL).anthropic_base
    env = {**seed_env, "ANTHROPIC_BASE_URL": url} if seed_env else {}
    ui_sandbox.seed({"env": env})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot)
        view = await open_review(app, pilot)
        assert str(view.query_one("#review-summary").content).startswith(summary)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert summary in screen_text(app)


ALL_TIERS = TierMapping(haiku=HAIKU, sonnet=SONNET, opus=OPUS)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_write_and_back_stay_on_screen_with_five_changes(ui_sandbox, size: tuple[int, int]) -> None:
    """The normal flow (URL, key, the three tiers mapped: 5 changes): the target, the reasons, the diff and the
    Write / Back / Next buttons are all on screen at once, the pane not scrolled."""
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=size) as pilot:
        await enter_values(app, pilot, tiers=ALL_TIERS)
        view = await open_review(app, pilot)
        assert len(app.state.plan().changes) == 5
        assert view.scroll_y == 0
        for selector in ("#review-target", "#review-reasons", "#review-diff", "#review-save", "#nav-back",
                         "#nav-next"):
            assert on_screen(app, selector), selector
        diff, save = view.query_one("#review-diff", DiffView), view.query_one("#review-save")
        assert diff.region.bottom <= save.region.y  # the diff never runs under the buttons
        assert diff.region.height >= min(len(diff.lines), 6)
        if size == (200, 50):
            assert diff.region.height == len(diff.lines)  # the whole diff, no scrolling inside it either
        assert "Write settings (w)" in screen_text(app) and "← Back" in screen_text(app)

        # The masked key line is in the diff box; scrolled into view inside it if the box is short.
        masked = f'"ANTHROPIC_AUTH_TOKEN": "{mask_secret(KEY)}"'
        diff.focus()
        for _ in range(len(diff.lines)):
            if masked in screen_text(app):
                break
            await pilot.press("down")
        assert masked in screen_text(app)
        assert KEY not in screen_text(app) and view.scroll_y == 0
        assert on_screen(app, "#review-save")


async def test_a_long_line_is_cut_with_an_ellipsis_and_scrolls_sideways(ui_sandbox) -> None:
    """No horizontal scrollbar row at 80 columns: the URL line ends in "…", and ←/→ in the diff read all of it."""
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot, tiers=ALL_TIERS)
        view = await open_review(app, pilot)
        diff = view.query_one("#review-diff", DiffView)
        anthropic = parse_base_url(BASE_URL).anthropic_base
        url_line = next(line for line in diff.lines if "ANTHROPIC_BASE_URL" in line)
        assert len(url_line) > diff.scrollable_content_region.width
        # Every row of the box is a diff line: none is taken by a scrollbar.
        assert diff.scrollable_content_region.height == diff.region.height
        shown = [line for line in screen_text(app).splitlines() if "ANTHROPIC_BASE_URL" in line and '": "' in line]
        assert len(shown) == 1 and anthropic not in shown[0]
        assert f"{url_line[:diff.scrollable_content_region.width - 1]}…" in shown[0]  # cut at the box's edge
        diff.focus()
        for _ in range(len(url_line)):
            if f'{anthropic[-30:]}",' in screen_text(app):
                break
            await pilot.press("right")
        assert f'{anthropic[-30:]}",' in screen_text(app)


async def test_an_unmapped_opus_tier_is_warned_in_one_line(ui_sandbox) -> None:
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot, tiers=TierMapping(sonnet=SONNET, haiku=HAIKU))
        view = await open_review(app, pilot)
        assert state_of(view) == "review-plan"
        warning = view.query_one("#review-tiers")
        assert str(warning.content) == f"! Unmapped; Claude Code would send: Opus → {CLAUDE_CODE_BUILTIN_MODELS['opus']}"
        assert warning.region.height == 1 and on_screen(app, "#review-tiers")
        assert "! Unmapped; Claude Code would send: Opus → claude-opus" in screen_text(app)
        for selector in ("#review-reasons", "#review-save", "#nav-back"):
            assert on_screen(app, selector), selector

        app.post_message(TiersEdited(ALL_TIERS))  # mapped on Models: the warning goes
        await pilot.pause()
        assert not warning.display and "Unmapped" not in screen_text(app)


@pytest.mark.parametrize(("seed", "state", "button"), [
    ({"text": '{\n  "theme": "dark",\n}\n'}, "review-refused", "#review-reload"),
    ({}, "review-missing", "#review-goto"),
    ({"data": {"env": {"ANTHROPIC_BASE_URL": parse_base_url(BASE_URL).anthropic_base, "ANTHROPIC_AUTH_TOKEN": KEY,
                       "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}}, "review-plan", "#nav-next"),
], ids=["invalid-file", "missing", "no-changes"])
async def test_each_state_shows_its_action_above_the_footer_at_80x24(ui_sandbox, seed: dict, state: str,
                                                                      button: str) -> None:
    ui_sandbox.seed(**seed)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        if state == "review-refused":
            await enter_values(app, pilot)
        view = await open_review(app, pilot)
        assert state_of(view) == state
        assert on_screen(app, button) and on_screen(app, "#nav-back")
        assert not view.query_one("#review-save").display and not view.query_one("#review-diff").display
        others = {"#review-reload", "#review-goto"} - {button}
        assert not any(view.query_one(s).display for s in others)


@pytest.mark.parametrize(("key", "said"), [
    ("sk-bf-demo-anthropic-only-d3e0a002",  # Sonnet and Haiku only
     "! Opus → anthropic/claude-opus-4-6 is not in this key's catalog: the gateway will refuse it."),
    ("sk-bf-not-a-real-key-00000000", "! The gateway rejected this API key (auth_invalid_key)"),
])
async def test_review_repeats_what_the_gateway_said_about_these_values(ui_sandbox, key, said) -> None:
    # Saving stays possible, but the user should not learn only from Verify that the key or a model will not work.
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gateway:
        ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": key,
                                 "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}})
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("f3")  # the Models pane asks the gateway for this key's catalog
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.post_message(TiersEdited(TierMapping(opus=OPUS, sonnet="anthropic/claude-sonnet-4-6")))
            view = await open_review(app, pilot)
            assert view.query_one("#review-save").display  # still savable
            assert said in pane_text(app)


async def test_a_key_over_a_working_api_key_helper_is_said_to_take_its_place_and_no_key_keeps_it(ui_sandbox) -> None:
    ui_sandbox.seed({"apiKeyHelper": "~/bin/print-gateway-key", "env": {}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await enter_values(app, pilot)
        await open_review(app, pilot)
        assert "takes precedence over it" in pane_text(app) and "apiKeyHelper" in pane_text(app)
        await enter_values(app, pilot, key=None)  # no key entered: the helper keeps supplying it, and it can be saved
        await pilot.pause()
        text = pane_text(app)
        assert "takes precedence" not in text and "apiKeyHelper supplies it" in text
        assert app.state.plan() is not None and "ANTHROPIC_AUTH_TOKEN" not in app.state.plan().new_text
