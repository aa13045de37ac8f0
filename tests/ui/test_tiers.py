"""Models pane: the catalog from the demo gateway, filter, h/s/o, coverage fix, failures with cause + fix, by hand."""

from __future__ import annotations

import re

from rich.cells import cell_len
from textual import events
from textual.widgets import Input, Static

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.models import CLAUDE_CODE_BUILTIN_MODELS
from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.panes.models import MappingTable
from optscale_tui.ui.widgets.model_picker import ModelList
from tests.ui.screen import paste, screen_text, settle

WRONG_KEY = "sk-bf-wrong-000000000000"
SONNET = "anthropic/claude-sonnet-4-6"
OPUS = "anthropic/claude-opus-4-6"
HAIKU = "anthropic/claude-haiku-4-5"


def text_of(app: OptScaleApp, selector: str) -> str:
    return str(app.query_one(f"#tiers-view {selector}", Static).render())


def active(app: OptScaleApp) -> str:
    return app.current_pane


def option_ids(app: OptScaleApp) -> list[str]:
    return [o.id or "" for o in app.query_one(ModelList).options]


async def connect(app: OptScaleApp, pilot, url: str, key: str) -> None:
    """Fill the Connect pane as a user does; Enter in the key field moves on to Models."""
    await settle(pilot)
    await paste(pilot, "#base-url", url)
    await paste(pilot, "#api-key", key)
    await pilot.press("enter")
    await settle(pilot)


async def filter_to(app: OptScaleApp, pilot, text: str) -> None:
    """Type into the filter, then go down into the list."""
    field = app.query_one("#model-filter", Input)
    field.focus()
    field.value = ""
    await pilot.pause()
    field.post_message(events.Paste(text))
    await pilot.pause()
    await pilot.press("down")
    await pilot.pause()


