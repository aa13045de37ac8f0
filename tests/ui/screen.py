"""Shared helpers for the TUI tests: what is on the screen, and driving the app as a user does."""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input


def screen_text(app: App) -> str:
    """What the terminal shows right now, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(pilot: Pilot) -> None:
    """Let every worker finish and the screen catch up; three rounds, because a finished worker may start another."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def paste(pilot: Pilot, selector: str, text: str) -> None:
    """Paste as a terminal does (bracketed paste into the focused field)."""
    field = pilot.app.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    field.post_message(events.Paste(text))
    await pilot.pause()


async def press_and_wait(pilot: Pilot, key: str) -> None:
    """Press a key whose action starts workers; return once they have finished and the screen has caught up."""
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def run_all_checks(pilot: Pilot) -> None:
    """Open the Verify pane (F5) and run every check (r); return once they have all finished."""
    await pilot.press("f5")
    await pilot.pause()
    await press_and_wait(pilot, "r")
