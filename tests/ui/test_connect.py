"""Connect pane: the derived /anthropic URL, validation reasons, Next refused, the key masked after entry, prefill."""

from __future__ import annotations

import json

from textual import events
from textual.widgets import Input, Static

from optscale_tui.core.connection import mask_secret
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from tests.ui.screen import paste, screen_text, settle

ORG = "7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f"
CHAT_URL = f"https://my.optscale.ai/llm_proxy/{ORG}/v1"
SECRET = "sk-bf-CONNECT-SECRET-0123456789wxyz"


def text_of(app: OptScaleApp, selector: str) -> str:
    return str(app.query_one(f"#connect-view {selector}", Static).render())



def active(app: OptScaleApp) -> str:
    return app.current_pane


async def test_pasting_the_v1_url_shows_the_derived_anthropic_url(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#base-url", Input)  # the cursor starts in the Base URL field
        await paste(pilot, "#base-url", CHAT_URL)
        derived = text_of(app, "#url-derived")
        assert f"https://my.optscale.ai/llm_proxy/{ORG}/anthropic" in derived
        assert derived.lstrip().startswith("✓")
        assert app.state.url is not None and app.state.url.anthropic_base.endswith("/anthropic")
        assert app.state.base_url_text == CHAT_URL
        assert f"llm_proxy/{ORG}/anthropic" in screen_text(app)
        # Enter in the URL field moves on to the key field.
        await pilot.press("enter")
        assert app.focused is app.query_one("#api-key", Input)


async def test_url_warnings_are_shown_as_bang_lines(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", "https://gw.example.com/v1")
        warnings = text_of(app, "#url-warnings")
        assert warnings.startswith("! ")
        assert "/llm_proxy/" in warnings
        assert app.query_one("#url-warnings").display


async def test_http_to_a_remote_host_is_refused_with_the_reason_and_next_is_explained(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", f"http://my.optscale.ai/llm_proxy/{ORG}/v1")
        derived = text_of(app, "#url-derived")
        assert derived.startswith("✗")
        assert "unencrypted" in derived and "https://" in derived
        assert app.state.url is None
        # Next (the key and the button) is refused, and says why.
        await paste(pilot, "#api-key", SECRET)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert active(app) == "connect"
        hint = text_of(app, "#nav-hint")
        assert "Not yet" in hint and "Base URL" in hint
        assert app.focused is app.query_one("#base-url", Input)
        await pilot.click("#nav-next")
        await pilot.pause()
        assert active(app) == "connect"


async def next_with_a_url_but_no_key(app: OptScaleApp, pilot) -> None:
    """Paste the Base URL only and press Next: the pane refuses and its hint names the missing API key."""
    await settle(pilot)
    await paste(pilot, "#base-url", CHAT_URL)
    await pilot.press("ctrl+n")
    await pilot.pause()
    assert "API key" in text_of(app, "#nav-hint")


async def test_next_without_a_key_is_refused(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await next_with_a_url_but_no_key(app, pilot)
        assert active(app) == "connect"
        assert app.focused is app.query_one("#api-key", Input)


async def test_the_key_is_only_shown_masked_once_entered(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", gateway.base_url)
        await pilot.press("enter")
        await paste(pilot, "#api-key", SECRET)
        key_input = app.query_one("#api-key", Input)
        assert key_input.password  # typed masked
        assert "hidden" in str(key_input.border_title)
        await pilot.press("ctrl+r")
        assert not key_input.password  # revealed while typing, and the field's title says so
        assert "shown" in str(key_input.border_title)
        await pilot.press("enter")  # accept the key = Next
        await settle(pilot)
        assert app.state.key is not None and app.state.key.value == SECRET
        assert active(app) == "tiers"
        await pilot.press("f2")
        await settle(pilot)
        assert active(app) == "connect"
        # The field was cleared and masked again; only the masked form is drawn.
        assert key_input.value == "" and key_input.password
        assert "hidden" in str(key_input.border_title)
        status = text_of(app, "#key-status")
        assert mask_secret(SECRET) in status  # (the demo gateway rejects this key: ✗, see the rejection test)
        assert mask_secret(SECRET) in key_input.placeholder
        assert all(SECRET not in field.value for field in app.query(Input))
        assert SECRET not in screen_text(app)
        assert SECRET not in app.export_screenshot()
        assert mask_secret(SECRET) in screen_text(app)


async def test_leaving_the_key_field_accepts_the_key(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#api-key", f"  Bearer {SECRET}  ")
        app.query_one("#base-url", Input).focus()
        await pilot.pause()
        assert app.state.key is not None and app.state.key.value == SECRET
        assert app.query_one("#api-key", Input).value == ""
        assert SECRET not in app.export_screenshot()


async def test_an_unusable_key_shows_the_reason(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", CHAT_URL)
        await paste(pilot, "#api-key", "sk-bf-two words")
        await pilot.press("enter")
        await pilot.pause()
        assert active(app) == "connect"
        assert text_of(app, "#key-status").startswith("✗")
        assert "spaces" in text_of(app, "#key-status")
        assert app.state.key is None


async def test_prefilled_from_a_settings_file_with_our_keys(ui_sandbox, gateway) -> None:
    token = DEMO_KEY
    data = {
        "env": {
            "ANTHROPIC_BASE_URL": gateway.anthropic_url,
            "ANTHROPIC_AUTH_TOKEN": token,
            "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
        },
        "theme": "dark",
    }
    ui_sandbox.seed(text=json.dumps(data, indent=2) + "\n")
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.query_one("#base-url", Input).value == gateway.anthropic_url
        assert gateway.anthropic_url in text_of(app, "#url-derived")
        status = text_of(app, "#key-status")
        assert f"Key in the file: {mask_secret(token)}" in status and "kept" in status
        assert token not in app.export_screenshot()
        # The key in the file is enough to move on, and the catalog loads with it.
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert active(app) == "tiers"
        assert app.state.key is None
        assert app.state.catalog is not None and app.state.catalog.probe.ok


async def test_a_key_pasted_into_the_url_field_moves_to_the_hidden_key_field(ui_sandbox):
    from textual.widgets import Input

    from optscale_tui.ui.app import OptScaleApp

    key = "sk-bf-pasted-in-the-wrong-field-0001"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.query_one("#base-url", Input).value = key
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert key not in text
        assert app.query_one("#base-url", Input).value == ""
        assert app.query_one("#api-key", Input).value == key
        assert app.focused is app.query_one("#api-key", Input)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.key is not None and app.state.key.value == key


async def test_accepting_the_key_clears_the_not_yet_hint_about_it(ui_sandbox, gateway) -> None:
    from optscale_tui.demo.session import DemoSession

    demo = DemoSession(gateway=gateway, root=ui_sandbox.home, config_dir=ui_sandbox.config_dir)
    app = OptScaleApp(demo=demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")  # the demo URL is prefilled, no key yet
        await pilot.pause()
        assert "API key" in text_of(app, "#nav-hint")
        await pilot.click("#demo-key")
        await pilot.pause()
        assert app.state.key is not None
        assert not app.query_one("#connect-view #nav-hint").display
        assert "Not yet" not in screen_text(app)


async def test_leaving_the_key_field_clears_the_not_yet_hint(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await next_with_a_url_but_no_key(app, pilot)
        await paste(pilot, "#api-key", SECRET)
        await pilot.press("tab")
        await pilot.pause()
        assert app.state.key is not None
        assert "Not yet" not in screen_text(app)


async def test_a_key_the_gateway_rejected_is_not_shown_as_accepted(ui_sandbox, gateway) -> None:
    wrong = "sk-bf-wrong-000000000001"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", gateway.base_url)
        await paste(pilot, "#api-key", wrong)
        await pilot.press("enter")  # Next: Models fetches the catalog, the gateway refuses the key
        await settle(pilot)
        assert active(app) == "tiers"
        await pilot.press("f2")
        await settle(pilot)
        assert active(app) == "connect"
        status = text_of(app, "#key-status")
        assert status.startswith("✗") and "rejected" in status and mask_secret(wrong) in status
        assert wrong not in app.export_screenshot()
        # A new key is not the rejected one: it is shown as accepted again.
        await paste(pilot, "#api-key", DEMO_KEY)
        await pilot.press("tab")
        await pilot.pause()
        assert text_of(app, "#key-status").startswith("✓")


async def test_a_url_with_warnings_gets_no_green_tick(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for url in (f"https://my.optscale.ai/llm_proxy/{ORG}/v2", f"https://my.optscale.ai/llm_prxy/{ORG}/v1"):
            await paste(pilot, "#base-url", "")
            app.query_one("#base-url", Input).value = url
            await pilot.pause()
            derived = app.query_one("#connect-view #url-derived", Static)
            assert str(derived.render()).lstrip().startswith("! "), url
            assert derived.has_class("warn-text") and not derived.has_class("ok-text")
            assert app.query_one("#url-warnings").display


async def test_a_scrollbar_does_not_make_the_url_wrap_at_80_columns(ui_sandbox, gateway) -> None:
    from textual.widgets import Collapsible

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", gateway.base_url)
        await pilot.press("ctrl+n")  # refused: no key; the hint adds a line
        await pilot.pause()
        app.query_one("#where-help", Collapsible).collapsed = False  # the pane now scrolls
        await pilot.pause()
        view = app.query_one("#connect-view")
        view.scroll_home(animate=False)
        await pilot.pause()
        assert view.max_scroll_y > 0
        lines = screen_text(app).splitlines()
        # The derived URL is whole on one line, and the Base URL field shows the whole pasted URL.
        assert any(gateway.anthropic_url in line for line in lines)
        assert any(gateway.base_url in line for line in lines)


async def test_after_a_save_the_key_status_says_it_is_in_the_settings_file(ui_sandbox, gateway) -> None:
    ui_sandbox.seed()
    other = "sk-bf-another-key-000000000002"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", gateway.base_url)
        await paste(pilot, "#api-key", DEMO_KEY)
        await pilot.press("enter")  # Next: Models, with the catalog
        await settle(pilot)
        assert "in memory until saved" in text_of(app, "#key-status")
        await pilot.press("home", "o")  # a move in the list, then the highlighted model for Opus
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert json.loads(ui_sandbox.settings.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == DEMO_KEY
        await pilot.press("f2")
        await settle(pilot)
        status = text_of(app, "#key-status")
        assert status == f"✓ Key: {mask_secret(DEMO_KEY)} (saved in ~/.claude/settings.json)"
        assert DEMO_KEY not in screen_text(app)
        # A different key is only in memory until the next save; the saved one entered again is still saved.
        await paste(pilot, "#api-key", other)
        await pilot.press("tab")
        await pilot.pause()
        assert "in memory until saved" in text_of(app, "#key-status")
        assert mask_secret(other) in text_of(app, "#key-status")
        await paste(pilot, "#api-key", DEMO_KEY)
        await pilot.press("tab")
        await pilot.pause()
        assert "(saved in ~/.claude/settings.json)" in text_of(app, "#key-status")


async def test_a_key_typed_on_after_the_url_is_moved_out_of_the_url_field(ui_sandbox) -> None:
    # The key typed before the focus had moved to the key field (or pasted together with the URL) must not stay in
    # the URL field in clear.
    url = "https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c1e-9a51-0d6f2b8a9c11/v1"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", url + DEMO_KEY)
        await settle(pilot)
        assert DEMO_KEY not in screen_text(app) and DEMO_KEY[6:] not in screen_text(app)
        assert app.query_one("#base-url", Input).value == url
        assert app.state.url is not None and app.state.url.anthropic_base.endswith("/anthropic")
        key_input = app.query_one("#api-key", Input)
        assert key_input.value == DEMO_KEY and key_input.password and app.focused is key_input
        await pilot.press("enter")
        await settle(pilot)
        assert app.state.key is not None and app.state.key.value == DEMO_KEY


async def test_a_key_that_does_not_look_like_a_virtual_key_gets_no_green_tick(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#api-key", "Q")
        await pilot.press("tab")  # leaving the field accepts the key
        await settle(pilot)
        status = text_of(app, "#key-status")
        assert app.state.key is not None  # still usable: the gateway has the last word
        assert status.startswith("! Key") and "sk-bf-" in status and "✓" not in status
        await paste(pilot, "#api-key", DEMO_KEY)
        await pilot.press("tab")
        await settle(pilot)
        assert text_of(app, "#key-status").startswith("✓ Key: sk-bf-…")


async def test_a_url_longer_than_the_field_shows_its_start_once_the_focus_leaves(ui_sandbox) -> None:
    # An OptScale URL with its org id on a longer host does not fit the 72 cells the field has at 80 columns; it
    # stayed scrolled to its end ("ttps://optscale.example…"), which reads like a typo.
    long_url = f"https://optscale.example.com/llm_proxy/{ORG}/v1"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", long_url)
        field = app.query_one("#base-url", Input)
        await pilot.press("space", "backspace")  # typing at the end: the view follows the cursor
        assert field.value == long_url and field.scroll_x > 0
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is not field
        assert field.scroll_x == 0 and "https://optscale.example.com" in screen_text(app)
        await pilot.press("shift+tab")
        await pilot.pause()
        await pilot.pause()
        assert app.focused is field and field.scroll_x > 0  # back in it, the cursor (at the end) is in view


async def test_while_a_key_is_typed_the_status_does_not_say_there_is_none(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert text_of(app, "#key-status").startswith("No key yet")
        app.query_one("#api-key", Input).focus()
        await pilot.press(*"sk-bf-typing")
        assert "being entered" in text_of(app, "#key-status")
        await pilot.press(*"-0123456789abcdef", "enter")
        await pilot.pause()
        assert text_of(app, "#key-status").startswith("✓ Key: sk-bf-…")
        app.query_one("#api-key", Input).focus()
        await pilot.pause()
        await pilot.press(*"sk-bf-second")  # a second key typed over the accepted one: said again
        assert "being entered" in text_of(app, "#key-status")


# --- issue 10 §5: the first screen, a typed key, an empty or scheme-less Base URL --------------------------------


async def test_a_prefilled_base_url_shows_its_start_and_is_replaced_whole(ui_sandbox, gateway) -> None:
    """The demo URL (73 characters) is a cell longer than the field at 80 columns: the focused field showed
    "ttp://127.0.0.1…"."""
    url = gateway.base_url.replace(gateway.base_url.split("/llm_proxy")[0], "http://127.0.0.1:40000")
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": url.removesuffix("/v1") + "/anthropic"}})
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.query_one("#base-url", Input)
        assert app.focused is field and len(field.value) > field.content_region.width - 1
        assert "║  http://127.0.0.1:40000/llm_proxy/" in screen_text(app).replace("▊", "║")
        field.post_message(events.Paste(gateway.base_url))  # a paste replaces the prefilled value whole
        await pilot.pause()
        assert field.value == gateway.base_url


async def test_a_key_typed_into_the_url_field_is_said_once_and_the_field_is_not_blamed(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"sk-bf-demo-all-models-d3e0a001")
        await settle(pilot)
        notices = [n for n in app._notifications if "API key field" in str(n.message)]
        assert len(notices) == 1
        assert app.query_one("#base-url", Input).value == ""  # "sk", typed before it looked like a key, went too
        derived = str(app.query_one("#url-derived", Static).render())
        assert "https://" not in derived and "empty" in derived


async def test_a_base_url_without_a_scheme_offers_https(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bare = "my.optscale.ai/llm_proxy/00000000-0000-4000-8000-00000000d3e0/v1"
        await paste(pilot, "#base-url", bare)
        derived = str(app.query_one("#url-derived", Static).render())
        assert "no https://" in derived and "^t" in derived
        assert "Add https://" in screen_text(app).splitlines()[-1]  # in the Footer
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.query_one("#base-url", Input).value == f"https://{bare}"
        assert app.state.url is not None and app.state.url.is_https


async def test_a_stray_word_in_the_url_field_is_not_offered_https(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", "S-Tab")
        derived = str(app.query_one("#url-derived", Static).render())
        assert "must start with https://" in derived and "^t" not in derived
