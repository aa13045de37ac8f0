"""Connect-for-Desktop in the Desktop pane: target, models with Desktop labels, masked diff, `w` with a confirmation,
restart notice, the log read-back. Desktop's folder is the sandbox HOME's ~/.config/Claude-3p."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from tests.ui.screen import screen_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-desktop"
URL = "https://gw.example.org/llm_proxy/00000000-0000-4000-8000-000000000001/anthropic"
TIERS = {
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
}


def folder(ui_sandbox) -> Path:
    return ui_sandbox.home / ".config" / "Claude-3p"


def flat(app) -> str:
    return " ".join(screen_text(app).split())


def seed_gateway_values(ui_sandbox, tiers: dict[str, str] = TIERS) -> None:
    """A settings file with the gateway's URL, the key and these tier models: what the Desktop pane shows."""
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, **tiers}})


async def open_desktop(pilot) -> None:
    await pilot.pause()
    await pilot.press("f8")
    await pilot.pause()


async def write_desktop_config(pilot) -> None:
    """w on the Desktop pane, and yes to its confirmation."""
    await pilot.press("w", "y")
    await pilot.pause()


async def test_shows_the_plan_and_writes_only_after_yes(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        text = flat(app)
        assert "Target: ~/.config/Claude-3p (not there yet; w creates it)" in text
        assert "Models: Sonnet · claude-sonnet-4-6 (default), Haiku · claude-haiku-4-5" in text
        assert "+++ b/configLibrary/optscale-tui.json" in text and "sk-bf-…a001" in text
        assert DEMO_KEY not in screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Write 3 files in ~/.config/Claude-3p" in flat(app)
        await pilot.press("n")
        await pilot.pause()
        assert not folder(ui_sandbox).exists()
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        entry = json.loads((folder(ui_sandbox) / "configLibrary" / "optscale-tui.json").read_text())
        assert entry["inferenceGatewayBaseUrl"] == URL and entry["inferenceGatewayApiKey"] == DEMO_KEY
        assert [m["name"] for m in entry["inferenceModels"]] == ["anthropic/claude-sonnet-4-6",
                                                                  "anthropic/claude-haiku-4-5"]
        text = flat(app)
        assert "Written (3 files, backups kept)" in text and "reads the configuration when it starts" in text
        assert "Target: ~/.config/Claude-3p (found)" in text and "(nothing to change)" in text
        assert DEMO_KEY not in screen_text(app)


async def test_a_running_desktop_is_told_to_quit_and_reopen(ui_sandbox, monkeypatch):
    from optscale_tui.core.clients.claude_desktop import verify

    monkeypatch.setattr(verify, "running_desktop", lambda os_name: ["pid 7: /usr/bin/claude-desktop"])
    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        assert "Claude Desktop is running: quit it fully (not only its window) and open it again." in flat(app)


async def test_the_log_read_back_shows_what_desktop_said(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        assert "nothing since the configuration was written yet" in flat(app)
        log = folder(ui_sandbox) / "logs" / "main.log"
        log.parent.mkdir()
        later = (datetime.now() + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
        log.write_text(f"[{later}.000] [warn] [custom-3p] Gateway /v1/models returned 0 usable models\n")
        await pilot.press("f2")  # away and back: the pane reads the log again when shown
        await open_desktop(pilot)
        assert "Desktop's log said: [" in flat(app) and "returned 0 usable models" in flat(app)


async def test_a_model_desktop_rejects_blocks_the_write_with_the_reason(ui_sandbox):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": URL, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                             "ANTHROPIC_DEFAULT_SONNET_MODEL": "openai/gpt-4.1"}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        assert "Claude Desktop rejects the model name 'openai/gpt-4.1' (the Sonnet tier)" in flat(app)
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and not folder(ui_sandbox).exists()
        assert any("Nothing can be written yet" in n.message for n in app._notifications)


async def test_a_desktop_file_that_does_not_parse_is_shown_and_never_written(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    shutil.copytree(FIXTURES / "broken", folder(ui_sandbox))
    before = (folder(ui_sandbox) / "configLibrary" / "_meta.json").read_bytes()
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        assert "~/.config/Claude-3p/configLibrary/_meta.json (line 4, column" in flat(app)
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert (folder(ui_sandbox) / "configLibrary" / "_meta.json").read_bytes() == before


async def test_the_written_notice_ends_when_the_values_change_again(ui_sandbox):
    seed_gateway_values(ui_sandbox)
    app = OptScaleApp()
    async with app.run_test(size=(100, 50)) as pilot:
        await open_desktop(pilot)
        await write_desktop_config(pilot)
        assert "Written (3 files" in flat(app)
        from optscale_tui.core.connection import TierMapping

        app.state.tiers = TierMapping(sonnet="anthropic/claude-sonnet-4-6")  # e.g. Haiku unmapped in Models
        app.query_one("#desktop-view").refresh_from_state("tiers")
        await pilot.pause()
        assert "Written (3 files" not in flat(app) and "w writes it" in flat(app)
