"""Save the verification report: where (a relative name lands in the folder the app was started in), and as
Markdown or JSON. Its styles are in panes/verify.tcss, loaded with the Verify pane that opens it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from optscale_tui.core.verify import report
from optscale_tui.ui.dialogs.base import Dialog
from optscale_tui.ui.format import display_path


class SaveReportScreen(Dialog[tuple[str, str] | None]):
    """Ask where to save the report, and as Markdown or JSON. A relative name is saved in `folder`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="report.cancel")]

    def __init__(self, default_name: str, folder: Path, *, demo: bool = False) -> None:
        super().__init__()
        self._default = default_name
        self._folder = folder
        self._demo = demo

    def compose(self) -> ComposeResult:
        with Vertical(id="save-report-dialog", classes="dialog"):
            yield Static("Save the verification report", classes="dialog-title")
            where = display_path(self._folder)
            started = " (where you started the app)" if self._demo else ""
            yield Static(f"Saved in {where}{started} unless you give a full path; the API key is masked in it.",
                         id="report-where", markup=False)
            if self._demo:
                yield Static("~ is the demo's sandbox, which is deleted when the app quits.", classes="muted",
                             id="report-demo-note", markup=False)
            yield Input(self._default, id="report-path")
            yield Select([("Markdown (.md)", "markdown"), ("JSON (.json)", "json")], value="markdown",
                         allow_blank=False, id="report-format")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="report-save", variant="primary")
                yield Button("Cancel (esc)", id="report-cancel")

    def on_mount(self) -> None:
        self.query_one("#report-path", Input).focus()

    @property
    def fmt(self) -> str:
        return str(self.query_one("#report-format", Select).value)

    @on(Select.Changed, "#report-format")
    def _format_changed(self) -> None:
        path = self.query_one("#report-path", Input)
        stem, fmt = path.value, self.fmt
        for ext in report.REPORT_FORMATS.values():
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
        path.value = stem + report.REPORT_FORMATS[fmt]

    @on(Input.Submitted, "#report-path")
    @on(Button.Pressed, "#report-save")
    def _save(self) -> None:
        value = self.query_one("#report-path", Input).value.strip()
        if not value:
            self.notify("Enter a file name.", severity="warning")
            return
        self.dismiss((value, report.format_for_path(value, self.fmt)))

    @on(Button.Pressed, "#report-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
