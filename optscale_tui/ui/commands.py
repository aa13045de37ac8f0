"""The command palette (ctrl+p): the app's main actions by name, beside Textual's system commands (Quit, Theme…).

Like a pane, it never imports the app: it reads the state through `PaneHost` and asks with the app's messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from optscale_tui.ui.messages import FixesRequested, SettingsReloadRequested, StepRequested

if TYPE_CHECKING:
    from optscale_tui.ui.panes.verify import VerifyPane
    from optscale_tui.ui.state import AppHost


class ActionsProvider(Provider):
    """Go to a pane, save, verify, copy or save the report, reload the settings, help."""

    @property
    def host(self) -> AppHost:
        """The app, as far as the palette may read it."""
        return cast("AppHost", self.app)

    def _view(self, pane: str):
        from optscale_tui.ui.panes.base import Pane

        for view in self.app.query(Pane):
            if view.id == f"{pane}-view":
                return view
        return None

    def _verify_view(self) -> VerifyPane | None:
        return self._view("verify")  # type: ignore[return-value]

    # --- the commands -------------------------------------------------------------------------------------------

    def _go(self, pane: str) -> None:
        self.app.post_message(StepRequested(pane))

    def _save_settings(self) -> None:
        self._go("review")
        view = self._view("review")
        if view is not None:
            # ReviewPane's save flow (confirm, write, backup), called directly: run_action would skip it while the
            # pane's key is dimmed, and a user who asked to write is told why nothing can be written.
            self.app.call_later(view.action_save)

    def _verify(self, action: str) -> None:
        self._go("verify")
        view = self._verify_view()
        if view is not None:
            self.app.call_later(self.app.run_action, action, view)

    def _profiles(self, what: str) -> None:
        from optscale_tui.ui.dialogs import profiles

        getattr(profiles, what)(self.host)

    def _theme(self, name: str) -> None:
        self.app.theme = name

    def commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        from optscale_tui.ui.format import display_path
        from optscale_tui.ui.panes import PANES

        for pane, label, key in PANES:
            name = label.split(" ", 1)[-1]
            yield f"Go to {name}", f"Show the {name} pane ({key.upper()})", partial(self._go, pane)
        # Named as the Review pane's button and key say it (Write settings, w), so that "write" finds it.
        where = display_path(self.host.state.target.path)
        yield "Write settings…", f"Review the diff, then write {where} with a backup (w on Review)", \
            self._save_settings
        yield "Verify now", "Run every verification check against the settings in effect", partial(
            self._verify, "run_all")
        yield "Re-run verification check", "Re-run the check highlighted in the Verify pane", partial(
            self._verify, "rerun_selected")
        yield "Cancel verification", "Stop the running verification", partial(self._verify, "cancel")
        yield "Copy verification report", "Copy the report as Markdown (API key masked)", partial(
            self._verify, "copy_report")
        yield "Save verification report", "Save the report as Markdown or JSON (API key masked)", partial(
            self._verify, "save_report")
        yield "Fix it…", "Show the diff of the automatic fix for what the doctor found, and apply it", \
            partial(self.app.post_message, FixesRequested())
        yield "Use a profile…", "Fill Connect and Models from a saved profile (^o on Connect)", partial(
            self._profiles, "open_profile_picker")
        yield "Save these values as a profile…", "Keep this Base URL and these models under a name", partial(
            self._profiles, "save_values_as_profile")
        yield "Rename a profile…", "Give a saved profile another name (r in the profile picker)", partial(
            self._profiles, "open_profile_renamer")
        yield "Delete a profile…", "Delete a saved profile and its stored key (d in the profile picker)", partial(
            self._profiles, "open_profile_deleter")
        yield "Reload settings", "Read the settings files again from disk", partial(
            self.app.post_message, SettingsReloadRequested())
        yield "Help", "Keys and what each pane does (F1)", partial(self.app.run_action, "help")
        # Textual's "Theme" matches only "theme": a user searching "light" or "dark" found nothing.
        yield "Light theme", "Switch to the light colour theme (textual-light)", partial(self._theme, "textual-light")
        yield "Dark theme", "Switch to the dark colour theme (textual-dark)", partial(self._theme, "textual-dark")
        # Quit and Theme are Textual's system commands, described truly by OptScaleApp.get_system_commands.

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            if name.endswith(" theme"):
                continue  # found by a search; the list shows Textual's one "Theme" entry that offers them all
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
