"""The Claude Desktop pane: the four values, copy over OSC 52 (the real key on the clipboard, masked on screen)."""

from __future__ import annotations

import os

from textual.widgets import Footer

from optscale_tui.core.connection import ApiKey
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from tests.ui.screen import screen_text
from tests.ui.test_desktop_connect import open_desktop, seed_gateway_values

URL = "https://gw.example.org/llm_proxy/00000000-0000-4000-8000-000000000001/anthropic"
TIERS = {
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6[1m]",
}



def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_four_values_shown_with_the_key_masked_and_copied_for_real(ui_sandbox):
    seed_gateway_values(ui_sandbox, TIERS)
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_desktop(pilot)
        text = screen_text(app)
        for label in ("Gateway Base URL", "Gateway API Key", "Model ID", "Display Name"):
            assert label in text
        assert URL in text
        masked = ApiKey(DEMO_KEY).masked
        assert masked in text and DEMO_KEY not in text
        assert "anthropic/claude-opus-4-6  (Opus tier, 1 of 3)" in text  # [1m] is Claude Code's, not a model id
        assert "Claude Opus via OptScale AI" in text
        assert "Help → Troubleshooting → Enable Developer Mode" in text and "Apply Changes" in text
        assert "ignores ~/.claude/settings.json" in text
        assert "needs https://" not in text  # the plain-http warning is only for http URLs

        await pilot.press("2")
        assert app.clipboard == DEMO_KEY
        await app.workers.wait_for_complete()  # the toast waits for the tmux check (a thread)
        await pilot.pause()
        assert f"Copied the API key ({masked})." in notes(app)
        assert DEMO_KEY not in screen_text(app)  # not in the toast either
        await pilot.press("1")
        assert app.clipboard == URL
        await pilot.press("3")
        assert app.clipboard == "anthropic/claude-opus-4-6"
        await pilot.press("4")
        assert app.clipboard == "Claude Opus via OptScale AI"
        await pilot.press("m")  # next model
        await pilot.press("3")
        assert app.clipboard == "anthropic/claude-sonnet-4-6"
        assert "(Sonnet tier, 2 of 3)" in screen_text(app)
        # enter on a highlighted row copies it as well
        values = app.query_one("#desktop-values")
        values.focus()
        values.highlighted = 0
        await pilot.press("enter")
        assert app.clipboard == URL


async def test_missing_values_say_which_step_to_complete(ui_sandbox):
    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_desktop(pilot)
        text = " ".join(screen_text(app).split())
        assert "not set yet — complete step 1 Connect (F2): paste the Base URL" in text
        assert "complete step 1 Connect (F2): paste the API key" in text
        assert "complete step 2 Models (F3): map at least one tier" in text
        before = app.clipboard
        await pilot.press("2")
        assert app.clipboard == before
        assert any(n.startswith("No Gateway API Key yet") for n in notes(app))


async def test_plain_http_url_is_flagged(ui_sandbox):
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/llm_proxy/x/anthropic",
                             "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, **TIERS}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_desktop(pilot)
        assert "Claude Desktop needs https://" in screen_text(app)


async def test_the_pane_opens_at_its_first_line_with_the_values_focused(ui_sandbox):
    # Nothing entered yet: the "not set yet" rows make the pane taller than 80×24, so focusing the list could scroll.
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await open_desktop(pilot)
        await pilot.pause(0.3)  # past any scroll animation
        view = app.query_one("#desktop-view")
        assert view.max_scroll_y > 0
        assert view.scroll_y == 0
        assert "Claude Desktop ignores ~/.claude/settings.json" in screen_text(app)
        assert app.focused is app.query_one("#desktop-values")


async def test_footer_fits_80_columns_with_quit_and_help_and_help_lists_each_copy_key(ui_sandbox):
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_desktop(pilot)
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        keys = {key.key_display: key for key in footer.query("FooterKey")}
        palette = next(key for key in keys.values() if key.has_class("-command-palette"))
        # Quit and Help are fully drawn: inside 80 columns and left of the palette key, which is docked over the
        # right end of the Footer and covers whatever runs under it.
        for display, description in (("^q", "Quit"), ("f1", "Help")):
            assert keys[display].description == description
            assert keys[display].region.right <= palette.region.x, description
        assert {"1", "2", "3", "4", "m"} <= keys.keys()  # every copy key is still in the Footer, and clickable
        assert keys["m"].region.right <= palette.region.x
        assert "Help" in screen_text(app).splitlines()[-1]

        await pilot.press("f1")
        await pilot.pause()
        help_text = " ".join(t.render().plain for t in app.screen.query(".help-what"))
        for description in ("Copy URL", "Copy key", "Copy model", "Copy name", "Next model"):
            assert description in help_text


FAKE_TMUX = """#!/bin/sh
# show-options -gv set-clipboard, as tmux answers with its default
echo external
"""


async def test_inside_a_tmux_that_drops_osc_52_the_toast_says_so_and_how_to_fix_it(ui_sandbox, tmp_path,
                                                                                   monkeypatch):
    # tmux's default set-clipboard is "external": an application's OSC 52 never reaches the clipboard, and a
    # plain "Copied" was a lie.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tmux").write_text(FAKE_TMUX)
    (bin_dir / "tmux").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    seed_gateway_values(ui_sandbox, TIERS)
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_desktop(pilot)
        await pilot.press("2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = " ".join(notes(app))
        assert "set -g set-clipboard on" in said and "“external” now" in said, said
        assert "Copied the API key" in said and DEMO_KEY not in said


async def test_not_set_rows_are_readable_when_highlighted_in_both_themes(ui_sandbox):
    from textual.widgets import OptionList

    from tests.ui.test_diff_view import contrast

    ui_sandbox.seed()  # no gateway yet: every value is "not set yet"
    for theme in ("textual-light", "textual-dark"):
        app = OptScaleApp()
        async with app.run_test(size=(80, 24)) as pilot:
            app.theme = theme
            await open_desktop(pilot)
            values = app.query_one("#desktop-view").query_one(OptionList)
            values.focus()
            values.highlighted = 0
            await pilot.pause()
            ratios = [contrast(seg.style.color, seg.style.bgcolor)
                      for y in range(values.region.height) for seg in values.render_line(y) if "not set" in seg.text]
            assert len(ratios) == 4 and min(ratios) >= 4.5, (theme, ratios)  # was ~1.5:1 on the light cursor
