"""Claude Desktop: Connect-for-Desktop (its own configuration written through core's plan → diff → save path), and
the four values its Configure Third-Party Inference dialog asks for, each one copyable (OSC 52) for a Desktop on
another machine, with the steps from the OptScale documentation.

The top part shows where Desktop's configuration is (or would be created), the models with their Desktop labels and
the masked diff; `w` writes it after a confirmation, then says to restart Desktop and reads back what Desktop's log
said. `x` plans the removal (`desktop remove`), shows its masked diff and saves it after a confirmation; `v` runs
`desktop verify` (the shared probes on Desktop's values, then Desktop's own checks) into a checklist. Desktop's files
are read and written in thread workers that post a message back; the API key is only ever shown masked; copying it
puts the real key on the clipboard.
"""

from __future__ import annotations

import asyncio
import textwrap
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.core.clients.claude_code.models import strip_context_suffix
from optscale_tui.core.secrets import clean_outside_text
from optscale_tui.core.verify.report import plural
from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import Change, CopyRequested
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.checklist import Checklist
from optscale_tui.ui.widgets.diff_view import DiffView
from optscale_tui.ui.widgets.findings import home_relative

TIER_ORDER = ("opus", "sonnet", "haiku")  # Claude Code's default session follows the Opus tier
LABEL_WIDTH = 19
COPY_GROUP = Binding.Group("Copy")

INTRO = ("Claude Desktop ignores ~/.claude/settings.json: w writes its own configuration on this machine, with the "
         "values from Connect and Models.")
COPY_TITLE = ("Desktop on another machine? Copy the values (1–4 or enter; m: next model), or run "
              "optscale-tui desktop export there.")
STEPS = (
    "Help → Troubleshooting → Enable Developer Mode.",
    "Developer → Configure Third-Party Inference.",
    "Connection → Gateway: paste the Gateway Base URL (1) and API Key (2).",
    "Connection → Models: add the Model ID (3) and Display Name (4); m shows the next model to add "
    "(the first one added is the default).",
    "Apply Changes: Claude Desktop restarts by itself.",
    "Check you are signed in to the Gateway account and the models are in the model selector.",
)


class ValueList(OptionList):
    """The values; rows are laid out for the list's width, so a resize (or a scrollbar appearing) re-lays them."""

    def on_resize(self) -> None:
        view = next((a for a in self.ancestors if isinstance(a, DesktopPane)), None)
        if view is not None:
            view.refresh_from_state(None)  # a redraw of its own: nothing in the state changed


@dataclass(frozen=True)
class DesktopValue:
    id: str
    number: int
    label: str
    display: str  # what the screen shows (the key masked)
    copy: str | None  # what the clipboard gets; None when the value is missing
    missing: str = ""  # which step to complete when it is missing
    note: str = ""


