"""Start-up: what is deferred until after the first frame still arrives, and the paused collector always resumes."""

from __future__ import annotations

import gc

import pytest

from optscale_tui.ui import app as app_module
from optscale_tui.ui.app import OptScaleApp
from optscale_tui.ui.startup import pause_collector, resume_collector


@pytest.fixture
def collector_restored():
    was_enabled = gc.isenabled()
    yield
    gc.enable() if was_enabled else gc.disable()


async def test_the_collector_resumes_after_the_first_frame(ui_sandbox, collector_restored) -> None:
    pause_collector()
    assert not gc.isenabled()
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert gc.isenabled()


def test_run_app_resumes_the_collector_when_the_app_fails(ui_sandbox, collector_restored, monkeypatch) -> None:
    def broken_run(self) -> None:
        assert not gc.isenabled()  # paused while the app starts
        raise RuntimeError("the terminal went away")

    monkeypatch.setattr(OptScaleApp, "run", broken_run)
    with pytest.raises(RuntimeError):
        app_module.run_app()
    assert gc.isenabled()


def test_resume_is_idempotent(collector_restored) -> None:
    pause_collector()
    resume_collector()
    resume_collector()
    assert gc.isenabled()


async def test_deferred_panes_get_their_styles(ui_sandbox) -> None:
    """Only the Connect pane's stylesheet is parsed before the first frame; the others load with their panes."""
    app = OptScaleApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        sources = {path for path, _ in app.stylesheet.source}
        for pane in ("models", "review", "verify", "doctor", "backups", "desktop"):
            assert str(app_module.UI_DIR / "panes" / f"{pane}.tcss") in sources
        # A rule from models.tcss is in effect on the (not yet shown) Models pane.
        assert str(app.query_one("#model-list").styles.max_height) == "28vh"
        # The Connect pane's help and buttons, mounted right after the first frame, are in place.
        assert app.query_one("#where-help") and app.query_one("#nav-next")
