"""The Textual app: a four-step wizard (Connect → Models → Review → Verify) plus Doctor, Backups and Desktop panes.

The app owns `WizardState` and is the only place that changes it. Panes (ui/panes/) and dialogs (ui/dialogs/) never
import this module: they read the state through `PaneHost` (ui/state.py) and post typed messages (ui/messages.py:
ConnectionEdited, TiersEdited, CatalogFetched, StepRequested…); the app updates the state and broadcasts StateChanged
with the Change. All file and network work happens in workers, which post their results as messages, so the UI
thread never blocks; nothing is read before the first frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from optscale_tui.core.clients.claude_code.locations import Scope, resolve_target
from optscale_tui.ui.messages import (
    CatalogFetched,
    Change,
    ConnectionEdited,
    CopyRequested,
    FixesRequested,
    Notice,
    ProfilePickerRequested,
    SettingsLoaded,
    SettingsReloadRequested,
    SettingsSaved,
    StateChanged,
    StepRequested,
    TiersEdited,
)
from optscale_tui.ui.panes import PANES, WIZARD
from optscale_tui.ui.startup import pause_collector, resume_collector
from optscale_tui.ui.state import WizardState
from optscale_tui.ui.widgets.step_bar import PaneSlot, StepBar

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.plan import SettingsDocument
    from optscale_tui.demo.session import DemoSession
    from optscale_tui.ui.panes.base import Pane

QUIT_FOLLOW_INTERVAL = 0.2  # seconds between re-checks of the quit dialog's reasons
QUIT_NOTHING_LOST = "Nothing is unsaved or running any more: quitting now loses nothing."
UI_DIR = Path(__file__).parent


def _actions_provider():
    """The palette's provider, imported when the palette first opens (textual.command is not cheap)."""
    from optscale_tui.ui.commands import ActionsProvider

    return ActionsProvider


