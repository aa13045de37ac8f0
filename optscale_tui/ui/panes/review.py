"""Step 3, Review: the masked diff of the settings file, why each line changes, what else overrides it, and Save.

Everything shown comes from core: `state.plan()` (plan_apply) gives the diff (the key already masked), the change
reasons and notices; `state.config` (inspect_environment) gives the findings; `save_plan` writes (in a thread
worker), refusing a file that changed on disk since it was read. A file that does not parse is never written: the
pane says where it breaks and offers Reload once it is fixed.

The pane is in one of four states (a ContentSwitcher of texts): loading, missing (no URL / key / tier yet), refused
(the file does not parse, or changed on disk) and plan (the diff, or "no changes"). The state's action (Write, Reload
or "← Go there") and Back / Next sit in a bar docked at the bottom of the pane, so they are on screen at 80×24 however
long the text above is; the diff takes the rows left between the text and the bar (it scrolls inside its own box).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.locations import Scope, claude_config_dir
from optscale_tui.core.clients.claude_code.models import CLAUDE_CODE_BUILTIN_MODELS
from optscale_tui.core.config.errors import SettingsChangedOnDisk, SettingsError
from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import Change, SettingsReloadRequested, SettingsSaved, StepRequested
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.diff_view import DiffView
from optscale_tui.ui.widgets.findings import FindingsList, home_relative
from optscale_tui.ui.widgets.step_nav import StepNav

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.widget import Widget

    from optscale_tui.core.config.plan import PlannedChange, SettingsPlan
    from optscale_tui.core.config.store import SaveResult
    from optscale_tui.core.connection import TierMapping
    from optscale_tui.core.diagnosis.findings import Finding

# Findings a save of this file does not fix: something else still decides what Claude Code uses.
OVERRIDING_CAUSES = frozenset({
    Cause.SHELL_API_KEY, Cause.PROJECT_OVERRIDE, Cause.CONFIG_DIR_OVERRIDE, Cause.MANAGED_LOGIN_REQUIRED,
    Cause.CLAUDE_LOGIN_PRESENT, Cause.SETTINGS_INVALID, Cause.KEY_SENT_ELSEWHERE,
})

NOTHING_OVERRIDES = ("✓ Nothing else overrides this file: no shell ANTHROPIC_API_KEY, project or managed settings, "
                     "or claude.ai login was found.")

# One row, for a short pane (80×24): the rows go to the diff, and the heading above it is left out.
NOTHING_OVERRIDES_SHORT = "✓ Nothing else overrides it (shell, project, managed settings, login)."

# The diff never gets fewer rows than this (the pane scrolls instead); below SHORT_PANE rows the buttons are compact.
DIFF_MIN_ROWS = 6
SHORT_PANE = 30


def refusal_text(error: SettingsError) -> str:
    """Why the file cannot be written, in plain words, with the line and column to fix."""
    where = f" at line {error.line}, column {error.column}" if error.line is not None else ""
    if isinstance(error, SettingsChangedOnDisk):
        return (f"✗ Not saved: {display_path(error.path)}: {error.reason}\n"
                "Press r (Reload) to read the new content; the changes are then planned against it.")
    info = describe(error.cause)
    return (f"✗ {error.cause}: {display_path(error.path)} cannot be used{where}: {error.reason}.\n"
            f"{info.message}\n"
            f"Fix: {info.fix} Then press r (Reload).")


def settings_change(count: int) -> str:
    """ "1 setting changes" / "5 settings change": the verb agrees with the count."""
    return "1 setting changes" if count == 1 else f"{count} settings change"


def unmapped_text(tiers: TierMapping) -> str:
    """The Models pane's coverage warning, in one line: each unmapped tier and the built-in name Claude Code sends
    for it instead (core's table). "" when every tier has a model."""
    mapped = tiers.mapped()
    sends = [f"{tier.capitalize()} → {CLAUDE_CODE_BUILTIN_MODELS[tier]}"
             for tier in ("opus", "sonnet", "haiku") if tier not in mapped]
    return f"! Unmapped; Claude Code would send: {', '.join(sends)}" if sends else ""


def gateway_text(state) -> str:
    """What the gateway already said about these values (the Models pane's catalog for this URL and key): a refused
    key, or mapped models the key's catalog lacks. Saving stays possible; the user should not learn it only from
    Verify. "" when the gateway has not been asked or had nothing against them."""
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.clients.claude_code.models import models_not_in_catalog
    from optscale_tui.ui.format import not_in_catalog_line

    catalog = state.catalog
    if catalog is None:
        return ""
    if not catalog.probe.ok:
        if catalog.probe.cause is Cause.AUTH_INVALID_KEY:
            return "! The gateway rejected this API key (auth_invalid_key): Claude Code will fail until it is replaced."
        return ""
    missing = models_not_in_catalog(state.tiers, [m.id for m in catalog.models])
    return not_in_catalog_line(missing) if missing else ""


def close_model(model: str, catalog_ids: list[str]) -> str | None:
    """The catalog model a mistyped name most likely meant ("anthropic/claude-sonet-4-6" → …sonnet-4-6)."""
    import difflib

    matches = difflib.get_close_matches(model, catalog_ids, n=1, cutoff=0.8)
    return matches[0] if matches else None


def save_warnings(state) -> list[str]:
    """The warnings that stand when Write is pressed, repeated in its dialog: each mapped model the key's catalog
    lacks (with the catalog model it is closest to), an unmapped Opus tier, a key the gateway rejected. The Models
    pane and Review say them too, but the dialog is where the decision is made."""
    from optscale_tui.core.clients.claude_code.models import models_not_in_catalog
    from optscale_tui.ui.format import LABELS

    lines: list[str] = []
    catalog = state.catalog
    if catalog is not None and catalog.probe.ok:
        ids = [m.id for m in catalog.models]
        for target, model in models_not_in_catalog(state.tiers, ids).items():
            near = close_model(model, ids)
            mean = f" Did you mean {near}?" if near else ""
            lines.append(f"! {LABELS[target]} → {model} is not in this key's catalog: the gateway will refuse it.{mean}")
    elif catalog is not None and catalog.probe.cause is Cause.AUTH_INVALID_KEY:
        lines.append("! The gateway rejected this API key: Claude Code will fail until it is replaced.")
    if not state.tiers.opus:
        lines.append(f"! Opus is unmapped: Claude Code's default session sends {CLAUDE_CODE_BUILTIN_MODELS['opus']}, "
                     "which the gateway does not know.")
    return lines


VALUE_CELLS = 44  # a longer value is shown with its middle elided: its start and its end (…/anthropic) both count


def shown_value(change: PlannedChange) -> str:
    """The value a change writes, as Review lists it (core's display form: secrets are masked already), a long value
    cut in the middle."""
    value = change.new if change.new is not None else change.old
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > VALUE_CELLS:
        half = (VALUE_CELLS - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def change_line(change: PlannedChange) -> str:
    """One row per change, the value first (at 80 columns the reason is what the ellipsis cuts, not the value)."""
    name = change.key.removeprefix("env.")
    if change.new is None:
        line = f"- {name} (removed, was {shown_value(change)})"
    else:
        line = f"{'+' if change.old is None else '~'} {name} = {shown_value(change)}"
    return f"{line}  — {change.reason}" if change.reason else line


class ReviewPane(Pane):
    """Pane "review": what will be written, and the Save action."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "save", "Write", id="review.save"),
        # w when there is nothing to write: out of the Footer (a dimmed "w Write" that did nothing, silently), and
        # pressing it says why.
        Binding("w", "why_not_saved", show=False, id="review.save.why"),
        Binding("r", "reload", "Reload", id="review.reload"),
    ]

    class SaveRefused(Message):
        """The save worker could not write (the file changed on disk, or the OS refused)."""

        def __init__(self, error: SettingsError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._refusal: SettingsError | None = None
        self._goto = "connect"  # where the "missing" state's button leads
        self._plan: SettingsPlan | None = None  # recomputed on every state change (the app broadcasts them all)
        self._diff_text: str | None = None  # the diff shown, as core made it

    def compose(self) -> ComposeResult:
        yield Static(id="review-target", markup=False)
        yield Static(id="review-config-dir", classes="warn-text", markup=False)
        with ContentSwitcher(initial="review-loading", id="review-state"):
            yield Static("Reading the settings file…", id="review-loading", classes="muted")
            with Vertical(id="review-missing"):
                yield Static(id="review-missing-text", markup=False)
            with Vertical(id="review-refused"):
                yield Static(id="review-refused-text", markup=False)
            with Vertical(id="review-plan"):
                yield Static(id="review-summary", markup=False)
                # What changes and why comes before the diff and the Write button: read before saving, not after.
                yield Static(id="review-reasons", markup=False)
                yield Static(id="review-notices", classes="warn-text", markup=False)
                yield Static(id="review-tiers", classes="warn-text", markup=False)
                yield Static(id="review-saved", markup=False)
        # Outside the switcher, so that its 1fr height is shared out by the pane itself (see review.tcss).
        yield DiffView(id="review-diff")
        yield Static("What else decides Claude Code's configuration", classes="review-heading")
        yield FindingsList(id="review-findings", empty_text=NOTHING_OVERRIDES)
        # Docked at the bottom of the pane; last in the DOM, so Tab reaches it after the diff and the findings.
        with Horizontal(id="review-bar"):
            yield Button("Write settings (w)", id="review-save", variant="success")
            yield Button("Reload (r)", id="review-reload")
            yield Button("← Go there", id="review-goto")
            yield StepNav(back="tiers", next_="verify")

    def on_resize(self, event: Resize) -> None:
        short = event.size.height < SHORT_PANE
        was_short = self.has_class("-short")
        self.set_class(short, "-short")
        for button in self.query("#review-bar Button").results(Button):
            button.compact = short
        if short != was_short:
            self._show_findings(self._plan)

    # --- state → widgets ------------------------------------------------------------------------------------

    def refresh_from_state(self, change: Change | None) -> None:
        if change in (Change.SETTINGS, Change.ALL):
            self._refusal = None  # a reload recomputes the plan against the new content
        state = self.state
        self._show_target()
        plan = self._plan = self._current_plan()
        switcher = self.query_one("#review-state", ContentSwitcher)
        before = switcher.current
        error = self._refusal or state.load_error
        if error is not None:
            self.query_one("#review-refused-text", Static).update(refusal_text(error))
            switcher.current = "review-refused"
        elif state.document is None:
            switcher.current = "review-loading"
        elif plan is None:
            self._show_missing()
            switcher.current = "review-missing"
        else:
            self._show_plan(plan)
            switcher.current = "review-plan"
        # The diff and the bar's buttons live outside the switcher: each is shown in its own state only.
        changes = switcher.current == "review-plan" and plan is not None and plan.has_changes
        self.query_one("#review-diff").display = changes
        self.query_one("#review-save").display = changes
        self.query_one("#review-reload").display = switcher.current == "review-refused"
        self.query_one("#review-goto").display = switcher.current == "review-missing"
        self._show_findings(plan)
        self.refresh_bindings()
        if switcher.current != before:
            self.call_after_refresh(self._keep_focus)

    def _keep_focus(self) -> None:
        """When the state switch hid the focused control (e.g. Reload), focus the new state's first control."""
        if self.host.current_pane != "review":
            return
        focused = self.app.focused
        if focused is None or (self in focused.ancestors and not self._shown(focused)):
            self.focus_first()

    def _shown(self, widget: Widget) -> bool:
        node: DOMNode | None = widget
        while node is not None and node is not self:
            if not node.display:
                return False
            node = node.parent
        return True

    def _current_plan(self) -> SettingsPlan | None:
        try:
            return self.state.plan()
        except SettingsError as exc:  # core refuses to build an edit it cannot verify
            self._refusal = exc
            return None

    def _show_target(self) -> None:
        target = self.state.target
        self.query_one("#review-target", Static).update(
            f"Target: {display_path(target.path)} — {target.scope}: {target.reason}")
        config = self.state.config
        note = self.query_one("#review-config-dir", Static)
        if config is not None and config.config_dir_override and target.scope is Scope.USER:
            note.update(f"! CLAUDE_CONFIG_DIR is set: Claude Code reads "
                        f"{display_path(claude_config_dir() / 'settings.json')}")
            note.display = True
        else:
            note.display = False

    def _show_missing(self) -> None:
        state = self.state
        if state.url is None:
            text, step, label = ("Nothing to review yet: there is no valid Base URL. Paste the Base URL from "
                                 "OptScale Chat on the Connect step.", "connect", "← Connect (F2)")
        elif state.key is None and state.stored_key is None:
            text, step, label = ("Nothing to review yet: there is no API key, and the file has none. Paste the "
                                 "key on the Connect step.", "connect", "← Connect (F2)")
        else:
            text, step, label = ("Nothing to review yet: no gateway model is mapped to a Claude Code tier. Pick "
                                 "at least the Opus tier on the Models step.", "tiers", "← Models (F3)")
        self.query_one("#review-missing-text", Static).update(text)
        button = self.query_one("#review-goto", Button)
        button.label = label
        self._goto = step

    def _show_plan(self, plan: SettingsPlan) -> None:
        state = self.state
        path = display_path(plan.document.path)
        summary = self.query_one("#review-summary", Static)
        saved = self.query_one("#review-saved", Static)
        last = state.last_save
        if last is not None and last.path != plan.document.path:
            last = None
        if plan.has_changes:
            count = len(plan.changes)
            if plan.document.exists:
                summary.update(f"{settings_change(count)}, key masked. Diff: - now, + after saving; ←/→ scroll:")
            else:
                settings = f"{count} setting{'s' if count != 1 else ''}"
                summary.update(f"Saving creates the file with {settings}, key masked. ←/→ scroll the diff:")
            summary.set_class(False, "ok-text")
            self._show_diff(plan.diff())
            saved.display = False
        else:
            # Say what happened, once: after a save "No changes" above "Saved" read as if nothing had been written.
            if last is not None and state.last_save_kind == "restored":
                summary.update(f"✓ Restored {path} from a backup: these are its values now. Next → Verify (ctrl+n).")
            elif last is not None:
                summary.update(f"✓ Saved {path}. Next → Verify (ctrl+n).")
            else:
                summary.update(f"✓ No changes: {path} already has these values. Next → Verify (ctrl+n).")
            summary.set_class(True, "ok-text")
            self._show_diff("")
            if last is not None:
                saved.update(self._saved_text(last, state, restored=state.last_save_kind == "restored"))
                saved.display = True
            else:
                saved.display = False
        self.query_one("#review-save", Button).disabled = not plan.has_changes
        self.query_one("#review-reasons", Static).update(
            "\n".join(change_line(c) for c in plan.changes))
        self.query_one("#review-reasons", Static).display = bool(plan.changes)
        notices = [*plan.document.notices, *plan.notices]
        notices_widget = self.query_one("#review-notices", Static)
        notices_widget.update("\n".join(f"! {home_relative(n)}" for n in notices))
        notices_widget.display = bool(notices)
        tiers = self.query_one("#review-tiers", Static)
        tiers.update("\n".join(line for line in (unmapped_text(state.tiers), gateway_text(state)) if line))
        tiers.display = bool(tiers.content)

    def _show_diff(self, text: str) -> None:
        """Set the diff only when it changed (every state broadcast lands here; a reader's scroll position stays),
        sized to its lines: it takes the rows left above the bar, never more than it has, never under
        DIFF_MIN_ROWS. A diff taller than its box starts at the first hunk, so the changed lines are in view."""
        diff = self.query_one("#review-diff", DiffView)
        if text == self._diff_text:
            return
        self._diff_text = text
        diff.set_diff(text)
        rows = len(diff.lines)
        diff.styles.max_height = max(rows, 1)
        diff.styles.min_height = min(rows, DIFF_MIN_ROWS)
        if text:
            diff.scroll_to_first_change()

    @staticmethod
    def _saved_text(result: SaveResult, state=None, *, restored: bool = False) -> str:
        """The backups a save made and, with `state`, what is left to do in Claude Code (core next_steps)."""
        lines: list[str] = []
        if result.backup is not None:
            lines.append(f"Backup: {display_path(result.backup)}")
        if result.original is not None:
            lines.append(f"Original kept for good: {display_path(result.original)}")
        if result.mode_tightened:
            lines.append("The file was readable by others; it is now private (0600).")
        if state is not None and not restored:
            from optscale_tui.core.diagnosis.next_steps import after_save_steps

            login = state.config is not None and any(
                f.cause is Cause.CLAUDE_LOGIN_PRESENT for f in state.config.findings)
            lines += ["", "Still to do in Claude Code:",
                      *after_save_steps(state.tiers, state.display_names, claude_login_present=login)]
        return "\n".join(lines)

    def _show_findings(self, plan: SettingsPlan | None) -> None:
        config = self.state.config
        findings: list[Finding] = []
        if config is not None:
            target = self.state.target.path
            removes_api_key = plan is not None and any(
                c.key == "env.ANTHROPIC_API_KEY" and c.new is None for c in plan.changes)
            api_key = config.variables.get("ANTHROPIC_API_KEY")
            for finding in config.findings:
                if finding.cause not in OVERRIDING_CAUSES:
                    continue
                if finding.cause is Cause.SETTINGS_INVALID and finding.detail.startswith(f"{target}:"):
                    continue  # this file itself: shown above as the reason it cannot be saved
                if (finding.cause is Cause.SHELL_API_KEY and removes_api_key and api_key is not None
                        and api_key.source_path == target):
                    continue  # this save removes it (the reason is in the change list)
                findings.append(finding)
        panel = self.query_one("#review-findings", FindingsList)
        short = self.has_class("-short")
        panel.empty_text = ((NOTHING_OVERRIDES_SHORT if short else NOTHING_OVERRIDES) if config is not None
                            else "Checking what else Claude Code reads (shell, project and managed settings)…")
        panel.set_items(findings)
        self.query_one(".review-heading").display = not (short and not findings and config is not None)

    # --- actions --------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self._savable_plan() is not None
        if action == "why_not_saved":
            return self._savable_plan() is None
        return True

    def _savable_plan(self) -> SettingsPlan | None:
        if self._refusal is not None or self.state.load_error is not None:
            return None
        plan = self._plan
        return plan if plan is not None and plan.has_changes else None

    def _why_not_savable(self) -> str:
        state = self.query_one("#review-state", ContentSwitcher).current
        if state == "review-refused":
            return "The settings file cannot be written as it is; the Review pane says why and how to reload."
        if state == "review-missing":
            return str(self.query_one("#review-missing-text", Static).content)
        if state == "review-loading":
            return "The settings file is still being read."
        return f"No changes: {display_path(self.state.target.path)} already has these values."

    def focus_first(self) -> None:
        current = self.query_one("#review-state", ContentSwitcher).current
        target = {"review-missing": "#review-goto", "review-refused": "#review-reload"}.get(current)
        if target is None and current == "review-plan":
            target = "#review-diff" if self.query_one("#review-diff").display else "#nav-next"
        if target is not None:
            # Keep the top of the pane (file, scope, summary) in view; the diff fits below it at 80×24.
            self.focus_from_top(self.query_one(target))
        else:
            super().focus_first()

    def action_why_not_saved(self) -> None:
        self.notify(self._why_not_savable(), title="Nothing to write", severity="warning")

    def action_save(self) -> None:
        plan = self._savable_plan()
        if plan is None:
            # Reached from the palette (the key is dimmed then): say why, as the pane does, not just beep.
            self.notify(self._why_not_savable(), title="Nothing written", severity="warning")
            return
        from optscale_tui.core.config.files import is_read_only
        from optscale_tui.ui.dialogs.save import save_question

        path = display_path(plan.document.path)
        count = len(plan.changes)
        warnings = save_warnings(self.state)
        # A read-only file (e.g. 0444) may have been locked on purpose: the question says so, and only a yes to it
        # lets core rewrite it (force); otherwise core refuses with settings_read_only.
        locked = is_read_only(plan.document.path)

        def answered(yes: bool | None) -> None:
            if yes:
                self._save(plan, force=locked)

        self.app.push_screen(save_question(path, settings_change(count), warnings, locked=locked), answered)

    def action_reload(self) -> None:
        self.query_one("#review-refused-text", Static).update("Reloading…")
        self.post_message(SettingsReloadRequested())

    @work(thread=True, exclusive=True, group="save")
    def _save(self, plan: SettingsPlan, force: bool = False) -> None:
        from optscale_tui.core.config.store import save_plan

        try:
            result = save_plan(plan, force=force)
        except SettingsError as exc:
            self.post_message(self.SaveRefused(exc))
            return
        # Bubbles on to the app, which reloads, takes what was saved as the edited values and broadcasts Change.SAVED.
        self.post_message(SettingsSaved.of_plan(result, plan, edited=True))

    @on(SettingsSaved)
    def _saved(self, event: SettingsSaved) -> None:
        # The pane says what was saved (the summary and the backups under it): no toast saying it again.
        self.call_after_refresh(self.query_one("#nav-next").focus)

    @on(SaveRefused)
    def _refused(self, event: SaveRefused) -> None:
        self._refusal = event.error
        self.refresh_from_state(None)
        self.notify(f"Not saved: {event.error.reason}", severity="error", timeout=8)
        self.query_one("#review-reload").focus()

    @on(Button.Pressed, "#review-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#review-reload")
    def _reload_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_reload()

    @on(Button.Pressed, "#review-goto")
    def _goto_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(StepRequested(self._goto))
