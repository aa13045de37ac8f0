"""Placeholder: being built."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from optscale_tui.ui.widgets.step import StepView


class DesktopView(StepView):
    def compose(self) -> ComposeResult:
        yield Static("DesktopView")
