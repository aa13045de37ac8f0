"""The Desktop pane's x Remove and v Verify: `desktop remove` and `desktop verify` from the keyboard, through the same
core calls as the CLI. Desktop's folder is the sandbox HOME's ~/.config/Claude-3p; the only gateway is the demo one on
127.0.0.1."""

from __future__ import annotations

import json
import shutil

import pytest
from textual.widgets import Footer

from optscale_tui.core.verify.events import CheckStatus
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.diff_view import DiffView
from tests.ui.screen import screen_text, settle
from tests.ui.test_desktop_connect import (
    FIXTURES,
    flat,
    folder,
    open_desktop,
    seed_gateway_values,
    write_desktop_config,
)

USER_ENTRY = "3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77"  # the entry Desktop's own window wrote (fixture desktop-app)


@pytest.fixture(autouse=True)
def no_desktop_running(monkeypatch):
    """The machine running the tests may or may not run Claude Desktop: the pictures and texts must not depend on it."""
    from optscale_tui.core.clients.claude_desktop import verify

    monkeypatch.setattr(verify, "running_desktop", lambda os_name: [])


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def library_bytes(ui_sandbox) -> dict[str, bytes]:
    return {str(p.relative_to(folder(ui_sandbox))): p.read_bytes()
            for p in sorted(folder(ui_sandbox).rglob("*.json")) if "optscale-tui-backups" not in p.parts}