class OptScaleApp(App[None]):
    # Only the first pane's styles are parsed before the first frame; the others load with their panes.
    CSS_PATH: ClassVar[list[str]] = [str(UI_DIR / "app.tcss"), str(UI_DIR / "panes" / "connect.tcss")]
    TITLE = "optscale-tui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_actions_provider}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "step('next')", "Next", id="nav.next"),
        Binding("alt+right", "step('next')", "Next", show=False, id="nav.next.alt"),
        Binding("alt+left", "step('back')", "Back", show=False, id="nav.back.alt"),
        *(Binding(key, f"step('{pane}')", label.split(" ", 1)[-1], show=False, id=f"go.{pane}")
          for pane, label, key in PANES),
        Binding("f1", "help", "Help", id="help"),
        Binding("question_mark", "help", "Help", show=False, id="help.alt"),
        # ctrl+q is the Quit the Footer shows: it works even while an Input has the focus (where q is typed).
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit.ctrl"),
        Binding("q", "request_quit", "Quit", show=False, id="quit"),
    ]

    def __init__(
        self,
        *,
        demo: DemoSession | None = None,
        settings_path: Path | None = None,
        scope: Scope = Scope.USER,
        cwd: Path | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        super().__init__()
        self.demo = demo
        cwd = cwd or Path.cwd()
        target = resolve_target(explicit=settings_path, scope=scope, cwd=cwd)
        self.state = WizardState(target=target, cwd=cwd, ca_bundle=ca_bundle)
        # optscale-tui's own config (profiles): the demo keeps its own inside the sandbox.
        from optscale_tui.core.app_config import default_config_path

        self.config_path = (demo.root / ".config" / "optscale-tui" / "config.toml" if demo is not None
                            else default_config_path())
        self.active_profile: str | None = None  # the profile that last filled Connect and Models (app bar)
        from optscale_tui.ui.preferences import StoredPreferences

        self.stored_preferences = StoredPreferences(self.config_path)
        self.stored_preferences.apply_at_start(self)  # the theme; OPTSCALE_TUI_THEME still wins
        if os.environ.get("OPTSCALE_TUI_THEME"):
            self.theme = os.environ["OPTSCALE_TUI_THEME"]

    # --- layout ---------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Only the first pane is imported and built before the first frame; the others follow right after it
        # (see on_mount), so the app appears as fast as a bare Textual app.
        from optscale_tui.ui.panes.connect import ConnectPane

        # One line of context instead of Textual's Header: which file this run writes, and whether it is the demo.
        yield Static(self._app_bar_text(), id="app-bar", markup=False)
        yield StepBar([(pane, label) for pane, label, _key in PANES], steps=len(WIZARD), active="connect",
                      id="steps")
        with ContentSwitcher(initial="connect", id="panes"):
            for pane, _label, _key in PANES:
                with PaneSlot(id=pane):
                    if pane == "connect":
                        yield ConnectPane(id="connect-view")
        yield Footer()

    def _app_bar_text(self) -> str:
        from optscale_tui.ui.format import display_path

        target = self.state.target
        where = f"writes {display_path(target.path)} ({target.scope})"
        profile = f" · profile {self.active_profile}" if self.active_profile else ""
        return f"{self.TITLE}{profile} · {where}" + (" · demo: sandbox HOME" if self.demo is not None else "")

    def refresh_app_bar(self) -> None:
        bar = self.query_one("#app-bar", Static)
        if not bar.has_class("-focus-note"):
            bar.update(self._app_bar_text())

    @on(StepBar.FocusChanged)
    def _step_bar_focus(self, event: StepBar.FocusChanged) -> None:
        bar = self.query_one("#app-bar", Static)
        bar.update(StepBar.FOCUS_NOTE if event.focused else self._app_bar_text())
        bar.set_class(event.focused, "-focus-note")

    def on_mount(self) -> None:
        # Nothing is read from disk before the first frame: the settings load right after it.
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        resume_collector()
        self.load_settings()
        self._mount_other_panes()
        self.stored_preferences.follow(self)  # a theme chosen from now on is stored

    def _mount_other_panes(self) -> None:
        from optscale_tui.ui.panes.backups import BackupsPane
        from optscale_tui.ui.panes.desktop import DesktopPane
        from optscale_tui.ui.panes.doctor import DoctorPane
        from optscale_tui.ui.panes.models import ModelsPane
        from optscale_tui.ui.panes.review import ReviewPane
        from optscale_tui.ui.panes.verify import VerifyPane

        views: dict[str, type[Pane]] = {"tiers": ModelsPane, "review": ReviewPane, "verify": VerifyPane,
                                        "doctor": DoctorPane, "backups": BackupsPane, "desktop": DesktopPane}
        self._load_pane_css(views.values())
        for pane, view in views.items():
            self.query_one(f"#{pane}", PaneSlot).mount(view(id=f"{pane}-view"))

    def _load_pane_css(self, views: Iterable[type[Pane]]) -> None:
        """Add the panes' stylesheets (beside each pane's module), in the same order and with the same weight as
        CSS_PATH entries (this is what Textual itself does for a screen's CSS_PATH)."""
        import sys

        sheet = self.stylesheet
        for view in views:
            path = str(Path(sys.modules[view.__module__].__file__ or "").with_suffix(".tcss"))
            if not sheet.has_source(path):
                sheet.read(path)
        sheet.reparse()
        sheet.update(self)

    # --- state changes --------------------------------------------------------------------------------------

    def broadcast(self, change: Change | str) -> None:
        from optscale_tui.ui.panes.base import Pane

        change = Change(change)  # a misspelt change fails here, not silently in every pane
        for view in self.query(Pane):
            view.post_message(StateChanged(change))

    class _SettingsRead(Message):
        """load_settings' worker read the files (the app takes them on its own thread)."""

        def __init__(self, document: SettingsDocument | None, error: SettingsError | None,
                     config: EffectiveConfig | None, adopt: tuple[str, ...] | None) -> None:
            super().__init__()
            self.document, self.error, self.config, self.adopt = document, error, config, adopt

    @work(thread=True, exclusive=True, group="settings")
    def load_settings(self, adopt: tuple[str, ...] | None = ()) -> None:
        """Read the settings file and the effective configuration (file I/O: a worker thread). `adopt`: the settings
        keys a save just wrote to it (None: all of them), taken as the edited values once read (WizardState.adopt)."""
        from optscale_tui.core.config.errors import SettingsError
        from optscale_tui.core.config.plan import load_settings
        from optscale_tui.core.diagnosis.desktop import with_desktop_findings
        from optscale_tui.core.diagnosis.doctor import inspect_environment

        state = self.state
        try:
            document, error = load_settings(state.target.path), None
        except SettingsError as exc:
            document, error = None, exc
        try:
            config = inspect_environment(cwd=state.cwd,
                                         user_settings=state.target.path if state.target.scope is Scope.USER else None)
            config = with_desktop_findings(config)  # the Doctor pane reports Claude Desktop's managed configuration
        except Exception:  # the doctor must never stop the app from starting
            config = None
        self.post_message(self._SettingsRead(document, error, config, adopt))

    @on(_SettingsRead)
    def _settings_read(self, event: _SettingsRead) -> None:
        self._settings_loaded(event.document, event.error, event.config, event.adopt)

    def _settings_loaded(self, document, error, config, adopt: tuple[str, ...] | None = ()) -> None:
        from optscale_tui.core.clients.claude_code.schema import stored_values

        state = self.state
        first_load = state.document is None and state.load_error is None
        adopted = state.adopt(document, adopt) if document is not None and adopt != () else set()
        state.document, state.load_error, state.config = document, error, config
        if first_load and document is not None:
            # Prefill from the file in effect when it already has our keys (what was entered meanwhile stays).
            stored = stored_values(document)
            if stored.base_url_text and not state.base_url_text:
                state.base_url_text, state.url = stored.base_url_text, stored.url
            if not state.tiers.any_tier:
                state.tiers = stored.tiers
            if state.disable_experimental_betas is None:
                state.disable_experimental_betas = stored.disable_experimental_betas
        if self.demo is not None and first_load and not state.base_url_text:
            from optscale_tui.core.connection import parse_base_url

            state.base_url_text = self.demo.base_url
            state.url = parse_base_url(self.demo.base_url)
        self.post_message(SettingsLoaded())
        self.broadcast(Change.SETTINGS)
        if adopted:
            self.broadcast(Change.ADOPTED)  # the edited values changed to the file's: fields showing them follow

    @on(ConnectionEdited)
    def _connection_edited(self, event: ConnectionEdited) -> None:
        state = self.state
        changed = (state.url, state.key) != (event.url, event.key)
        state.base_url_text, state.url, state.key = event.base_url_text, event.url, event.key
        if changed:
            state.catalog = None  # the catalog belongs to a URL + key
            self.broadcast(Change.CONNECTION)

    @on(TiersEdited)
    def _tiers_edited(self, event: TiersEdited) -> None:
        state = self.state
        state.tiers = event.tiers
        if event.disable_experimental_betas is not None or event.display_names is not None:
            state.disable_experimental_betas = event.disable_experimental_betas
        if event.display_names is not None:
            state.display_names = dict(event.display_names)
        self.broadcast(Change.TIERS)

    @on(SettingsSaved)
    def _settings_saved(self, event: SettingsSaved) -> None:
        state = self.state
        state.last_save = event.result
        state.last_save_kind = "restored" if event.saved is None else "saved"
        # The new file becomes the baseline for the next plan. Written to the file the app edits (a save, a fix, a
        # restore), what it wrote becomes the edited values too; another file (a project fix) only changes what is
        # shown about the configuration.
        ours = os.path.realpath(event.result.path) == os.path.realpath(state.target.path)
        self.load_settings(adopt=event.saved if ours else ())
        self.broadcast(Change.SAVED)
        if event.edited and self.active_profile:
            from optscale_tui.ui.dialogs.profiles import record_profile_written

            record_profile_written(self, self.active_profile)  # as `profile use` does once it wrote the file

    @on(CatalogFetched)
    def _catalog_fetched(self, event: CatalogFetched) -> None:
        state = self.state
        if (state.url, state.effective_key) != (event.url, event.key):
            return  # the connection changed meanwhile: this catalog belongs to the old one
        state.catalog = event.catalog  # dropped again when the connection changes
        # Connect (a rejected key) and Review (models the key cannot use) say what the gateway answered.
        self.broadcast(Change.CATALOG)

    @on(SettingsReloadRequested)
    def _reload_requested(self) -> None:
        self.load_settings()

    @on(FixesRequested)
    def _fixes_requested(self, event: FixesRequested) -> None:
        self.open_fixes(event.causes, event.config)

    @on(CopyRequested)
    def _copy_requested(self, event: CopyRequested) -> None:
        self.copy_and_say(event.text, event.said)

    @on(ProfilePickerRequested)
    def _profile_picker_requested(self) -> None:
        from optscale_tui.ui.dialogs.profiles import open_profile_picker

        open_profile_picker(self)

    @on(StepRequested)
    def _step_requested(self, event: StepRequested) -> None:
        # Reaches the app only when no pane's guard stopped it (see action_step).
        self._show(self._resolve(event.step))

    @on(StepBar.Chosen)
    def _step_bar_chosen(self, event: StepBar.Chosen) -> None:
        self._show(event.pane, focus=False)  # ←/→ on the bar: the focus stays there, as on a tab row

    # --- actions --------------------------------------------------------------------------------------------

    @property
    def current_pane(self) -> str:
        return self.query_one("#panes", ContentSwitcher).current or WIZARD[0]

    def _view(self, pane: str) -> Pane | None:
        from optscale_tui.ui.panes.base import Pane

        for view in self.query(Pane):
            if view.id == f"{pane}-view":
                return view
        return None

    def _resolve(self, step: str) -> str | None:
        """The pane a step request means: a pane id as is, "next"/"back" along the wizard (None: nowhere)."""
        if step not in ("next", "back"):
            return step
        current = self.current_pane
        if current not in WIZARD:
            return None
        index = WIZARD.index(current) + (1 if step == "next" else -1)
        return WIZARD[index] if 0 <= index < len(WIZARD) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.screen is not self.screen_stack[0]:
            # Behind a dialog the panes' moves and Help would act on what the dialog hides; ctrl+q still quits.
            return action in ("quit", "request_quit") if action in ("step", "help", "quit", "request_quit") else True
        if action == "step" and parameters and parameters[0] in ("next", "back"):
            # Hidden where there is nowhere to go (Verify's next, Connect's back, the panes outside the wizard).
            return self._resolve(str(parameters[0])) is not None
        return True

    def action_step(self, step: str) -> None:
        if step in ("next", "back"):
            # Next/Back go through the current pane's guard (its "not ready" check), exactly as its own Next
            # button does; unless the pane stops it, the request bubbles back up to _step_requested.
            view = self._view(self.current_pane)
            if view is not None:
                view.post_message(StepRequested(step))
                return
        self._show(self._resolve(step))

    def _show(self, pane: str | None, *, focus: bool = True) -> None:
        if pane is None:
            return
        self.query_one("#panes", ContentSwitcher).current = pane  # shown at once (display), drawn by the next layout
        self.query_one("#steps", StepBar).active = pane
        # Verify's replies stream at the bottom, where toasts appear: on that pane they go to the top (app.tcss).
        self.screen.set_class(pane == "verify", "-notices-top")
        self.refresh_bindings()  # Next/Back in the Footer follow the pane
        if not focus:
            return
        # Focus now, so that the very next key already goes to the new pane and not to a control of the hidden one.
        self._focus_pane(pane)
        # A Hide queued for one of its controls before it was shown (the pane was left and re-entered between two
        # layouts) blurs that control again and leaves nothing focused: check once the pane is really drawn.
        self.call_after_refresh(self._ensure_focus, pane)

    def _focus_pane(self, pane: str) -> None:
        view = self._view(pane)
        if view is not None:
            view.focus_first()

    def _ensure_focus(self, pane: str, tries: int = 3) -> None:
        if tries <= 0 or self.current_pane != pane or self.screen is not self.screen_stack[0]:
            return  # done, or the user moved on, or a dialog opened: its focus is not ours to change
        view = self._view(pane)
        if view is None:
            return
        focused = self.screen.focused
        # Lost (None) or left in another, hidden pane; the step bar or anything the user chose meanwhile stays.
        if focused is None or (view not in focused.ancestors_with_self
                               and any(isinstance(node, PaneSlot) for node in focused.ancestors)):
            view.focus_first()
        self.call_after_refresh(self._ensure_focus, pane, tries - 1)  # a late Hide may still be queued

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette entries, without the ones that our own commands already say better."""
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                # Textual's says "as soon as possible", but action_quit asks first: one Quit, described truly.
                yield command._replace(help="Leave optscale-tui (asks first when something is unsaved or running)",
                                       callback=self.action_request_quit)
            elif command.title == "Theme":
                yield command._replace(help="Choose the colour theme: textual-dark, textual-light, nord, solarized…")
            else:
                yield command

    def copy_and_say(self, text: str, said: str) -> None:
        """Copy `text` over OSC 52 and toast `said` (masked words, never the text), or, inside a tmux that drops
        OSC 52, say that and how to turn it on. Reading tmux's option runs in a thread (a subprocess)."""
        self.copy_to_clipboard(text)
        self._say_copied(said)

    @work(thread=True, group="clipboard")
    def _say_copied(self, said: str) -> None:
        from optscale_tui.ui.clipboard import tmux_clipboard_problem

        problem = tmux_clipboard_problem()
        if problem is None:
            self.post_message(Notice(said))
        else:
            self.post_message(Notice(f"{said.rstrip('.')}, but {problem}", title="Sent with OSC 52",
                                     severity="warning", timeout=10))

    @on(Notice)
    def _notice(self, event: Notice) -> None:
        self.notify(event.text, title=event.title, severity=event.severity, timeout=event.timeout)

    def open_fixes(self, causes: tuple = (), config=None) -> None:
        """Offer the mechanical fixes for the doctor's findings (plus `causes` found by a verification; `config` is
        that verification's view of the settings when it was not the settings in effect)."""
        from optscale_tui.ui.dialogs.fix import FixScreen

        fixes = self.state.fixes(causes, config)
        fixes.sort(key=lambda fix: fix.cause not in causes)  # what the verification just found comes first
        if not fixes:
            self.notify("No automatic fix applies here; each finding lists what to do.", title="Fix it")
            return

        screen = FixScreen(fixes)

        def done(result) -> None:
            if result is not None:
                from optscale_tui.ui.format import display_path

                backup = f" Backup: {display_path(result.backup)}" if result.backup else ""
                self.notify(f"Saved {display_path(result.path)}.{backup}", title="Fix applied")
                self.post_message(SettingsSaved.of_plan(result, screen.plan))  # a fix saves exactly its plan

        self.push_screen(screen, done)

    def action_help(self) -> None:
        from optscale_tui.ui.dialogs.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            views = ((label.split(" ", 1)[-1], self._view(pane)) for pane, label, _key in PANES)
            self.push_screen(HelpScreen([(name, view) for name, view in views if view is not None]))

    @property
    def verification_running(self) -> bool:
        return any(w.group == "verify" and w.is_running for w in self.workers)

    async def action_quit(self) -> None:
        """Every way out (q, ctrl+q, the palette's Quit) asks first when something would be lost."""
        self.action_request_quit()

    def _unsaved_text(self) -> str | None:
        """What is unsaved, named as the restore dialog names it (None when nothing is)."""
        from optscale_tui.ui.format import changes_summary

        if not self.state.has_unsaved_changes:
            return None
        plan = self.state.plan()
        summary = changes_summary(plan.changes) if plan is not None and plan.changes else ""
        return f"Not saved: {summary}." if summary else "The settings have changes that are not saved."

    def _quit_reasons(self, unsaved: str | None = None) -> list[str]:
        """What quitting now would lose (`unsaved`: `_unsaved_text()`, worked out by the caller)."""
        reasons = []
        if unsaved:
            reasons.append(unsaved)
        if self.verification_running:
            reasons.append("A verification is running; it will be cancelled.")
        return reasons

    def action_request_quit(self) -> None:
        state = self.state
        seen = [state.document, self._unsaved_text()]
        reasons = self._quit_reasons(seen[1])
        if not reasons:
            self.exit()
            return
        from optscale_tui.ui.dialogs.confirm import ConfirmScreen

        dialog = ConfirmScreen("Quit optscale-tui?", "\n".join(reasons), yes="Quit", no="Stay")

        def follow() -> None:
            # While the question is open the reasons can end (the verification finishes, a save lands): say what
            # is true now rather than what was true when q was pressed. The answer stays the user's to give.
            # Nothing can be edited behind the dialog, so the plan (not free for a big file) is only worked out
            # again when the settings file was read again (after a save).
            if state.document is not seen[0]:
                seen[:] = [state.document, self._unsaved_text()]
            now = self._quit_reasons(seen[1])
            dialog.update_body("\n".join(now) if now else QUIT_NOTHING_LOST)

        timer = self.set_interval(QUIT_FOLLOW_INTERVAL, follow)

        def answered(quit_now: bool | None) -> None:
            timer.stop()
            if quit_now:
                for worker in self.workers:  # whatever runs at the moment of the answer
                    if worker.group == "verify":
                        worker.cancel()
                self.exit()

        self.push_screen(dialog, answered)

    def notify(self, message: str, *, title: str = "", **kwargs) -> None:  # type: ignore[override]
        """Every toast (widgets' notify calls come here): no escape sequence and no key, whatever it quotes."""
        from optscale_tui.core.secrets import clean_outside_text

        known = self._known_secrets()
        super().notify(clean_outside_text(message, known), title=clean_outside_text(title, known), **kwargs)

    # --- crash output -------------------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled error ends the app, as in Textual, but its report has no locals: Textual's traceback shows
        every frame's variables, which held the settings text and the API key (six times in one crash)."""
        self._return_code = 1
        if self._exception is None:  # run_test re-raises it for the test
            self._exception = error
            self._exception_event.set()
        self.bell()
        from rich.text import Text

        self._exit_renderables.append(Text(crash_report(error, self._known_secrets())))
        self._close_messages_no_wait()

    def _print_error_renderables(self) -> None:
        """Whatever ends up printed at exit (ours, or a panic's traceback from Textual's input thread) is masked and
        cleaned first: an exception's message may quote a key or the gateway's text."""
        from io import StringIO

        from rich.console import Console
        from rich.text import Text

        from optscale_tui.core.secrets import clean_outside_text

        known = self._known_secrets()
        cleaned = []
        for renderable in self._exit_renderables:
            buffer = StringIO()
            Console(file=buffer, width=self.error_console.width, color_system=None, markup=False,
                    highlight=False).print(renderable)
            cleaned.append(Text(clean_outside_text(buffer.getvalue().rstrip("\n"), known)))
        self._exit_renderables[:] = cleaned
        super()._print_error_renderables()

    def _known_secrets(self) -> tuple[str, ...]:
        """The key values this session holds (typed, or in the settings file), to mask in crash output."""
        try:
            state = self.state
            typed = state.key.value if state.key is not None else None
            return tuple(s for s in (typed, state.stored_key) if s)
        except Exception:  # a crash report must not crash: mask what looks like a key, at least
            return ()


CRASH_FRAMES = 30  # the innermost frames are where it broke; a 1,000-deep recursion needs no more


def crash_report(error: BaseException, known_secrets: Iterable[str] = ()) -> str:
    """A short crash report: the error and its innermost frames (file, line, code), never a frame's locals; keys
    masked, control characters removed."""
    import traceback

    from textual.worker import WorkerFailed

    from optscale_tui.core.secrets import clean_outside_text

    cause = error.error if isinstance(error, WorkerFailed) and isinstance(error.error, BaseException) else error
    lines = traceback.format_exception(cause, limit=-CRASH_FRAMES)
    text = "".join(lines).rstrip("\n")
    return clean_outside_text(
        f"optscale-tui stopped on an unexpected error.\n{text}\n"
        "Please report this; the report above holds no key.", tuple(known_secrets))


def run_app(demo: DemoSession | None = None, **kwargs) -> int:
    pause_collector()  # usually paused already by the CLI, before Textual was imported
    try:
        app = OptScaleApp(demo=demo, **kwargs)
        app.run()
    finally:
        resume_collector()
    return app.return_code or 0
