"""The whole wizard with Pilot, against the demo gateway: paste → catalog → map → masked diff → save → verify."""

from __future__ import annotations

import json

from textual.widgets import Input

from optscale_tui.core.verify.events import CheckStatus
from optscale_tui.demo.server import DEMO_KEY, DemoGateway
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.dialogs.confirm import ConfirmScreen
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.diff_view import DiffView
from optscale_tui.ui.widgets.stream_log import StreamLog
from tests.ui.screen import screen_text


async def test_paste_map_review_save_and_verify(ui_sandbox):
    path = ui_sandbox.seed()  # hooks, permissions, a statusLine, other env vars, a theme
    before = json.loads(path.read_text())
    with DemoGateway() as gw:
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()

            # 1 Connect: paste the /v1 Base URL as OptScale Chat shows it, then the key.
            url = app.query_one("#base-url", Input)
            url.focus()
            url.value = f"  {gw.base_url}/  "  # pasted with stray whitespace and a trailing slash
            await pilot.pause()
            assert gw.anthropic_url in screen_text(app)  # the derived /anthropic URL is shown live
            await pilot.press("enter")  # on to the key field
            await pilot.pause()
            await pilot.press(*DEMO_KEY)
            await pilot.press("enter")  # accept the key, go Next
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.current_pane == "tiers"
            assert DEMO_KEY not in screen_text(app)

            # 2 Models: the catalog came from the gateway; map the three tiers by keys.
            assert app.state.catalog is not None and app.state.catalog.probe.ok
            app.query_one("#model-filter", Input).focus()
            await pilot.press("down", "h", "down", "o", "down", "s")
            await pilot.pause()
            tiers = app.state.tiers
            assert (tiers.haiku, tiers.opus, tiers.sonnet) == (
                "anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-6", "anthropic/claude-sonnet-4-6")

            # 3 Review: the masked diff.
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.current_pane == "review"
            diff = app.query_one("#review-diff", DiffView).text
            assert '"ANTHROPIC_AUTH_TOKEN": "sk-bf-…a001"' in diff and DEMO_KEY not in diff
            assert f'"ANTHROPIC_BASE_URL": "{gw.anthropic_url}"' in diff

            # Save: a confirmation first, then an atomic write with a backup.
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await app.workers.wait_for_complete()
            await pilot.pause()
            saved = json.loads(path.read_text())
            assert saved["env"]["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
            for key, value in before.items():  # every other key survives, in order
                if key != "env":
                    assert saved[key] == value
            assert list(saved) == list(before)
            assert saved["env"]["BASH_DEFAULT_TIMEOUT_MS"] == "120000"
            backups = list((ui_sandbox.config_dir / "optscale-tui-backups").iterdir())
            assert backups

            # 4 Verify: runs by itself after a save; the replies stream into the log.
            await pilot.press("f5")
            await app.workers.wait_for_complete()
            await pilot.pause()
            checklist = app.query_one(Checklist)
            statuses = {cid: checklist.status_of(cid) for cid in checklist.check_ids}
            assert statuses.pop("claude") is CheckStatus.SKIP  # no claude CLI in this sandbox
            assert set(statuses.values()) == {CheckStatus.PASS}, statuses
            log = app.query_one(StreamLog).text
            assert log.count("Hello from the OptScale demo gateway") == 3
            assert DEMO_KEY not in screen_text(app)