async def press_and_settle(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


# --- x Remove -----------------------------------------------------------------------------------------------


async def test_remove_shows_the_masked_diff_asks_and_switches_desktop_back_keeping_the_users_entry(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    shutil.copytree(FIXTURES / "desktop-app", folder(ui_sandbox))
    user_file = folder(ui_sandbox) / "configLibrary" / f"{USER_ENTRY}.json"
    user_bytes = user_file.read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        ours = folder(ui_sandbox) / "configLibrary" / "optscale-tui.json"
        assert ours.exists()
        before = library_bytes(ui_sandbox)

        await press_and_settle(pilot, "x")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Remove optscale-tui's configuration from Claude Desktop?" in flat(app)
        body = " ".join(str(app.screen.query_one("#confirm-body").render()).split())
        assert ("change _meta.json, claude_desktop_config.json and remove optscale-tui.json in ~/.config/Claude-3p"
                in body)
        # The removal's diff is in the pane behind the question, the key masked.
        diff = app.query_one("#desktop-diff", DiffView).text
        assert "--- a/configLibrary/optscale-tui.json" in diff and '-  "deploymentMode": "3p"' in diff
        assert "sk-bf-…a001" in diff and DEMO_KEY not in diff and DEMO_KEY not in screen_text(app)
        status = str(app.query_one("#desktop-status").render())  # behind the dialog
        assert status.startswith("Removing would change Desktop's files like this (keys masked).")

        await press_and_settle(pilot, "n")
        assert library_bytes(ui_sandbox) == before  # no: nothing written
        assert "(nothing to change)" in flat(app)  # back to what w would write: already written

        await press_and_settle(pilot, "x", "y")
        assert not ours.exists()
        meta = json.loads((folder(ui_sandbox) / "configLibrary" / "_meta.json").read_text())
        assert meta["appliedId"] == USER_ENTRY and [e["id"] for e in meta["entries"]] == [USER_ENTRY]
        config = json.loads((folder(ui_sandbox) / "claude_desktop_config.json").read_text())
        assert config["deploymentMode"] == "1p"
        assert user_file.read_bytes() == user_bytes  # the user's own entry, byte for byte
        backups = list((folder(ui_sandbox) / "configLibrary" / "optscale-tui-backups").iterdir())
        assert any("optscale-tui.json" in b.name for b in backups)  # the removed entry file was backed up
        text = flat(app)
        assert "Removed: Claude Desktop is back on Anthropic's own service (2 files changed, 1 removed" in text
        assert "Open Claude Desktop: it reads the configuration when it starts." in text
        assert any(n.startswith("Removed:") for n in notes(app))
        assert DEMO_KEY not in screen_text(app)


async def test_remove_tells_a_running_desktop_to_quit_and_reopen(ui_sandbox, monkeypatch):
    from optscale_tui.core.clients.claude_desktop import verify

    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        monkeypatch.setattr(verify, "running_desktop", lambda os_name: ["pid 7: /usr/bin/claude-desktop"])
        await press_and_settle(pilot, "x", "y")
        assert "Claude Desktop is running: quit it fully (not only its window) and open it again." in flat(app)


async def test_remove_with_nothing_to_remove_says_so_and_asks_nothing(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await press_and_settle(pilot, "x")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(n.startswith("Nothing to remove: Claude Desktop has no configuration from optscale-tui")
                   for n in notes(app))
    assert not folder(ui_sandbox).exists()


async def test_remove_refuses_a_desktop_file_that_does_not_parse(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    shutil.copytree(FIXTURES / "broken", folder(ui_sandbox))
    before = library_bytes(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await press_and_settle(pilot, "x")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(n.startswith("Nothing was removed: ~/.config/Claude-3p/configLibrary/_meta.json (line 4, column")
                   for n in notes(app))
    assert library_bytes(ui_sandbox) == before


async def test_the_footer_offers_verify_and_remove_at_80_columns_left_of_the_palette(ui_sandbox):
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_desktop(pilot)
        footer = app.screen.query_one(Footer)
        keys = {key.key_display: key for key in footer.query("FooterKey")}
        palette = next(key for key in keys.values() if key.has_class("-command-palette"))
        assert keys["v"].description == "Verify" and keys["x"].description == "Remove"
        for display in ("v", "x", "^q", "f1"):
            assert keys[display].region.right <= palette.region.x, display
        ids = {binding.id for binding in app.query_one("#desktop-view").BINDINGS}
        assert {"desktop.verify", "desktop.remove"} <= ids


# --- v Verify -----------------------------------------------------------------------------------------------


async def test_verify_runs_the_shared_probes_and_desktops_checks_on_what_was_written(ui_sandbox, gateway):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                             "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 60)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        assert not app.query_one("#desktop-verify").display  # hidden until v
        await press_and_settle(pilot, "v")
        checklist = app.query_one("#desktop-checks", Checklist)
        ids = checklist.check_ids
        assert "config" not in ids  # Claude Code's configuration check is not Desktop's
        assert {"connect", "desktop.mode", "desktop.models", "desktop.managed", "desktop.running",
                "desktop.log"} <= set(ids)
        assert not any(i.startswith(("count_tokens", "beta")) for i in ids)  # Desktop sends neither
        for check_id in ("connect", "desktop.mode", "desktop.models"):
            assert checklist.status_of(check_id) is CheckStatus.PASS, check_id
        assert any(checklist.status_of(i) is CheckStatus.PASS for i in ids if i.startswith("prompt"))
        text = flat(app)
        assert "Verifying Claude Desktop configuration (" in text and "Connection verified" in text
        assert "sk-bf-…" in text and DEMO_KEY not in screen_text(app)
        # The probes went to the demo gateway with the entry's key, as Desktop sends it.
        assert any(r.path.endswith("/v1/messages") for r in gateway.requests)


async def test_verify_without_a_desktop_configuration_fails_with_the_fix(ui_sandbox, gateway):
    app = OptScaleApp()
    async with app.run_test(size=(100, 60)) as pilot:
        await open_desktop(pilot)
        await press_and_settle(pilot, "v")
        checklist = app.query_one("#desktop-checks", Checklist)
        assert checklist.status_of("desktop.entry") is CheckStatus.FAIL
        assert checklist.status_of("desktop.mode") is CheckStatus.FAIL
        text = flat(app)
        assert "Verification failed" in text and "No configuration is applied in ~/.config/Claude-3p" in text
    assert not gateway.requests  # nothing to send: no request at all
    assert not folder(ui_sandbox).exists()


async def test_verify_cleans_what_the_desktop_log_says_and_masks_keys_in_it(ui_sandbox, gateway):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                             "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 60)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        log = folder(ui_sandbox) / "logs" / "main.log"
        log.parent.mkdir()
        # No stamp: counts because the log changed after the write. A key and a terminal escape in Desktop's words.
        log.write_text(f"[custom-3p] error: gateway refused {DEMO_KEY} \x1b]52;c;Zm9v\x07 invalid\n")
        await press_and_settle(pilot, "v")
        checklist = app.query_one("#desktop-checks", Checklist)
        assert checklist.status_of("desktop.log") is CheckStatus.FAIL
        shown = screen_text(app)
        assert "Desktop said: [custom-3p] error: gateway refused sk-bf-…" in " ".join(shown.split())
        assert DEMO_KEY not in shown and "\x1b" not in shown and "]52;" not in shown
    log.unlink()  # Desktop's log held the key in clear on purpose: not something this test showed (leak scanner)
