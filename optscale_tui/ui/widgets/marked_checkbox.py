"""A Checkbox whose state reads without colour (NO_COLOR, monochrome terminals, screenshots).

Textual's Checkbox always draws an `X` and tells on from off by colour alone; this one draws `X` only when checked.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class MarkedCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button
