"""Doctor pane: the effective configuration table (masked), findings with cause ids, and Refresh."""

from __future__ import annotations

import json

from textual.widgets import DataTable

from optscale_tui.core.connection import mask_secret
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.fix import FixScreen
from optscale_tui.ui.panes.doctor import DoctorPane
from optscale_tui.ui.widgets.findings import FindingsList
from tests.ui.screen import press_and_wait, screen_text, settle
from tests.ui.test_navigation import footer_keys

TOKEN = "sk-bf-DOCTOR-SECRET-0123456789abcd"
SHELL_KEY = "sk-ant-SHELL-KEY-9876543210"
GATEWAY = {
    "ANTHROPIC_BASE_URL": "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/anthropic",
    "ANTHROPIC_AUTH_TOKEN": TOKEN,
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6",
}



def rows(app: OptScaleApp) -> dict[str, dict[str, str]]:
    """Row key → {column key: cell text}."""
    table = app.query_one("#doctor-table", DataTable)
    return {str(row.value): {str(column.value): str(table.get_cell(row, column)).strip() for column in table.columns}
            for row in table.rows}


async def open_doctor(app: OptScaleApp, pilot) -> DoctorPane:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("f6")
    await pilot.pause()
    return app.query_one(DoctorPane)


async def test_table_shows_the_token_masked_with_its_source(ui_sandbox) -> None:
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        table = rows(app)
        row = table["ANTHROPIC_AUTH_TOKEN"]
        assert row["value"] == mask_secret(TOKEN)
        assert row["source"] == "user"
        assert TOKEN not in screen_text(app)
        assert all(TOKEN not in cell for row in table.values() for cell in row)


async def test_shell_api_key_is_a_finding_with_its_fix_and_the_layers_are_named(ui_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SHELL_KEY)
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        row = rows(app)["ANTHROPIC_API_KEY"]
        assert (row["value"], row["source"]) == (mask_secret(SHELL_KEY), "shell")
        texts = app.query_one("#doctor-findings", FindingsList).texts
        shell = [t for t in texts if "shell_api_key" in t]
        assert shell and shell[0].startswith("! warn  shell_api_key")
        assert "Fix: Unset ANTHROPIC_API_KEY" in shell[0]
        assert "~/.claude/settings.json" in shell[0]  # paths are shown home-relative
        assert SHELL_KEY not in "\n".join(texts) and TOKEN not in "\n".join(texts)