class DesktopPane(Pane):
    """Values to paste into Claude Desktop (pane id "desktop")."""

    # The Footer shows the four copy keys as one group ("1234 Copy") so that Quit and Help still fit in 80 columns;
    # Help lists each one with its own description.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "copy('url')", "Copy URL", id="desktop.copy.url", tooltip="Copy the Gateway Base URL",
                group=COPY_GROUP),
        Binding("2", "copy('key')", "Copy key", id="desktop.copy.key", tooltip="Copy the Gateway API Key",
                group=COPY_GROUP),
        Binding("3", "copy('model')", "Copy model", id="desktop.copy.model", tooltip="Copy the Model ID",
                group=COPY_GROUP),
        Binding("4", "copy('name')", "Copy name", id="desktop.copy.name", tooltip="Copy the Display Name",
                group=COPY_GROUP),
        # In the copy group (it picks which model 3 and 4 copy), so that v and x fit the Footer at 80 columns.
        Binding("m", "next_model", "Next model", id="desktop.next_model", tooltip="Show the next mapped model",
                group=COPY_GROUP),
        Binding("w", "write", "Write", id="desktop.write",
                tooltip="Write Claude Desktop's configuration on this machine (asks first; backups kept)"),
        Binding("v", "verify", "Verify", id="desktop.verify",
                tooltip="Verify Claude Desktop's configuration: the same probes as Claude Code's, then Desktop's own"),
        Binding("x", "remove", "Remove", id="desktop.remove",
                tooltip="Switch Claude Desktop back to Anthropic's own service (asks first; backups kept)"),
    ]

    class RemovePlanned(Message):
        """The removal planned in a thread: the DesktopPlan, or why Desktop's files cannot be read."""

        def __init__(self, plan, error: str | None) -> None:
            super().__init__()
            self.plan, self.error = plan, error

    class RemoveSaved(Message):
        """The removal saved in a thread: the DesktopSaveResult (or the error) and the Desktop processes found."""

        def __init__(self, result, error: str | None, running: list[str]) -> None:
            super().__init__()
            self.result, self.error, self.running = result, error, running

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tier_index = 0
        self._plan = None  # the DesktopPlan for the values now (None: nothing can be written yet)
        self._connect_dirty = True
        self._after_write = ""
        self._after_remove = ""  # what the last removal said, until the values change or Desktop is written again

    def compose(self) -> ComposeResult:
        yield Static(INTRO, id="desktop-intro", markup=False)
        yield Static("Connect Claude Desktop on this machine", classes="desktop-heading", markup=False)
        yield Static(id="desktop-target", markup=False)
        yield Static(id="desktop-models", markup=False)
        yield DiffView(id="desktop-diff", empty_text="(nothing to change)")
        yield Static(id="desktop-status", markup=False)
        with Vertical(id="desktop-verify"):  # shown once v has run
            yield Static("Verify Claude Desktop", classes="desktop-heading", markup=False)
            yield Static(id="desktop-verify-status", markup=False)
            yield Checklist(id="desktop-checks", empty="Verifying…",
                            message_formatter=lambda result: home_relative(result.message))
        yield Static(COPY_TITLE, id="desktop-values-title", classes="desktop-heading", markup=False)
        yield ValueList(id="desktop-values", compact=True)
        yield Static(id="desktop-warning", markup=False)
        yield Static("Steps in Claude Desktop", classes="desktop-heading", markup=False)
        with Vertical(id="desktop-steps"):
            for number, text in enumerate(STEPS, 1):
                with Horizontal(classes="desktop-step"):
                    yield Static(f"{number}.", classes="desktop-step-number", markup=False)
                    yield Static(text, classes="desktop-step-text", markup=False)

    def focus_first(self) -> None:
        # The values are tall when nothing is entered yet; the pane must still open at its first line.
        self.focus_from_top(self.query_one("#desktop-values", OptionList))

    # --- values -------------------------------------------------------------------------------------------------

    def _models(self) -> list[tuple[str, str]]:
        mapped = self.state.tiers.mapped()
        return [(tier, mapped[tier]) for tier in TIER_ORDER if tier in mapped]

    def _display_name(self, tier: str, model: str) -> str:
        state = self.state
        name = state.display_names.get(tier)
        if name:
            return name
        model_id = strip_context_suffix(model)
        if state.catalog is not None:
            for info in state.catalog.models:
                if info.id == model_id and info.display_name:
                    return f"{info.display_name} via OptScale AI"
        if "claude" in model_id.lower():  # as in the OptScale guide: "Claude Sonnet via OptScale AI"
            return f"Claude {tier.capitalize()} via OptScale AI"
        return f"{model_id.rsplit('/', 1)[-1]} via OptScale AI"

    def values(self) -> list[DesktopValue]:
        state = self.state
        url, key = state.url, state.effective_key
        models = self._models()
        rows = [
            DesktopValue("url", 1, "Gateway Base URL", url.anthropic_base if url else "",
                         url.anthropic_base if url else None, "complete step 1 Connect (F2): paste the Base URL"),
            DesktopValue("key", 2, "Gateway API Key", key.masked if key else "", key.value if key else None,
                         "complete step 1 Connect (F2): paste the API key"),
        ]
        if models:
            self._tier_index %= len(models)
            tier, model = models[self._tier_index]
            note = f"{tier.capitalize()} tier, {self._tier_index + 1} of {len(models)}"
            model_id = strip_context_suffix(model)
            rows.append(DesktopValue("model", 3, "Model ID", model_id, model_id, note=note))
            name = self._display_name(tier, model)
            rows.append(DesktopValue("name", 4, "Display Name", name, name))
        else:
            missing = "complete step 2 Models (F3): map at least one tier"
            rows.append(DesktopValue("model", 3, "Model ID", "", None, missing))
            rows.append(DesktopValue("name", 4, "Display Name", "", None, missing))
        return rows

    def _prompt(self, value: DesktopValue, width: int) -> Content:
        room = max(20, width - LABEL_WIDTH)
        if value.copy is None:
            # Plain text on the warning's muted colour, as the checklist's badges: a bare $text-warning sat on the
            # highlighted row's cursor colour (about 1.5:1 in the light theme).
            text, style = f"! not set yet — {value.missing}", "$text on $warning-muted"
        else:
            text, style = value.display + (f"  ({value.note})" if value.note else ""), ""
        # Long values (the URL) wrap under the value column, never under the label.
        chunks = [text[i:i + room] for i in range(0, len(text), room)] if " " not in text or cell_len(
            text.split(" ")[0]) > room else textwrap.wrap(text, room)
        head = Content.assemble((f"{value.number} ", "bold $text-accent"),
                                (f"{value.label:<{LABEL_WIDTH - 2}}", "bold"))
        lines = [head + Content.styled(chunks[0], style)]
        lines += [Content(" " * LABEL_WIDTH) + Content.styled(chunk, style) for chunk in chunks[1:]]
        return Content("\n").join(lines)

    def refresh_from_state(self, change: Change | None) -> None:
        values_list = self.query_one("#desktop-values", OptionList)
        width = values_list.scrollable_content_region.width or 76
        highlighted = values_list.highlighted
        values = self.values()
        values_list.set_options([Option(self._prompt(v, width), id=v.id) for v in values])
        values_list.highlighted = highlighted if highlighted is not None else 0
        url = self.state.url
        warning = ""
        if url is not None and not url.is_https:
            warning = "! Claude Desktop needs https://; plain http only works with the demo."
        box = self.query_one("#desktop-warning", Static)
        box.update(warning)
        box.display = bool(warning)
        self._connect_dirty = True
        if change is not None:
            self._after_remove = ""
        pane = self.parent
        if pane is None or pane.display:  # hidden: read Desktop's files when shown, not on every key typed elsewhere
            self.refresh_connect()

    def on_show(self) -> None:
        if self._connect_dirty:
            self.refresh_connect()

    # --- Connect for Desktop ------------------------------------------------------------------------------------

    def refresh_connect(self) -> None:
        """Plan Desktop's configuration for the values now and show the target, the models, the diff and the log."""
        from optscale_tui.core.clients.claude_desktop.verify import read_desktop_log

        self._connect_dirty = False
        self._plan = None
        connect = desktop_connect(self.state)
        self.query_one("#desktop-target", Static).update(connect.target)
        self.query_one("#desktop-models", Static).update(connect.models)
        self._plan = connect.plan
        diff = self.query_one("#desktop-diff", DiffView)
        diff.set_diff(connect.plan.diff() if connect.plan else "")
        diff.display = connect.plan is not None
        lines = [connect.problem] if connect.problem else []
        if self._after_remove:
            lines.append(self._after_remove)
        if connect.plan is None or connect.plan.has_changes:
            self._after_write = ""  # the values changed since the write: what was said about it is over
        if self._after_write:
            lines.append(self._after_write)
        elif connect.plan is not None and connect.plan.has_changes:
            lines.append("w writes it (a backup of each file is kept). Desktop reads it at launch: quit it fully "
                         "and reopen it after writing.")
        elif connect.plan is not None:
            lines.append("Desktop's configuration already has these values.")
        if connect.library is not None and connect.library.applied is not None:
            report = read_desktop_log(connect.library.locations.log_file, since=connect.written)
            if report.lines:
                lines.append("Desktop's log said: " + report.lines[-1])
            elif connect.library.applied.id == "optscale-tui":
                lines.append("Desktop's log: nothing since the configuration was written yet (open Desktop, "
                             "then come back here).")
        self.query_one("#desktop-status", Static).update("\n".join(lines))

    def action_write(self) -> None:
        from optscale_tui.ui.dialogs.confirm import ConfirmScreen

        if self._connect_dirty:
            self.refresh_connect()
        plan = self._plan
        if plan is None:
            self.notify("Nothing can be written yet: see what the Desktop pane says above.", severity="warning")
            return
        if not plan.has_changes:
            self.notify("Desktop's configuration already has these values.")
            return
        files = [p.document.path for p in plan.plans if p.has_changes]
        body = (f"Write {len(files)} file{'s' if len(files) > 1 else ''} in "
                f"{display_path(plan.library.locations.folder)}: "
                + ", ".join(f.name for f in files)
                + ". A backup of each existing file is kept. Claude Desktop then has to be quit fully and reopened.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(plan)

        self.app.push_screen(ConfirmScreen("Write Claude Desktop's configuration?", body, yes="Write"), answered)

    def _write(self, plan) -> None:
        from optscale_tui.core.clients.claude_desktop import save_desktop_plan
        from optscale_tui.core.clients.claude_desktop.verify import running_desktop
        from optscale_tui.core.config.errors import SettingsError

        try:
            result = save_desktop_plan(plan)
        except (SettingsError, OSError) as exc:
            self.notify(f"Nothing was written: {getattr(exc, 'reason', None) or exc}", severity="error")
            self.refresh_connect()
            return
        running = running_desktop(plan.library.locations.os)
        self._after_write = f"Written ({len(result.results)} files, backups kept). {restart_notice(running)}"
        self._after_remove = ""
        self.query_one("#desktop-verify").display = False  # its results were about the configuration before
        self.notify(self._after_write, severity="warning" if running else "information")
        self.refresh_connect()

    # --- remove (`desktop remove`) --------------------------------------------------------------------------

    def action_remove(self) -> None:
        self._plan_removal()

    @work(thread=True, exclusive=True, group="desktop-remove")
    def _plan_removal(self) -> None:
        from optscale_tui.core.clients.claude_desktop import (
            desktop_locations,
            load_library,
            plan_desktop_remove,
        )
        from optscale_tui.core.config.errors import SettingsError

        try:
            plan, error = plan_desktop_remove(load_library(desktop_locations())), None
        except (SettingsError, OSError) as exc:
            plan, error = None, settings_problem(exc)
        self.post_message(self.RemovePlanned(plan, error))

    @on(RemovePlanned)
    def _removal_planned(self, event: RemovePlanned) -> None:
        from optscale_tui.ui.dialogs.confirm import ConfirmScreen

        event.stop()
        plan = event.plan
        if plan is None:
            self.notify(f"Nothing was removed: {event.error}", severity="error", timeout=8)
            return
        if not plan.has_changes:
            self.notify("Nothing to remove: Claude Desktop has no configuration from optscale-tui and is not set "
                        "to third-party inference.")
            return
        diff = self.query_one("#desktop-diff", DiffView)
        diff.set_diff(plan.diff())
        diff.display = True
        notes = " ".join(home_relative(n) for n in plan.notices)
        self.query_one("#desktop-status", Static).update(
            "Removing would change Desktop's files like this (keys masked)." + (f" {notes}" if notes else ""))

        def answered(yes: bool | None) -> None:
            if yes:
                self._save_removal(plan)
            else:
                self.refresh_connect()  # back to what w would write

        self.app.push_screen(ConfirmScreen("Remove optscale-tui's configuration from Claude Desktop?",
                                           removal_question(plan), yes="Remove"), answered)

    @work(thread=True, exclusive=True, group="desktop-remove")
    def _save_removal(self, plan) -> None:
        from optscale_tui.core.clients.claude_desktop import save_desktop_plan
        from optscale_tui.core.clients.claude_desktop.verify import running_desktop
        from optscale_tui.core.config.errors import SettingsError

        try:
            result, error = save_desktop_plan(plan), None  # the CLI's save: if one write fails, the others go back
        except (SettingsError, OSError) as exc:
            self.post_message(self.RemoveSaved(None, settings_problem(exc), []))
            return
        self.post_message(self.RemoveSaved(result, error, running_desktop(plan.library.locations.os)))

    @on(RemoveSaved)
    def _removal_saved(self, event: RemoveSaved) -> None:
        event.stop()
        if event.result is None:
            self.notify(f"Nothing was removed: {event.error}", severity="error", timeout=8)
            self.refresh_connect()
            return
        changed, removed = len(event.result.results), len(event.result.removed)
        self._after_remove = (f"Removed: Claude Desktop is back on Anthropic's own service ({plural(changed, 'file')} "
                              f"changed, {removed} removed; backups kept). {restart_notice(event.running)}")
        self._after_write = ""
        self.query_one("#desktop-verify").display = False  # its results were about the configuration before
        self.notify(self._after_remove, severity="warning" if event.running else "information")
        self.refresh_connect()

    # --- verify (`desktop verify`) --------------------------------------------------------------------------

    def action_verify(self) -> None:
        box = self.query_one("#desktop-verify")
        box.display = True
        self.query_one("#desktop-verify-status", Static).update("Verifying Claude Desktop's configuration…")
        self.query_one("#desktop-checks", Checklist).show_empty("Verifying…")
        self._show_verification()
        self._verify()

    def _show_verification(self) -> None:
        """Scroll the pane so that the verification's heading is its first line (once the layout has it)."""
        box = self.query_one("#desktop-verify")
        self.call_after_refresh(lambda: self.scroll_to_widget(box, top=True, animate=False))

    @work(exclusive=True, group="desktop-verify")
    async def _verify(self) -> None:
        from optscale_tui.core.clients.claude_desktop import desktop_locations, load_library
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.verify.desktop import verify_desktop
        from optscale_tui.core.verify.report import target_lines, verdict_line

        status = self.query_one("#desktop-verify-status", Static)
        try:
            library = await asyncio.to_thread(lambda: load_library(desktop_locations()))
        except (SettingsError, OSError) as exc:
            status.update(f"✗ Not verified: {settings_problem(exc)}")
            self.query_one("#desktop-checks", Checklist).show_empty("No checks ran.")
            return
        target, done = await verify_desktop(library, ca_bundle=self.state.ca_bundle)
        checklist = self.query_one("#desktop-checks", Checklist)
        checklist.plan(())
        for result in done.results:
            checklist.finish(result)
        shown = [clean_outside_text(home_relative(line), single_line=True) for line in target_lines(target)]
        status.update("\n".join([verdict_line(done), *shown]))  # the verdict first: it is what the user came for
        self._show_verification()

    # --- actions ------------------------------------------------------------------------------------------------

    def action_copy(self, value_id: str) -> None:
        value = next(v for v in self.values() if v.id == value_id)
        if value.copy is None:
            self.notify(f"No {value.label} yet: {value.missing}.", severity="warning")
            return
        shown = f" ({value.display})" if value.id != "url" else ""
        label = "the API key" if value.id == "key" else f"the {value.label}"
        self.post_message(CopyRequested(value.copy, f"Copied {label}{shown}."))

    def action_next_model(self) -> None:
        models = self._models()
        if len(models) > 1:
            self._tier_index = (self._tier_index + 1) % len(models)
            self.refresh_from_state(None)
        elif not models:
            self.notify("No model mapped yet: complete step 2 Models (F3).", severity="warning")

    @on(OptionList.OptionSelected, "#desktop-values")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.action_copy(event.option.id)


def restart_notice(running: list[str]) -> str:
    """What to do after Desktop's files changed: it reads them only at launch."""
    if running:
        return "Claude Desktop is running: quit it fully (not only its window) and open it again."
    return "Open Claude Desktop: it reads the configuration when it starts."


def removal_question(plan) -> str:
    files = [p.document.path.name for p in plan.plans if p.has_changes]
    removed = [doc.path.name for doc in plan.removals if doc.exists]
    parts = ([f"change {', '.join(files)}"] if files else []) + ([f"remove {', '.join(removed)}"] if removed else [])
    return (f"Switch Claude Desktop back to Anthropic's own service: {' and '.join(parts)} in "
            f"{display_path(plan.library.locations.folder)}. A backup of each file is kept. Claude Desktop then has "
            "to be quit fully and reopened.")


def settings_problem(exc: Exception) -> str:
    """A Desktop file that cannot be read or written, in one line (path as ~/…, line and column when known)."""
    path, line = getattr(exc, "path", None), getattr(exc, "line", None)
    at = f" (line {line}, column {getattr(exc, 'column', None)})" if line else ""
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return f"{display_path(path)}{at}: {reason}" if path else reason


@dataclass(frozen=True)
class DesktopConnect:
    """What the Connect-for-Desktop part shows (built from core; no widgets)."""

    target: str
    models: str
    plan: object | None = None  # core DesktopPlan
    problem: str = ""
    library: object | None = None  # core DesktopLibrary
    written: object | None = None  # when our entry was last written (local datetime), for the log read-back


def desktop_connect(state) -> DesktopConnect:
    """Plan Desktop's configuration for the app's values: the target folder, the models with their Desktop labels,
    and why nothing can be written yet when that is so."""
    import os
    from datetime import datetime

    from optscale_tui.core.clients.claude_desktop import (
        OUR_ENTRY_ID,
        DesktopModelRejected,
        DesktopValues,
        desktop_locations,
        desktop_models,
        load_library,
        plan_desktop_apply,
    )
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.connection import InputError

    locations = desktop_locations()
    where = display_path(locations.folder)
    try:
        library = load_library(locations)
    except SettingsError as exc:
        at = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        return DesktopConnect(f"Target: {where}", "", None,
                              f"! {display_path(exc.path)}{at}: {exc.reason}. Correct it first: a file that does "
                              "not parse is never rewritten.")
    found = "found" if library.exists else "not there yet; w creates it"
    target = f"Target: {where} ({found})"
    written = None
    ours = library.entry(OUR_ENTRY_ID)
    if ours is not None and ours.document.exists:
        written = datetime.fromtimestamp(os.stat(ours.document.path).st_mtime)
    catalog = [m.id for m in state.catalog.models] if state.catalog and state.catalog.probe.ok else []
    url = state.url
    try:
        models = desktop_models(state.tiers, labels=state.display_names, catalog=catalog)
    except DesktopModelRejected as exc:
        return DesktopConnect(target, f"! {exc.reason}", None, "", library, written)
    shown = ", ".join(f"{m.label}{' (default)' if i == 0 else ''}" for i, m in enumerate(models))
    models_line = f"Models: {shown}" if models else "Models: none mapped yet (Models, F3)"
    if url is None:
        return DesktopConnect(target, models_line, None, "! Enter the Base URL in Connect (F2) first.", library,
                              written)
    try:
        plan = plan_desktop_apply(library, DesktopValues(url, state.effective_key, models))
    except InputError as exc:
        return DesktopConnect(target, models_line, None, f"! {exc.reason}", library, written)
    return DesktopConnect(target, models_line, plan, "", library, written)
