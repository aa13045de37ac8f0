"""`make screenshots`: regenerate screenshots/*.svg from a scripted run against the embedded demo gateway.

Everything runs in a sandbox HOME (the demo session), the key is typed like a user would and is masked on screen,
and the gateway listens on a fixed loopback port so the pictures only change when the app does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "screenshots"
SIZE = (100, 32)


async def capture() -> list[Path]:
    from optscale_tui.core.connection import TierMapping
    from optscale_tui.demo.session import demo_session
    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.messages import TiersEdited

    written: list[Path] = []
    with demo_session(port=48_180) as session:
        app = OptScaleApp(demo=session)
        async with app.run_test(size=SIZE) as pilot:

            async def settle() -> None:
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause(0.2)

            def shot(name: str) -> None:
                path = OUT / f"{name}.svg"
                app.save_screenshot(filename=path.name, path=str(OUT))
                assert session.key not in path.read_text(), f"{name}: the key is visible"
                written.append(path)

            await settle()
            app.query_one("#api-key").focus()
            await pilot.press(*session.key)
            await pilot.press("enter")
            await settle()
            app.action_step("connect")
            await settle()
            shot("1-connect")

            app.action_step("tiers")
            await settle()
            app.post_message(TiersEdited(TierMapping(haiku="anthropic/claude-haiku-4-5",
                                                     sonnet="anthropic/claude-sonnet-4-6",
                                                     opus="anthropic/claude-opus-4-6")))
            await settle()
            shot("2-models")

            app.action_step("review")
            await settle()
            shot("3-review")

            await pilot.press("w")
            await settle()
            await pilot.press("y")
            await settle()
            app.action_step("verify")
            await settle()
            await asyncio.sleep(0.5)
            await settle()
            shot("4-verify")

            app.action_step("doctor")
            await settle()
            shot("doctor")

            app.action_step("desktop")
            await settle()
            shot("desktop")

            # The profile picker (ctrl+o on Connect), with the demo gateway saved as a profile beside two others.
            seed_profiles(app.config_path, session.base_url)
            app.action_step("connect")
            await settle()
            await pilot.press("ctrl+o")
            await settle()
            shot("profiles")
            await pilot.press("escape")
    return written


def seed_profiles(config_path: Path, demo_url: str) -> None:
    from optscale_tui.core import app_config as ac

    org = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    tiers = {"haiku": "anthropic/claude-haiku-4-5", "sonnet": "anthropic/claude-sonnet-4-6",
             "opus": "anthropic/claude-opus-4-6"}
    ac.save_config(ac.AppConfig(path=config_path, preferences=ac.Preferences(last_profile="demo"), profiles={
        "demo": ac.Profile(name="demo", label="Embedded demo gateway", base_url=demo_url, **tiers),
        "staging": ac.Profile(name="staging", label="Staging org", key_source=ac.KeySource("env", "STAGING_KEY"),
                              base_url=f"https://staging.example.com/llm_proxy/{org}/v1", **tiers),
        "prod": ac.Profile(name="prod", label="Production", key_source=ac.KeySource("env", "PROD_KEY"),
                           base_url=f"https://optscale.example.com/llm_proxy/{org}/v1", **tiers),
    }))


def main() -> int:
    import os

    OUT.mkdir(exist_ok=True)
    local_claude = ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "claude"
    if local_claude.exists():  # show the real-client check too (installed by `make claude-cli`)
        os.environ.setdefault("OPTSCALE_TUI_CLAUDE_BIN", str(local_claude))
    os.environ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    for path in asyncio.run(capture()):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
