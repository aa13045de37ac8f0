"""Typed messages the views and the app exchange. Views never talk to each other directly: they tell the app,
the app updates `WizardState`, and broadcasts what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from optscale_tui.core.connection import ApiKey, GatewayUrl, TierMapping
    from optscale_tui.core.settings_file import SaveResult


class SettingsLoaded(Message):
    """The settings file (and the effective configuration) were (re)loaded; state.document/load_error are set."""


class ConnectionEdited(Message):
    """The user changed the Base URL or the key on the Connect step (url None while invalid)."""

    def __init__(self, base_url_text: str, url: GatewayUrl | None, key: ApiKey | None) -> None:
        super().__init__()
        self.base_url_text = base_url_text
        self.url = url
        self.key = key


class TiersEdited(Message):
    """The user changed the tier mapping or the optional extras on the Models step."""

    def __init__(self, tiers: TierMapping, disable_experimental_betas: bool | None = None,
                 display_names: dict[str, str] | None = None) -> None:
        super().__init__()
        self.tiers = tiers
        self.disable_experimental_betas = disable_experimental_betas
        self.display_names = display_names


class StateChanged(Message):
    """Broadcast by the app to every view after state changed; `what` says which part."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


class SettingsSaved(Message):
    """A file was written (a save, a fix-it or a restore). `saved` are the settings keys it changed
    (PlannedChange.key); None means the whole file was replaced (a restore). When it is the file the app edits, the
    app takes what was written as the edited values (WizardState.adopt)."""

    def __init__(self, result: SaveResult, saved: Iterable[str] | None = ()) -> None:
        super().__init__()
        self.result = result
        self.saved = None if saved is None else tuple(saved)


class StepRequested(Message):
    """A view asks to move: `step` is a pane id ("connect", "tiers", …) or "next"/"back"."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step
