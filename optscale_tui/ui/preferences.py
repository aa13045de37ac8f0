"""The app's stored preferences in the TUI (issue 13 §1): the theme is applied at start-up, before the first frame,
and a theme the user chooses later (the palette's Theme, Light theme, Dark theme) is stored again. The file and its
rules (atomic 0600 write, a file that does not parse is never rewritten) are core's (core/app_config).

The default scope is applied where the scope is chosen, the CLI (`--scope` absent: the preference); the CA bundle
and the real-client check by the commands that verify."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App
    from textual.theme import Theme


class StoredPreferences:
    """The theme preference of one app run: applied once, then followed."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.problem: str | None = None  # said once the app is on screen (a toast needs a running app)
        self._recorded: str | None = None  # the theme on record: a change to another one is stored
        self._lock = threading.Lock()  # one write at a time; each writes the newest choice

    def apply_at_start(self, app: App) -> None:
        """Set the stored theme (an unknown name or a file that does not parse: the default, and a toast)."""
        from optscale_tui.core.app_config import ConfigError, load_config

        try:
            theme = load_config(self.config_path).preferences.theme
        except ConfigError as exc:
            self.problem = f"Preferences not used: {exc}"
            return
        if theme and theme in app.available_themes:
            app.theme = theme
        elif theme:
            self.problem = (f"The theme preference {theme!r} is not a theme this app has; using {app.theme}. "
                            "Choose one with ctrl+p → Theme, and it is stored.")

    def follow(self, app: App) -> None:
        """From now on (the first frame is drawn), store each theme the user switches to."""
        self._recorded = app.theme
        app.theme_changed_signal.subscribe(app, lambda theme: self._changed(app, theme))
        if self.problem:
            app.notify(self.problem, title="Preferences", severity="warning", timeout=10)

    def _changed(self, app: App, theme: Theme) -> None:
        if theme.name == self._recorded:
            return
        self._recorded = theme.name
        app.run_worker(lambda: self._store(app), thread=True, group="preferences")

    def _store(self, app: App) -> None:
        from optscale_tui.core.app_config import ConfigError, load_config, save_config

        with self._lock:
            try:
                config = load_config(self.config_path)
                if config.preferences.theme != self._recorded:
                    config.preferences = replace(config.preferences, theme=self._recorded)
                    save_config(config)
            except (ConfigError, OSError) as exc:
                app.call_from_thread(app.notify, f"The theme was not stored: {exc}", title="Preferences",
                                     severity="warning")
