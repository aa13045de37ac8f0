"""The Textual app. Screens drive the core service layer only; no rule is reimplemented here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

if TYPE_CHECKING:
    from optscale_tui.demo.session import DemoSession


class OptScaleApp(App[int]):
    TITLE = "optscale-tui"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, demo: DemoSession | None = None) -> None:
        super().__init__()
        self.demo = demo

    def compose(self) -> ComposeResult:
        yield Header()
        if self.demo:
            yield Static(
                f"Demo gateway: {self.demo.base_url}\nSandbox settings: {self.demo.settings_path}",
                id="welcome",
            )
        else:
            yield Static("optscale-tui", id="welcome")
        yield Footer()


def run_app(demo: DemoSession | None = None) -> int:
    app = OptScaleApp(demo=demo)
    app.run()
    return app.return_code or 0
