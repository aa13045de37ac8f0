"""Typed messages the panes, the dialogs and the app exchange. Panes never talk to each other, nor call the app:
they post a message, the app (the only writer of `WizardState`) updates the state and broadcasts a `StateChanged`
naming the `Change`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.notifications import SeverityLevel

    from optscale_tui.core.causes import Cause
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
    from optscale_tui.core.config.plan import SettingsPlan
    from optscale_tui.core.config.store import SaveResult
    from optscale_tui.core.connection import ApiKey, GatewayUrl, TierMapping
    from optscale_tui.core.gateway.catalog import Catalog


class Change(StrEnum):
    """Which part of `WizardState` changed (StateChanged.change)."""

    ALL = "all"  # a pane was just mounted: show everything
    SETTINGS = "settings"  # the settings file (and the effective configuration) were (re)read
    CONNECTION = "connection"  # the Base URL or the key (the catalog was dropped with them)
    TIERS = "tiers"  # the tier mapping or the optional extras
    ADOPTED = "adopted"  # a save, fix or restore replaced edited values with the file's
    SAVED = "saved"  # a file was written (last_save is set)
    CATALOG = "catalog"  # the gateway's catalog for this URL + key arrived
    PROFILE = "profile"  # a profile filled Connect and Models


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
    """Broadcast by the app to every pane after the state changed; `change` says which part."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class SettingsSaved(Message):
    """A file was written (a save, a fix-it or a restore). `saved` are the settings keys it changed
    (PlannedChange.key); None means the whole file was replaced (a restore). When it is the file the app edits, the
    app takes what was written as the edited values (WizardState.adopt)."""

    def __init__(self, result: SaveResult, saved: Iterable[str] | None = (), *, edited: bool = False) -> None:
        super().__init__()
        self.result = result
        self.saved = None if saved is None else tuple(saved)
        self.edited = edited  # the edited values (Connect, Models) were written: a Review save, not a fix or restore

    @classmethod
    def of_plan(cls, result: SaveResult, plan: SettingsPlan | None, *, edited: bool = False) -> SettingsSaved:
        """`plan` was written (a Review save, `edited`; a fix-it): exactly its keys changed."""
        return cls(result, [change.key for change in plan.changes] if plan is not None else (), edited=edited)

    @classmethod
    def replaced(cls, result: SaveResult) -> SettingsSaved:
        """The whole file was replaced (a restore): every value is read from it again."""
        return cls(result, None)


class StepRequested(Message):
    """A view asks to move: `step` is a pane id ("connect", "tiers", …) or "next"/"back"."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step


class CatalogFetched(Message):
    """The Models pane fetched the gateway's catalog for this URL + key; the app stores it (if they still hold)."""

    def __init__(self, catalog: Catalog, url: GatewayUrl, key: ApiKey) -> None:
        super().__init__()
        self.catalog = catalog
        self.url = url
        self.key = key


class SettingsReloadRequested(Message):
    """Read the settings files again from disk."""


class FixesRequested(Message):
    """Offer the fix-its for the doctor's findings plus `causes` (a verification's), `config` standing for the
    settings in effect when given (a run's view of unsaved values)."""

    def __init__(self, causes: tuple[Cause, ...] = (), config: EffectiveConfig | None = None) -> None:
        super().__init__()
        self.causes = causes
        self.config = config


class CopyRequested(Message):
    """Copy `text` to the clipboard and toast `said` (which never quotes the text: it may hold a key)."""

    def __init__(self, text: str, said: str) -> None:
        super().__init__()
        self.text = text
        self.said = said


class ProfilePickerRequested(Message):
    """Open the profile picker (^o on Connect)."""


class Notice(Message):
    """A toast a worker thread asks for (workers never call the UI directly: they post this to the app)."""

    def __init__(self, text: str, *, title: str = "", severity: SeverityLevel = "information",
                 timeout: float | None = None) -> None:
        super().__init__()
        self.text = text
        self.title = title
        self.severity: SeverityLevel = severity
        self.timeout = timeout