async def test_the_catalog_loads_from_the_gateway_and_the_filter_narrows_it(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert active(app) == "tiers"
        catalog = app.state.catalog
        assert catalog is not None and catalog.probe.ok
        assert text_of(app, "#catalog-status").startswith("✓ 6 models")
        assert set(option_ids(app)) == {m.id for m in catalog.models}
        assert isinstance(app.focused, ModelList)  # h/s/o work at once
        await filter_to(app, pilot, "opus")
        catalog_matches = [i for i in option_ids(app) if not i.startswith("typed:")]
        assert catalog_matches == [OPUS]
        await filter_to(app, pilot, "claude")
        assert {i for i in option_ids(app) if not i.startswith("typed:")} == {HAIKU, SONNET, OPUS}


async def test_h_s_o_assign_the_highlighted_model_and_x_clears(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        for name, key in ((HAIKU, "h"), (SONNET, "s"), (OPUS, "o"), (SONNET, "a")):
            await filter_to(app, pilot, name)
            assert app.query_one(ModelList).highlighted_model == name
            await pilot.press(key)
            await pilot.pause()
        tiers = app.state.tiers
        assert (tiers.haiku, tiers.sonnet, tiers.opus, tiers.subagent_model) == (HAIKU, SONNET, OPUS, SONNET)
        table = app.query_one(MappingTable)
        assert table.get_cell("opus", "model") == OPUS
        assert text_of(app, "#coverage").startswith("✓")
        # x on the Subagents row clears it.
        table.focus()
        table.move_cursor(row=4)
        await pilot.press("x")
        await pilot.pause()
        assert app.state.tiers.subagent_model is None
        assert table.get_cell("subagent_model", "model") == "— not set"
        # Next goes on to Review.
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert active(app) == "review"


async def test_opus_unmapped_warning_and_the_one_key_fix(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await filter_to(app, pilot, SONNET)
        await pilot.press("s")
        await pilot.pause()
        coverage = text_of(app, "#coverage")
        assert coverage.startswith("!")
        assert CLAUDE_CODE_BUILTIN_MODELS["opus"] in coverage
        assert text_of(app, "#coverage-detail") == describe(Cause.TIER_UNMAPPED).message
        # The hint says what f will do before it is pressed: each tier gets the model named for it.
        assert str(app.query_one("#fix").render()) == f"f: map Opus → {OPUS}, Haiku → {HAIKU}"
        await pilot.press("f")
        await pilot.pause()
        tiers = app.state.tiers
        assert (tiers.haiku, tiers.sonnet, tiers.opus) == (HAIKU, SONNET, OPUS)
        assert text_of(app, "#coverage").startswith("✓")
        assert not app.query_one("#fix").display


async def test_f_with_the_haiku_model_highlighted_still_maps_each_tier_to_its_own_model(ui_sandbox, gateway) -> None:
    """The reviewer's case: f used to map all three tiers to the highlighted (first) model and claim ✓."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert app.query_one(ModelList).highlighted_model == HAIKU
        assert "Opus → anthropic/claude-opus-4-6" in str(app.query_one("#fix").render())
        await pilot.press("home", "f")  # home: a move in the list, where f is a key then
        await pilot.pause()
        tiers = app.state.tiers
        assert (tiers.haiku, tiers.sonnet, tiers.opus) == (HAIKU, SONNET, OPUS)
        assert text_of(app, "#coverage").startswith("✓")


async def test_f_without_an_opus_model_says_which_tier_borrows_and_why(ui_sandbox, gateway) -> None:
    gateway.models = ["openai/gpt-5", SONNET, HAIKU]
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        hint = str(app.query_one("#fix").render())
        assert f"Opus → {SONNET} (no Opus model known; uses Sonnet's model)" in hint
        await pilot.press("home", "f")  # home: a move in the list, where f is a key then
        await pilot.pause()
        tiers = app.state.tiers
        assert (tiers.haiku, tiers.sonnet, tiers.opus) == (HAIKU, SONNET, SONNET)
        assert text_of(app, "#coverage").startswith("! ")  # not a silent ✓
        assert f"Opus → {SONNET}" in text_of(app, "#coverage-detail")
        assert any("no Opus model known" in str(n.message) for n in app._notifications)


async def test_enter_uses_a_model_for_the_tier_it_is_named_for(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await filter_to(app, pilot, OPUS)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.tiers.opus == OPUS
        # A model named for no tier: Enter says which keys to press, and maps nothing.
        await filter_to(app, pilot, "openai/gpt-5")
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.tiers.mapped() == {"opus": OPUS}
        assert any("press h, s or o" in str(n.message) for n in app._notifications)


async def test_tier_tags_are_readable_at_80_columns(ui_sandbox, gateway) -> None:
    from tests.ui.screen import screen_text

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("home", "f")  # home: a move in the list, where f is a key then
        await filter_to(app, pilot, SONNET)
        await pilot.press("a")  # Sonnet for subagents too
        await filter_to(app, pilot, "")
        await pilot.pause()
        text = screen_text(app)
        # The tag (the keys of the targets using the model) comes before the name, so neither is cut off.
        for line in (f"H     {HAIKU}", f" S  A {SONNET}", f"  O   {OPUS}"):
            assert line in text, text
        # The keys for the main and subagent models are shown in the pane (the Footer has no room for them).
        assert "Main m" in text and "Sub a" in text


async def test_on_a_wide_terminal_the_mapping_sits_next_to_the_models(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(200, 50)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        picker, mapping = app.query_one("#tiers-view #picker"), app.query_one("#tiers-view #mapping-col")
        assert picker.region.width <= 72
        assert mapping.region.x - picker.region.right <= 2


async def test_next_needs_at_least_one_tier(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert active(app) == "tiers"
        assert "map at least one tier" in text_of(app, "#nav-hint")
        assert app.query_one("#tiers-view #nav-hint").region  # scrolled into view


def on_screen(app: OptScaleApp, selector: str) -> bool:
    """The widget is drawn in full inside the Models pane's visible area (not scrolled off, even partly)."""
    view = app.query_one("#tiers-view")
    widget = app.query_one(f"#tiers-view {selector}")
    return view.scrollable_content_region.contains_region(widget.region)


async def test_the_not_yet_hint_keeps_the_mapping_table_in_view_at_80x24(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await pilot.press("ctrl+n")  # nothing mapped yet: "Not yet"
        await settle(pilot)
        assert "map at least one tier" in text_of(app, "#nav-hint")
        assert on_screen(app, "#nav-hint")
        assert on_screen(app, "#mapping")  # every row, Haiku and Sonnet included, while the user maps them
        for key, label, model in (("h", "Haiku", HAIKU), ("s", "Sonnet", SONNET)):
            await filter_to(app, pilot, model)
            await pilot.press(key)
            await settle(pilot)
            assert on_screen(app, "#mapping"), label
            assert re.search(rf"{label}\s+{re.escape(model)}", screen_text(app)), label  # the row, as drawn


async def test_the_filter_placeholder_fits_the_field_at_80_columns(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # no connection: names are typed by hand
        await settle(pilot)
        field = app.query_one("#model-filter", Input)
        assert field.placeholder in screen_text(app)
        assert cell_len(field.placeholder) < field.content_region.width  # one cell left for the cursor
        await pilot.press("f2")
        await connect(app, pilot, gateway.base_url, DEMO_KEY)  # with the catalog: the filter
        assert app.state.catalog is not None and field.placeholder.startswith("Filter")
        assert field.placeholder in screen_text(app)
        assert cell_len(field.placeholder) < field.content_region.width


async def test_the_f_map_label_wraps_at_the_pane_edge_not_centred(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        fix = app.query_one("#tiers-view #fix")
        fix.scroll_visible(animate=False)
        await pilot.pause()
        lines = screen_text(app).splitlines()[fix.region.y:fix.region.bottom]
        assert len(lines) >= 2 and lines[0].lstrip().startswith("f: map")  # wrapped at 80 columns
        indents = {len(line) - len(line.lstrip()) for line in lines}
        assert indents == {fix.region.x + 1}, lines  # every line starts at the button's edge (+ its padding)


async def test_a_wrong_key_shows_the_cause_and_fix_and_names_can_be_typed(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, WRONG_KEY)
        assert active(app) == "tiers"
        info = describe(Cause.AUTH_INVALID_KEY)
        assert app.state.catalog is not None and app.state.catalog.probe.cause is Cause.AUTH_INVALID_KEY
        status = text_of(app, "#catalog-status")
        assert status.startswith("✗") and info.title in status
        assert text_of(app, "#catalog-fix") == f"Fix: {info.fix}"
        assert info.message in text_of(app, "#catalog-why")
        assert app.query_one("#retry").display
        assert WRONG_KEY not in app.export_screenshot()
        # An invalid name says why; a valid one is offered as typed and assigned with the same keys.
        await filter_to(app, pilot, "not a model!")
        assert "is not a model name" in text_of(app, "#model-hint")
        await filter_to(app, pilot, SONNET)
        assert option_ids(app) == [f"typed:{SONNET}"]
        await pilot.press("s")
        await pilot.pause()
        assert app.state.tiers.sonnet == SONNET
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert active(app) == "review"


async def test_retry_after_fixing_the_key(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, WRONG_KEY)
        assert not app.state.catalog.probe.ok
        await pilot.press("f2")
        await pilot.pause()
        await paste(pilot, "#api-key", DEMO_KEY)
        await pilot.press("enter")
        await settle(pilot)
        assert active(app) == "tiers"
        assert app.state.catalog is not None and app.state.catalog.probe.ok
        assert text_of(app, "#catalog-status").startswith("✓")
        assert not app.query_one("#retry").display


async def test_r_retries_after_a_gateway_failure(ui_sandbox, gateway) -> None:
    gateway.faults.force_kind = "server"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert app.state.catalog.probe.cause is Cause.SERVER_ERROR
        assert describe(Cause.SERVER_ERROR).title in text_of(app, "#catalog-status")
        gateway.faults.force_kind = None
        app.query_one(ModelList).focus()
        await pilot.press("home", "r")  # a move in the list first: r is a key there then, not typing
        await settle(pilot)
        assert app.state.catalog.probe.ok
        assert len(option_ids(app)) == 6


async def test_ctrl_r_retries_from_the_filter_and_the_footer_shows_it(ui_sandbox, gateway) -> None:
    from textual.widgets import Footer

    gateway.faults.force_kind = "server"
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert not app.state.catalog.probe.ok
        assert app.focused is app.query_one("#model-filter", Input)  # where r is typed, not a retry
        assert "ctrl+r" in {key.key for key in app.query_one(Footer).query("FooterKey")}
        gateway.faults.force_kind = None
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.state.catalog.probe.ok
        assert app.query_one("#model-filter", Input).value == ""
        assert "ctrl+r" not in {key.key for key in app.query_one(Footer).query("FooterKey")}


async def test_extras_betas_and_display_names(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await filter_to(app, pilot, SONNET)
        await pilot.press("s")
        app.query_one("#no-betas").focus()
        await pilot.press("space")
        app.query_one("#names").focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.state.disable_experimental_betas is True
        # /v1/models gives no display names here, so the label is the model name without the provider.
        assert app.state.display_names == {"sonnet": "claude-sonnet-4-6 via OptScale"}
        plan = app.state.plan()
        assert plan is not None
        keys = {c.key: c.new for c in plan.changes}
        assert keys["env.CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"
        assert keys["env.ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"] == "claude-sonnet-4-6 via OptScale"
        # Turning the names off again removes them (nothing else is asked of the file).
        await pilot.press("space")
        await pilot.pause()
        assert app.state.display_names == {"haiku": "", "sonnet": "", "opus": ""}


async def test_without_a_connection_names_can_still_be_typed(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert "No connection yet" in text_of(app, "#catalog-status")
        assert app.state.catalog is None
        await filter_to(app, pilot, OPUS)
        await pilot.press("o")
        await pilot.pause()
        assert app.state.tiers.opus == OPUS


async def test_mapping_changed_elsewhere_shows_up_in_the_models_pane(ui_sandbox):
    """The app's state is the source of truth: a change made outside the pane (palette, fix-it) is shown."""
    from optscale_tui.core.connection import TierMapping
    from optscale_tui.ui.app import OptScaleApp
    from optscale_tui.ui.messages import TiersEdited

    app = OptScaleApp()
    async with app.run_test(size=(100, 32)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.post_message(TiersEdited(TierMapping(opus="anthropic/claude-opus-4-6")))
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert any("Opus " in line and "anthropic/claude-opus-4-6" in line for line in text.splitlines()), text


# --- models the key's catalog does not list ------------------------------------------------------------------------

FILE_TIERS = {"env": {"ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_SONNET_MODEL": SONNET,
                      "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS}}


def model_cell(app: OptScaleApp, target: str) -> str:
    return str(app.query_one(MappingTable).get_cell(target, "model"))


async def test_tiers_from_the_file_that_the_key_cannot_use_get_a_mark_and_no_check(ui_sandbox, gateway) -> None:
    """The reviewer's case: an OpenAI-only key, Anthropic tiers from the file; the pane said ✓ for all three."""
    from optscale_tui.demo.server import DEMO_KEY_OPENAI_ONLY

    ui_sandbox.seed(FILE_TIERS)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY_OPENAI_ONLY)
        assert text_of(app, "#catalog-status").startswith("✓ 2 models")
        for target, model in (("haiku", HAIKU), ("sonnet", SONNET), ("opus", OPUS)):
            assert model_cell(app, target) == f"! {model}"
        coverage = text_of(app, "#coverage")
        assert "✓" not in coverage and coverage.startswith("! ")
        assert (f"Haiku → {HAIKU}, Sonnet → {SONNET} and Opus → {OPUS} are not in this key's catalog: the gateway "
                "will refuse them.") in " ".join(coverage.split())
        text = screen_text(app)
        for model in (HAIKU, SONNET, OPUS):  # the mark is drawn, not scrolled off the 80 columns
            assert f"! {model}" in text, text
        assert app.query_one(MappingTable).max_scroll_x == 0
        # Replacing the tiers with models the key may use clears the marks and earns the ✓ ... unless a model is
        # not named for its tier (gpt-5 for all three), which is said as before.
        for key in "hso":
            await filter_to(app, pilot, "openai/gpt-5")
            await pilot.press(key)
            await pilot.pause()
        assert model_cell(app, "opus") == "openai/gpt-5"
        assert "not in this key's catalog" not in text_of(app, "#coverage")


async def test_a_typed_name_the_key_lacks_is_kept_but_marked(ui_sandbox, gateway) -> None:
    from optscale_tui.demo.server import DEMO_KEY_LIMITED

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY_LIMITED)
        await pilot.press("home", "f")  # home: a move in the list, where f is a key then  # Haiku and Sonnet from the catalog (Opus borrows Sonnet's)
        await pilot.pause()
        await filter_to(app, pilot, OPUS)
        assert option_ids(app) == [f"typed:{OPUS}"]
        await pilot.press("o")
        await filter_to(app, pilot, "openai/gpt-5")
        await pilot.press("a")
        await pilot.pause()
        tiers = app.state.tiers
        assert (tiers.haiku, tiers.sonnet, tiers.opus, tiers.subagent_model) == (HAIKU, SONNET, OPUS, "openai/gpt-5")
        assert (model_cell(app, "haiku"), model_cell(app, "sonnet")) == (HAIKU, SONNET)
        assert model_cell(app, "opus") == f"! {OPUS}"
        assert model_cell(app, "subagent_model") == "! openai/gpt-5"
        coverage = " ".join(text_of(app, "#coverage").split())
        assert coverage == (f"! Opus → {OPUS} and Subagents → openai/gpt-5 are not in this key's catalog: the "
                            "gateway will refuse them.")
        # An alias as the main model resolves to a tier: it is not a gateway id, so it is not marked.
        await filter_to(app, pilot, "sonnet")
        app.query_one(ModelList).highlighted = option_ids(app).index("typed:sonnet")
        await pilot.press("m")
        await pilot.pause()
        assert model_cell(app, "main_model") == "sonnet"


async def test_without_a_model_list_the_models_are_said_to_be_unchecked(ui_sandbox, gateway) -> None:
    ui_sandbox.seed(FILE_TIERS)
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # no connection yet
        await settle(pilot)
        coverage = " ".join(text_of(app, "#coverage").split())
        assert "✓" not in coverage and coverage.startswith("! ")
        assert "could not be checked against the gateway: no connection yet" in coverage
        await pilot.press("f2")
        await connect(app, pilot, gateway.base_url, WRONG_KEY)
        coverage = " ".join(text_of(app, "#coverage").split())
        assert "✓" not in coverage and "could not be checked against the gateway: no model list" in coverage
        assert model_cell(app, "opus") == OPUS  # nothing to mark without a catalog


# --- type-to-filter ----------------------------------------------------------------------------------------------


async def test_typing_in_the_list_goes_to_the_filter_and_the_assign_keys_still_work(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        field = app.query_one("#model-filter", Input)
        assert isinstance(app.focused, ModelList)
        await pilot.press("g", "p", "t")
        await pilot.pause()
        assert field.value == "gpt" and app.focused is field
        assert [i for i in option_ids(app) if not i.startswith("typed:")] == ["openai/gpt-4.1", "openai/gpt-5"]
        # Back in the list, h s o m a assign; the filter keeps its text.
        await pilot.press("down")
        await pilot.pause()
        assert isinstance(app.focused, ModelList)
        for key in "hsoma":
            await pilot.press(key)
            await pilot.pause()
        tiers = app.state.tiers
        assert {tiers.haiku, tiers.sonnet, tiers.opus, tiers.main_model, tiers.subagent_model} == {"openai/gpt-4.1"}
        assert field.value == "gpt"
        # A key the app binds keeps its meaning in the list: ? opens Help, it is not typed.
        from optscale_tui.ui.dialogs.help import HelpScreen

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and field.value == "gpt"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, ModelList)
        # Digits and signs go to the filter too, appended.
        await pilot.press("full_stop", "1")
        await pilot.pause()
        assert field.value == "gpt.1" and app.focused is field


async def test_a_burst_typed_in_the_list_reaches_the_filter_in_order(ui_sandbox, gateway) -> None:
    """tmux send-keys delivers "claude" at once: the keys queued for the list must not overtake each other."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        assert isinstance(app.focused, ModelList)
        for char in "claude":
            app.post_message(events.Key(char, char))
        await settle(pilot)
        assert app.query_one("#model-filter", Input).value == "claude"
        assert {i for i in option_ids(app) if not i.startswith("typed:")} == {HAIKU, SONNET, OPUS}


async def test_the_hint_without_a_catalog_points_nowhere_it_cannot(ui_sandbox) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # no connection: names are typed by hand
        await settle(pilot)
        hint = app.query_one("#model-hint", Static)
        words = str(hint.render()).split()
        assert "above" not in words  # nothing is above the field but the status line
        assert "OptScale" in words and "anthropic/claude-sonnet-4-6." in words
        drawn = screen_text(app)
        lines = drawn.splitlines()[hint.region.y:hint.region.bottom]
        assert " ".join(" ".join(line[hint.region.x:hint.region.right].split()) for line in lines).split() == words


async def test_a_new_key_s_catalog_starts_with_an_empty_filter(ui_sandbox, gateway) -> None:
    """The filter typed for one key's list hid all but one model of the next key's list."""
    from optscale_tui.demo.server import DEMO_KEY_LIMITED

    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await filter_to(app, pilot, "opus")
        assert [i for i in option_ids(app) if not i.startswith("typed:")] == [OPUS]
        await pilot.press("f2")
        await settle(pilot)
        await paste(pilot, "#api-key", DEMO_KEY_LIMITED)
        await pilot.press("enter")  # on to Models: the catalog is fetched for the new key
        await settle(pilot)
        assert active(app) == "tiers" and app.state.catalog is not None
        assert app.query_one("#model-filter", Input).value == ""
        assert set(option_ids(app)) == {m.id for m in app.state.catalog.models}
        assert len(option_ids(app)) > 1
        # r (a retry for the same key) keeps what is typed.
        await filter_to(app, pilot, "opus")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.query_one("#model-filter", Input).value == "opus"


async def test_after_a_restore_the_filter_is_empty(ui_sandbox, gateway) -> None:
    from textual.widgets import DataTable

    ui_sandbox.seed()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        await filter_to(app, pilot, OPUS)
        await pilot.press("o", "f4", "w", "y")
        await settle(pilot)
        await pilot.press("f3")
        await filter_to(app, pilot, HAIKU)
        await pilot.press("h", "f4", "w", "y")
        await settle(pilot)
        await pilot.press("f3")
        await filter_to(app, pilot, "opus")
        await pilot.press("f7")
        await settle(pilot)
        app.query_one("#backups-table", DataTable).focus()  # the newest backup: the file after the first save
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert app.state.tiers.haiku is None and app.state.catalog is not None  # same connection, same list
        await pilot.press("f3")
        await settle(pilot)
        assert app.query_one("#model-filter", Input).value == ""
        assert len([i for i in option_ids(app) if not i.startswith("typed:")]) > 1


async def test_typing_opus_then_sonnet_with_typos_maps_no_tier(ui_sandbox, gateway) -> None:
    """Issue 10 §5: with the list focused, "opus" mapped Opus to the highlighted model and left "pus" in the filter;
    "sonnet" typed after Enter mapped Sonnet and Opus to a mistyped name. Typed letters go to the filter."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        before = app.state.tiers
        field = app.query_one("#model-filter", Input)
        assert isinstance(app.focused, ModelList)  # the list arrived and took the focus
        await pilot.press(*"opus")
        await settle(pilot)
        assert field.value == "opus"
        assert app.state.tiers == before
        # A typo, Enter (which ends the filter and moves into the list), then the correction typed on.
        await pilot.press("ctrl+u", *"anthropic/claude-sonet-4-6", "enter")
        await settle(pilot)
        assert isinstance(app.focused, ModelList)
        await pilot.press(*"sonnet", "backspace", "backspace", "enter", *"sonnet", "backspace")
        await settle(pilot)
        await pilot.press(*"haiku", "enter", *"mosha")
        await settle(pilot)
        assert app.state.tiers == before
        assert app.query_one(MappingTable).get_cell("sonnet", "model") == "— unmapped"


async def test_tier_keys_map_after_a_move_in_the_list_and_with_alt_from_the_filter(ui_sandbox, gateway) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await connect(app, pilot, gateway.base_url, DEMO_KEY)
        field = app.query_one("#model-filter", Input)
        await pilot.press(*"sonnet")
        await settle(pilot)
        assert app.focused is field
        await pilot.press("alt+s")  # the modifier maps from the filter, where s is typed
        await settle(pilot)
        assert app.state.tiers.sonnet == SONNET and field.value == "sonnet"
        await pilot.press("ctrl+u", *"opus", "down", "o")  # ↓ moves into the list: o maps there
        await settle(pilot)
        assert app.state.tiers.opus == OPUS
        assert "alt+h" not in screen_text(app).splitlines()[-1]  # the Footer shows the plain keys now
        # / goes back to the filter; Enter there moves into the list, Enter in the list: the tier it is named for.
        await pilot.press("slash", "ctrl+u", *"haiku", "enter", "enter")
        await settle(pilot)
        assert app.state.tiers.haiku == HAIKU
