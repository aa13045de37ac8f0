"""Base class of the app's modal dialogs."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen
from textual.widgets import Footer

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog with its own Footer: the base screen's Footer would list the pane's keys, inert here, and
    not the dialog's."""

    def on_mount(self) -> None:
        # Textual runs every class's on_mount along the MRO, so subclasses keep theirs and get the Footer too.
        self.mount(Footer())