async def test_a_value_that_beats_a_lower_layer_says_so(ui_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_DEFAULT_OPUS_MODEL", "shell/model")
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        row = rows(app)["ANTHROPIC_DEFAULT_OPUS_MODEL"]
        assert (row["source"], row["overrides"]) == ("user", "beats shell")
        assert row["value"].startswith("anthropic/claude-opus")  # ellipsized to the width left at 80 columns
        table = app.query_one("#doctor-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("ANTHROPIC_DEFAULT_OPUS_MODEL"))
        await pilot.pause()
        detail = str(app.query_one("#doctor-detail").content)
        assert "ANTHROPIC_DEFAULT_OPUS_MODEL from user ~/.claude/settings.json:\nanthropic/claude-opus-4-6" in detail
        assert "ignored here (a higher layer wins): process" in detail


async def test_long_values_are_ellipsized_to_fit_80_columns(ui_sandbox) -> None:
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        value = rows(app)["ANTHROPIC_BASE_URL"]["value"]
        assert value.endswith("…")
        assert value[:-1] in GATEWAY["ANTHROPIC_BASE_URL"]
        # The whole table fits: no cell is drawn past the right edge.
        table = app.query_one("#doctor-table", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_refresh_reads_the_files_again(ui_sandbox) -> None:
    path = ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_doctor(app, pilot)
        assert "CLAUDE_CODE_SUBAGENT_MODEL" not in rows(app)
        path.write_text(json.dumps({"env": {**GATEWAY, "CLAUDE_CODE_SUBAGENT_MODEL": "a/sub"}}))
        view.query_one("#doctor-table").focus()
        assert app.screen.active_bindings["r"].binding.action == "refresh"
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert rows(app)["CLAUDE_CODE_SUBAGENT_MODEL"]["value"] == "a/sub"


async def test_an_invalid_user_file_is_a_settings_invalid_finding(ui_sandbox) -> None:
    ui_sandbox.seed(text='{"env": {"A": "1",}}\n')
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        texts = app.query_one("#doctor-findings", FindingsList).texts
        assert any(t.startswith("✗ fail  settings_invalid") and "line 1" in t for t in texts)
        assert any("Fix: Correct the JSON in ~/.claude/settings.json at line 1" in t for t in texts)
        assert not any("Fix: Fix" in t for t in texts)


async def test_source_and_overrides_are_on_screen_at_80_columns(ui_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_DEFAULT_OPUS_MODEL", "shell/model")
    monkeypatch.setenv("ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME", "Haiku via the gateway")  # the longest name we write
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        lines = screen_text(app).splitlines()
        header = next(line for line in lines if "Variable" in line)
        assert "Source" in header and "Overrides" in header
        opus = next(line for line in lines if "ANTHROPIC_DEFAULT_OPUS_MODEL " in line)
        assert "user" in opus and "beats shell" in opus
        shell = next(line for line in lines if "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME" in line)
        assert "shell" in shell


async def test_fix_it_is_in_the_footer_only_while_a_fix_applies(ui_sandbox) -> None:
    env = {name: value for name, value in GATEWAY.items() if name != "ANTHROPIC_DEFAULT_OPUS_MODEL"}
    ui_sandbox.seed({"env": {**env, "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6"}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        await pilot.pause()
        assert app.state.fixes()  # Opus unmapped: core offers to map it
        assert footer_keys(app).get("f") == "Fix it"
        await press_and_wait(pilot, "f")
        assert isinstance(app.screen, FixScreen)
        await press_and_wait(pilot, "y")
        await settle(pilot)
        assert not app.state.fixes()
        assert "No problems found" in screen_text(app)
        assert "f" not in footer_keys(app)  # nothing left to fix: no key that could only say so
        app.clear_notifications()
        await press_and_wait(pilot, "f")
        assert not isinstance(app.screen, FixScreen) and not app._notifications


async def test_the_table_is_laid_out_again_for_every_new_size(ui_sandbox) -> None:
    """A resize refills the table; it was painted with the headers' widths ("ANTHROPI  user  http:") until r."""
    ui_sandbox.seed({"env": {**GATEWAY, "BASH_DEFAULT_TIMEOUT_MS": "120000"}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        for size in ((200, 50), (80, 24), (100, 30), (200, 50)):
            await pilot.resize_terminal(*size)
            await settle(pilot)
            lines = screen_text(app).splitlines()
            url = next((line for line in lines if " user " in line and "http" in line), "")
            assert "ANTHROPIC_BASE_URL " in url, (size, url)
            assert "BASH_DEFAULT_TIMEOUT_MS " in screen_text(app) and " 120000" in screen_text(app), size
            if size[0] == 200:
                assert GATEWAY["ANTHROPIC_BASE_URL"] in url, url  # the whole value fits at 200 columns
            else:
                assert url.rstrip().endswith("…"), url


async def test_at_80_columns_the_values_get_the_width_model_names_in_full(ui_sandbox, monkeypatch) -> None:
    """Issue 10 §5: every model read "anthropic/cl…" at 80 columns (an empty Overrides column and wide padding)."""
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")  # the widest name, as in the demo
    ui_sandbox.seed({"env": {**GATEWAY, "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                             "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5"}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        drawn = screen_text(app)
        for model in ("anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"):
            assert model in drawn, drawn


async def test_managed_desktop_configuration_is_a_finding_in_the_doctor_pane(ui_sandbox, tmp_path) -> None:
    managed = tmp_path / "root" / "etc" / "claude-desktop" / "managed-settings.json"  # ui_sandbox's system root
    managed.parent.mkdir(parents=True)
    managed.write_text(json.dumps({"inferenceProvider": "gateway", "inferenceGatewayBaseUrl": "https://x/anthropic"}))
    ui_sandbox.seed({"env": GATEWAY})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_doctor(app, pilot)
        texts = app.query_one("#doctor-findings", FindingsList).texts
        [desktop] = [t for t in texts if "desktop_managed_override" in t]
        assert desktop.startswith("! warn  desktop_managed_override")
        assert "managed-settings.json" in desktop and "inferenceProvider" in desktop
