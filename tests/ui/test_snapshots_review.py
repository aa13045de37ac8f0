"""Snapshots at 80×24: Review (diff, no changes, invalid file), Doctor, Backups with a selection.

Deterministic: the sandbox HOME is shown as ~, backups are made with a fixed clock, and every worker has finished
before the picture is taken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.messages import ConnectionEdited, TiersEdited
from tests.ui.screen import settle

BASE_URL = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"
KEY = "sk-bf-SNAPSHOT-SECRET-0123456789abcd"
OPUS = "anthropic/claude-opus-4-6"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SIZE = (80, 24)


def enter_values(app: OptScaleApp, *, opus: str = OPUS) -> None:
    url = parse_base_url(BASE_URL)
    app.post_message(ConnectionEdited(BASE_URL, url, ApiKey(KEY)))
    app.post_message(TiersEdited(TierMapping(opus=opus)))


def open_pane(key: str, *, values: bool = False):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if values:
            enter_values(pilot.app)
            await pilot.pause()
        await pilot.press(key)
        await settle(pilot)

    return run_before


def test_review_with_a_diff(ui_sandbox, snap_compare) -> None:
    ui_sandbox.seed()
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=open_pane("f4", values=True))


def test_review_no_changes(ui_sandbox, snap_compare) -> None:
    ui_sandbox.seed({"theme": "dark", "env": {
        "ANTHROPIC_BASE_URL": parse_base_url(BASE_URL).anthropic_base,
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS,
    }})
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=open_pane("f4"))


def test_review_invalid_file(ui_sandbox, snap_compare) -> None:
    ui_sandbox.seed(text='{\n  "theme": "dark",\n  "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"},\n}\n')
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=open_pane("f4", values=True))


def test_doctor(ui_sandbox, snap_compare, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-SHELL-KEY-9876543210")
    ui_sandbox.seed({"theme": "dark", "env": {
        "ANTHROPIC_BASE_URL": parse_base_url(BASE_URL).anthropic_base,
        "ANTHROPIC_AUTH_TOKEN": KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS,
    }})
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=open_pane("f6"))


def test_backups_with_a_selection(ui_sandbox, snap_compare) -> None:
    path = ui_sandbox.seed()
    url = parse_base_url(BASE_URL)
    for i, model in enumerate(("anthropic/claude-opus-4-5", OPUS)):
        plan = plan_apply(load_settings(path), ConnectionValues(url, ApiKey(KEY), TierMapping(opus=model)))
        save_plan(plan, now=T0 + timedelta(minutes=i))

    async def run_before(pilot) -> None:
        await open_pane("f7")(pilot)
        await pilot.press("down")  # the older timestamped backup: the seeded file
        await settle(pilot)

    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=run_before)
