"""Doctor: the configuration Claude Code will really use, variable by variable, and what is wrong with it.

All of it is core's `inspect_environment` (state.config, loaded by the app's settings worker): values arrive
already masked (`display`), findings carry their cause id, message and fix. Refresh (r) reloads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, DataTable, Static

from optscale_tui.ui.format import display_path
from optscale_tui.ui.widgets.findings import FindingsList
from optscale_tui.ui.widgets.step import StepView

if TYPE_CHECKING:
    from optscale_tui.core.doctor import EffectiveConfig, EffectiveVariable

VALUE_WIDTH = 28  # cells; longer values are ellipsized so the table fits 80 columns


def ellipsize(text: str, width: int = VALUE_WIDTH) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def source_text(var: EffectiveVariable) -> str:
    if var.source_path is None:
        return f"{var.source} (shell)" if str(var.source) == "process" else str(var.source)
    return f"{var.source} {display_path(var.source_path)}"


def overrides_text(var: EffectiveVariable) -> str:
    """The lower layers this value wins over (they are ignored for this variable)."""
    if not var.overridden:
        return ""
    return "beats " + ", ".join(str(layer) for layer, _path in var.overridden)


class DoctorView(StepView):
    """Pane "doctor"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="doctor.refresh"),
        Binding("f", "fix", "Fix it", id="doctor.fix", tooltip="Show the diff of the automatic fix and apply it"),
    ]

    def action_fix(self) -> None:
        self.wizard.open_fixes()

    def compose(self) -> ComposeResult:
        yield Static(id="doctor-intro", markup=False)
        table: DataTable[str | Text] = DataTable(id="doctor-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="doctor-detail", markup=False)
        yield Static("Findings", classes="doctor-heading")
        yield FindingsList(id="doctor-findings", empty_text="✓ No problems found.")
        yield Button("Refresh (r)", id="doctor-refresh")

    def on_mount(self) -> None:
        table = self.query_one("#doctor-table", DataTable)
        table.add_column("Variable", key="name")
        table.add_column("Value", key="value")
        table.add_column("Source", key="source")
        table.add_column("Overrides", key="overrides")

    def refresh_from_state(self, what: str) -> None:
        if what not in ("all", "settings"):
            return  # the doctor shows what is on disk; only a (re)load changes it
        config = self.state.config
        intro = self.query_one("#doctor-intro", Static)
        if config is None:
            intro.update("Reading the configuration…" if self.state.document is None and self.state.load_error is None
                         else "The configuration could not be inspected. Press r to try again.")
            self._fill_table(None)
            self.query_one("#doctor-findings", FindingsList).set_items(())
            return
        intro.update(f"What Claude Code uses when started in {display_path(self.state.cwd)} (top layer wins):")
        self._fill_table(config)
        self.query_one("#doctor-findings", FindingsList).set_items(config.findings, config.notes)

    def _fill_table(self, config: EffectiveConfig | None) -> None:
        table = self.query_one("#doctor-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        if config is None:
            return
        rows = [*config.variables.values(), *config.top_level.values()]
        for var in rows:
            name = var.name if var.name in config.variables else f"{var.name} (top level)"
            table.add_row(name, ellipsize(var.display), source_text(var), overrides_text(var), key=name)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    @on(DataTable.RowHighlighted, "#doctor-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted row in full (the table ellipsizes long values)."""
        config = self.state.config
        name = str(event.row_key.value or "")
        var = None
        if config is not None:
            var = config.variables.get(name) or config.top_level.get(name.removesuffix(" (top level)"))
        detail = self.query_one("#doctor-detail", Static)
        if var is None:
            detail.update("")
            return
        lines = [f"{var.name} from {source_text(var)}:", var.display]
        if var.overridden:
            ignored = ", ".join(f"{layer} {display_path(path)}".strip() for layer, path in var.overridden)
            lines.append(f"ignored here (a higher layer wins): {ignored}")
        detail.update("\n".join(lines))

    def focus_first(self) -> None:
        table = self.query_one("#doctor-table")
        if table.display:
            table.focus(scroll_visible=False)  # keep the intro line above the table in view
            self.scroll_home(animate=False)
        else:
            super().focus_first()

    def action_refresh(self) -> None:
        self.query_one("#doctor-intro", Static).update("Refreshing…")
        self.wizard.load_settings()

    @on(Button.Pressed, "#doctor-refresh")
    def _refresh_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_refresh()
