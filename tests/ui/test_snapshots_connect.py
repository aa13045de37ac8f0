"""Snapshots at 80×24 of the Connect and Models panes and the help screen (demo gateway on its fixed port)."""

from __future__ import annotations

from textual.widgets import Input

from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.widgets.model_picker import ModelList
from tests.ui.screen import paste

SIZE = (80, 24)
WRONG_KEY = "sk-bf-wrong-000000000000"


async def settle(pilot) -> None:
    from optscale_tui.ui.panes import PANES
    from optscale_tui.ui.panes.base import Pane

    for _ in range(50):  # the panes after the first mount lazily; the help lists their keys
        if len(pilot.app.query(Pane)) == len(PANES):
            break
        await pilot.pause(0.02)
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for field in pilot.app.query(Input):
        field.cursor_blink = False  # a blinking cursor would make the picture depend on timing


def fill(url: str, key: str | None = None, *, go_on: bool = False):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await paste(pilot, "#base-url", url)
        if key is not None:
            await paste(pilot, "#api-key", key)
            if go_on:
                await pilot.press("enter")
            else:
                pilot.app.query_one("#base-url", Input).focus()  # leaving the field accepts the key
        await settle(pilot)

    return run_before


def test_connect_empty(snap_compare, ui_sandbox) -> None:
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=settle)


def test_connect_filled_with_masked_key(snap_compare, ui_sandbox, gateway) -> None:
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=fill(gateway.base_url, DEMO_KEY))


def test_connect_with_an_error(snap_compare, ui_sandbox) -> None:
    async def run_before(pilot) -> None:
        await fill("http://gw.example.com/llm_proxy/00000000-0000-4000-8000-00000000d3e0/v1")(pilot)
        await pilot.press("ctrl+n")  # refused, with the reason
        await pilot.pause()

    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=run_before)


def test_tiers_loaded_with_a_mapping(snap_compare, ui_sandbox, gateway) -> None:
    async def run_before(pilot) -> None:
        await fill(gateway.base_url, DEMO_KEY, go_on=True)(pilot)
        model_list = pilot.app.query_one(ModelList)
        for model, key in (("anthropic/claude-haiku-4-5", "h"), ("anthropic/claude-sonnet-4-6", "s"),
                           ("anthropic/claude-opus-4-6", "o")):
            model_list.highlighted = [o.id for o in model_list.options].index(model)
            model_list.arm()  # as a move in the list does (the highlight is set directly here)
            await pilot.press(key)
        model_list.highlighted = 0
        await settle(pilot)

    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=run_before)


def test_tiers_with_catalog_failure(snap_compare, ui_sandbox, gateway) -> None:
    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=fill(gateway.base_url, WRONG_KEY, go_on=True))


def test_help_screen(snap_compare, ui_sandbox) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        pilot.app.screen.query_one("#help-body").scroll_home(animate=False)
        await pilot.pause(0.1)  # the scroll view sizes its content over a couple of refreshes

    assert snap_compare(OptScaleApp(), terminal_size=SIZE, run_before=run_before)
