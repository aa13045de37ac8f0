"""Doctor: the configuration Claude Code will really use, variable by variable, and what is wrong with it.

All of it is core's `inspect_environment` (state.config, loaded by the app's settings worker): values arrive
already masked (`display`), findings carry their cause id, message and fix. Refresh (r) reloads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, DataTable, Static

from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import Change, FixesRequested, SettingsReloadRequested
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.findings import FindingsList

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig, EffectiveVariable

VALUE_WIDTH = 28  # cells; the Value column's width when the pane's width is not known yet
MIN_VALUE_WIDTH = 12  # below this a value says nothing; the table then scrolls sideways instead
# One space before each cell (the table's cell_padding is 0): at 80 columns, DataTable's 1 on each side of every
# cell and an always-empty Overrides column left the values 14 cells, and every model read "anthropic/cl…".
CELL_PADDING = 1
GAP = " "


def ellipsize(text: str, width: int = VALUE_WIDTH) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def source_text(var: EffectiveVariable) -> str:
    if var.source_path is None:
        return f"{var.source} (shell)" if str(var.source) == "process" else str(var.source)
    return f"{var.source} {display_path(var.source_path)}"


def layer_name(layer: object) -> str:
    """A layer as a short table cell (the detail line under the table gives the path)."""
    return "shell" if str(layer) == "process" else str(layer)


def overrides_text(var: EffectiveVariable) -> str:
    """The lower layers this value wins over (they are ignored for this variable)."""
    if not var.overridden:
        return ""
    return "beats " + ", ".join(layer_name(layer) for layer, _path in var.overridden)


class DoctorPane(Pane):
    """Pane "doctor"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh", id="doctor.refresh"),
        Binding("f", "fix", "Fix it", id="doctor.fix", tooltip="Show the diff of the automatic fix and apply it"),
    ]

    def action_fix(self) -> None:
        self.post_message(FixesRequested())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fix":
            # Core decides which fixes apply (state.fixes); with none, f is hidden instead of offering a key that
            # can only say "no automatic fix applies here".
            return bool(self.state.fixes())
        return True

    def on_show(self) -> None:
        self.refresh_bindings()  # the fixes also follow the catalog (f shows only when one applies)

    def compose(self) -> ComposeResult:
        yield Static(id="doctor-intro", markup=False)
        table: DataTable[str | Text] = DataTable(id="doctor-table", cursor_type="row", zebra_stripes=True,
                                                 cell_padding=0)
        yield table
        yield Static(id="doctor-detail", markup=False)
        yield Static("Findings", classes="doctor-heading")
        yield FindingsList(id="doctor-findings", empty_text="✓ No problems found.")
        yield Button("Refresh (r)", id="doctor-refresh")

    def on_mount(self) -> None:
        self._add_columns(self.query_one("#doctor-table", DataTable))

    @staticmethod
    def _add_columns(table: DataTable, widths: tuple[int, int, int, int] | None = None,
                     overrides: bool = True) -> None:
        # Source and Overrides are what this pane is for: they come before the value, which is the column that
        # gets ellipsized to what is left of the width (the detail line shows it in full). Overrides only when a
        # value overrides another: an empty column took cells from the values.
        names = (("Variable", "name"), ("Source", "source"), ("Overrides", "overrides"), ("Value", "value"))
        for index, (label, key) in enumerate(names):
            if key == "overrides" and not overrides:
                continue
            table.add_column(GAP + label, key=key, width=widths[index] + CELL_PADDING if widths else None)

    def on_resize(self) -> None:
        if self.state.config is not None:
            self._fill_table(self.state.config)

    def refresh_from_state(self, change: Change | None) -> None:
        self.refresh_bindings()  # "Fix it" shows only when a fix applies
        if change not in (Change.ALL, Change.SETTINGS):
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
        # Columns too: a column keeps the widest width it ever had, and the values are narrower after a resize.
        table.clear(columns=True)
        if config is None:
            self._add_columns(table)
            return
        rows = [*config.variables.values(), *config.top_level.values()]
        cells = [(var.name if var.name in config.variables else f"{var.name} (top level)",
                  layer_name(var.source), overrides_text(var), var.display) for var in rows]
        with_overrides = any(overrides for _, _, overrides, _ in cells)
        width = self._value_width(cells, with_overrides)
        cells = [(name, layer, overrides, ellipsize(value, width)) for name, layer, overrides, value in cells]
        # Every column gets its width now, not measured from the cells when the table is next idle: a table cleared
        # and refilled on a resize is painted before that, with the headers' widths, and DataTable keeps those lines
        # cached (same update count, same size) until something else changes: every row read "ANTHROPI  user".
        self._add_columns(table, self._column_widths(cells), with_overrides)
        for name, layer, overrides, value in cells:
            row = (name, layer, overrides, value) if with_overrides else (name, layer, value)
            table.add_row(*(GAP + cell for cell in row), key=name)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    @staticmethod
    def _column_widths(cells: list[tuple[str, str, str, str]]) -> tuple[int, int, int, int]:
        """Each column's content width: its widest cell or its header."""
        header = ("Variable", "Source", "Overrides", "Value")
        widths = [max(cell_len(row[column]) for row in [header, *cells]) for column in range(4)]
        return widths[0], widths[1], widths[2], widths[3]

    def _value_width(self, cells: list[tuple[str, str, str, str]], with_overrides: bool = True) -> int:
        """What the other columns leave of the pane's width for the Value column."""
        available = self.scrollable_content_region.width
        if not available:
            return VALUE_WIDTH
        widths = self._column_widths(cells)
        used = widths[0] + widths[1] + (widths[2] + CELL_PADDING if with_overrides else 0) + 2 * CELL_PADDING
        return max(MIN_VALUE_WIDTH, available - used - CELL_PADDING)

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
            self.focus_from_top(table)
        else:
            super().focus_first()

    def action_refresh(self) -> None:
        self.query_one("#doctor-intro", Static).update("Refreshing…")
        self.post_message(SettingsReloadRequested())

    @on(Button.Pressed, "#doctor-refresh")
    def _refresh_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_refresh()
