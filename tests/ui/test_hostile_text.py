"""The TUI against a hostile gateway: model ids and replies with escape sequences and the key are shown cleaned, an id
changed for display is never mapped, and a crash prints neither locals nor the key."""

from __future__ import annotations

import json

import pytest

from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.diff_view import DiffView
from optscale_tui.ui.widgets.model_picker import UNUSABLE_NOTE, ModelList
from optscale_tui.ui.widgets.stream_log import StreamLog
from tests.hostile.text_gateway import CLEAN_MODEL, HOSTILE_MODELS, KEY, HostileGateway, raw_control_chars
from tests.ui.screen import paste, run_all_checks, screen_text, settle


@pytest.fixture
def hostile():
    with HostileGateway() as gateway:
        yield gateway


def assert_clean(text: str) -> None:
    assert KEY not in text
    assert "HOSTILE-TEST-KEY" not in text
    assert not raw_control_chars(text), [c for c in raw_control_chars(text)][:5]


async def test_models_pane_shows_hostile_ids_cleaned_and_refuses_to_map_them(ui_sandbox, hostile) -> None:
    app = OptScaleApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await paste(pilot, "#base-url", hostile.base_url)
        await paste(pilot, "#api-key", KEY)
        await pilot.press("enter")
        await settle(pilot)
        models = app.query_one(ModelList)
        assert [o.id for o in models.options] == sorted(HOSTILE_MODELS)  # ids kept raw, only shown cleaned
        prompts = [str(o.prompt) for o in models.options]
        for prompt in prompts:
            assert_clean(prompt)
        assert sum(UNUSABLE_NOTE in p for p in prompts) == len(HOSTILE_MODELS) - 1
        assert_clean(screen_text(app))
        # s on each id that had to be cleaned maps nothing; on the clean one it maps it.
        clean_last = sorted(range(models.option_count), key=lambda i: models.options[i].id == CLEAN_MODEL)
        for index in clean_last:
            models.focus()
            models.highlighted = index
            await pilot.press("alt+s")  # maps from anywhere (a plain s right after focusing would go to the filter)
            await pilot.pause()
            expected = CLEAN_MODEL if models.options[index].id == CLEAN_MODEL else None
            assert app.state.tiers.sonnet == expected, models.options[index].id
        assert app.state.tiers.opus is None and app.state.tiers.haiku is None
        # Nor does the one-key fix suggest one of them (the catalog's Opus id carries an OSC 52).
        models.focus()
        await pilot.press("down")  # moved in the list: plain keys act on it now
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        # It ran (every tier is mapped now), and only to the one clean id.
        assert set(app.state.tiers.tiers().values()) == {CLEAN_MODEL}
        assert_clean(screen_text(app))


async def test_verify_log_and_checklist_show_hostile_replies_cleaned(ui_sandbox, hostile) -> None:
    ui_sandbox.seed({"env": {"ANTHROPIC_BASE_URL": hostile.anthropic_url, "ANTHROPIC_AUTH_TOKEN": KEY,
                             "ANTHROPIC_DEFAULT_HAIKU_MODEL": CLEAN_MODEL,
                             "ANTHROPIC_DEFAULT_SONNET_MODEL": CLEAN_MODEL,
                             "ANTHROPIC_DEFAULT_OPUS_MODEL": CLEAN_MODEL}})
    app = OptScaleApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await run_all_checks(pilot)
        log = app.query_one(StreamLog).text
        assert "pong" in log and "sk-bf-…cdef" in log
        assert_clean(log)
        assert "pwned" not in log  # the window title's text went with its sequence
        assert_clean(screen_text(app))
        checklist = app.query_one(Checklist)
        for option in checklist.options:
            assert_clean(str(option.prompt))


async def test_a_crash_prints_no_locals_and_no_key(ui_sandbox, capsys) -> None:
    """Textual's crash report shows every frame's locals: the key, six times, with a settings file holding it."""
    ui_sandbox.seed({"env": {"ANTHROPIC_AUTH_TOKEN": KEY}})
    app = OptScaleApp()

    def crash() -> None:
        the_key_in_a_local = KEY
        raise RuntimeError(f"broken while holding {the_key_in_a_local}\x1b]0;title\x07")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.state.stored_key == KEY
            app.call_later(crash)
            await pilot.pause()
    err = capsys.readouterr().err
    assert "RuntimeError: broken while holding sk-bf-…cdef" in err
    assert "the_key_in_a_local =" not in err and "locals" not in err.lower()
    assert_clean(err)
    assert app.return_code == 1


async def test_hostile_values_in_the_settings_file_are_drawn_cleaned(ui_sandbox) -> None:
    """A settings file (a project's is anyone's text) with escape sequences in model names, one of them a raw C1
    character (JSON allows those unescaped): the Models pane, Review's diff and Doctor draw them cleaned."""
    env = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "opus\x1b]0;title\x07x", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "haiku\x9b2Jx",
           "ANTHROPIC_DEFAULT_SONNET_MODEL": "sonnet\x1b[2Jx"}
    ui_sandbox.seed(text=json.dumps({"env": env}, ensure_ascii=False, indent=2) + "\n")
    app = OptScaleApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for pane in ("f3", "f4", "f6"):
            await pilot.press(pane)
            await settle(pilot)
            assert_clean(screen_text(app))
        # A diff line with a raw C1 character (Review draws plan.diff() line by line) …
        review_diff = app.query_one("#review-diff", DiffView)
        review_diff.set_diff('+    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "haiku\x9b2Jx"')
        assert_clean("\n".join(review_diff.lines))
        # … and a toast quoting such a value, or a key.
        app.query_one(ModelList).notify("toast quoting opus\x1b]0;title\x07x and " + KEY)
        await pilot.pause()
        for notification in app._notifications:
            assert_clean(notification.message + notification.title)
