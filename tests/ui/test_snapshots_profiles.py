"""Snapshot at 80×24 of the profile picker (ctrl+o on Connect) with three profiles, the last used one marked."""

from __future__ import annotations

from optscale_tui.core import app_config as ac
from optscale_tui.ui.app import OptScaleApp
from tests.ui.test_snapshots_connect import settle

SIZE = (80, 24)
ORG = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def three_profiles(ui_sandbox, monkeypatch) -> None:
    path = ui_sandbox.home / ".config" / "optscale-tui" / "config.toml"
    monkeypatch.setenv(ac.CONFIG_ENV, str(path))
    monkeypatch.setenv(ac.KEY_STORE_ENV, "file")
    opus = "anthropic/claude-opus-4-6"
    ac.save_config(ac.AppConfig(path=path, preferences=ac.Preferences(last_profile="prod"), profiles={
        "staging": ac.Profile(name="staging", label="Staging org", opus=opus,
                              base_url=f"https://staging.example.com/llm_proxy/{ORG}/v1"),
        "prod": ac.Profile(name="prod", label="Production", opus=opus, key_source=ac.KeySource("env", "PROD_KEY"),
                           base_url=f"https://optscale.example.com/llm_proxy/{ORG}/v1"),
        "customer-x": ac.Profile(name="customer-x", opus=opus,
                                 base_url=f"https://llm.customer-x.example/llm_proxy/{ORG}/v1"),
    }))


def test_profile_picker(snap_compare, ui_sandbox, monkeypatch) -> None:
    ui_sandbox.seed()
    three_profiles(ui_sandbox, monkeypatch)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)

    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=run_before)
