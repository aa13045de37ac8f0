"""Profiles in the app (issue 13 §2): pick one to fill Connect and Models (Review then shows what the switch changes
in settings.json), and save the values on screen as one. The file and the key stores are core's (core/app_config)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.ui.dialogs.base import Dialog

if TYPE_CHECKING:
    from optscale_tui.core.app_config import AppConfig
    from optscale_tui.ui.state import AppHost as OptScaleApp


class ProfilePicker(Dialog[str | None]):
    """The saved profiles; enter uses the highlighted one, escape leaves everything as it is."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="profiles.cancel")]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self._config = config

    def compose(self) -> ComposeResult:
        profiles = sorted(self._config.profiles.values(), key=lambda p: p.name)
        with Vertical(id="profile-dialog", classes="dialog"):
            yield Static("Use a profile", classes="dialog-title")
            if not profiles:
                yield Static("No profiles yet. Fill Connect and Models, then \"Save these values as a profile\" "
                             "(ctrl+p), or `optscale-tui profile save NAME`.", classes="dialog-body", markup=False)
                return
            yield Static("Fills Connect and Models; Review shows what it changes in settings.json before anything "
                         "is written.", classes="dialog-body", markup=False)
            last = self._config.preferences.last_profile
            yield OptionList(*(Option(f"{'*' if p.name == last else ' '} {p.name}  {p.label or p.base_url}",
                                      id=p.name) for p in profiles), id="profile-list")

    def on_mount(self) -> None:
        if self.query(OptionList):
            self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProfileNameScreen(Dialog[str | None]):
    """Ask for a profile name (checked by core); enter saves, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="profile-name.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-name-dialog", classes="dialog"):
            yield Static("Save these values as a profile", classes="dialog-title")
            yield Static("Base URL and models. Letters, digits, '.', '_' or '-'.", classes="dialog-body",
                         markup=False)
            yield Input(placeholder="profile name, e.g. staging", id="profile-name")
            yield Static("", id="profile-name-error", classes="error-text", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        from optscale_tui.core.app_config import ProfileError, check_profile_name

        try:
            self.dismiss(check_profile_name(event.value.strip()))
        except ProfileError as exc:
            self.query_one("#profile-name-error", Static).update(f"✗ {exc}")

    def action_cancel(self) -> None:
        self.dismiss(None)


def _load(app: OptScaleApp) -> AppConfig | None:
    from optscale_tui.core.app_config import ConfigError, load_config

    try:
        return load_config(app.config_path)
    except ConfigError as exc:
        app.notify(str(exc), title="Profiles", severity="error")
        return None


def open_profile_picker(app: OptScaleApp) -> None:
    config = _load(app)
    if config is None:
        return
    app.push_screen(ProfilePicker(config), lambda name: use_profile(app, name) if name else None)


def use_profile(app: OptScaleApp, name: str) -> None:
    """Fill Connect and Models from the profile. Nothing is written: Review shows the diff, w writes it."""
    from optscale_tui.core.app_config import ProfileError, key_store, profile_key
    from optscale_tui.core.connection import InputError, TierMapping, parse_api_key, parse_base_url

    config = _load(app)
    profile = config.profiles.get(name) if config else None
    if profile is None:
        return
    try:
        url = parse_base_url(profile.base_url)
    except InputError as exc:
        app.notify(f"Profile {name}'s Base URL: {exc.reason}", title="Profiles", severity="error")
        return
    note = ""
    key = None
    try:
        store = key_store(config.path) if profile.key_source.kind == "stored" else None  # type: ignore[union-attr]
        value = profile_key(profile, store)
        key = parse_api_key(value) if value else None
    except (InputError, ProfileError, Exception):  # a locked keyring, a bad key: the file's key stays
        key = None
    if key is None and profile.key_source.kind != "none":
        note = f" Its key ({profile.key_source}) is not available: the key in the file is kept."
    state = app.state
    state.base_url_text, state.url = profile.base_url, url
    state.key = key
    state.tiers = TierMapping(haiku=profile.haiku, sonnet=profile.sonnet, opus=profile.opus,
                              main_model=profile.main_model, subagent_model=profile.subagent_model)
    state.disable_experimental_betas = profile.disable_experimental_betas
    state.catalog = None  # the catalog belongs to a URL + key
    app.active_profile = name
    app.refresh_app_bar()
    for what in ("profile", "connection", "tiers"):
        app.broadcast(what)
    app.notify(f"Profile {name}: Connect and Models are filled; Review shows the diff.{note}", title="Profiles")


def save_values_as_profile(app: OptScaleApp) -> None:
    state = app.state
    if state.url is None:
        app.notify("Enter a Base URL on Connect first.", title="Profiles", severity="warning")
        return

    def named(name: str | None) -> None:
        if not name:
            return
        if state.key is None:
            _save(app, name, store_key=False)
            return
        from optscale_tui.ui.dialogs.confirm import ConfirmScreen

        app.push_screen(ConfirmScreen(
            f"Store the key {state.key.masked} with profile {name}?",
            "In the system keyring when one is usable, else in keys.toml beside the config file (0600). "
            "Without it, using the profile keeps the key that is in the settings file.",
            yes="Store", no="Don't store"), lambda yes: _save(app, name, store_key=bool(yes)))

    app.push_screen(ProfileNameScreen(), named)


def _save(app: OptScaleApp, name: str, *, store_key: bool) -> None:
    from optscale_tui.core.app_config import ConfigError, KeySource, Profile, key_store, save_config

    config = _load(app)
    if config is None:
        return
    state = app.state
    old = config.profiles.get(name)
    source = KeySource("stored") if store_key else (old.key_source if old and old.key_source.kind == "env"
                                                     else KeySource())
    tiers = state.tiers
    config.profiles[name] = Profile(
        name=name, label=old.label if old else "",
        base_url=state.base_url_text.strip() or (state.url.openai_base if state.url else ""),
        haiku=tiers.haiku, sonnet=tiers.sonnet, opus=tiers.opus, main_model=tiers.main_model,
        subagent_model=tiers.subagent_model, disable_experimental_betas=state.disable_experimental_betas or None,
        key_source=source)
    try:
        store = key_store(config.path)
        if store_key and state.key is not None:
            store.set(name, state.key.value)
        elif old and old.key_source.kind == "stored":
            store.delete(name)
        save_config(config)
    except (ConfigError, OSError) as exc:
        app.notify(str(exc), title="Profiles", severity="error")
        return
    app.active_profile = name
    app.refresh_app_bar()
    app.notify(f"Saved profile {name} in {config.path}.", title="Profiles")
