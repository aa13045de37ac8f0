"""Profiles in the app (issue 13 §2): pick one to fill Connect and Models (Review then shows what the switch changes
in settings.json), save the values on screen as one, rename or delete one. The file and the key stores are core's
(core/app_config)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.ui.dialogs.base import Dialog
from optscale_tui.ui.dialogs.confirm import ConfirmScreen

if TYPE_CHECKING:
    from optscale_tui.core.app_config import AppConfig, Profile
    from optscale_tui.ui.state import AppHost as OptScaleApp


PURPOSES = {"use": "Use a profile", "rename": "Rename a profile", "delete": "Delete a profile"}


class ProfilePicker(Dialog[str | None]):
    """The saved profiles. enter does what the picker was opened for (`purpose`): use the highlighted profile (it
    dismisses with its name), or rename or delete it; r renames and d deletes in every case, and the list follows.
    escape closes it and leaves Connect and Models as they are."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rename", "Rename", id="profiles.rename",
                tooltip="give the highlighted profile another name (its stored key moves with it)"),
        Binding("d,delete", "delete", "Delete", id="profiles.delete",
                tooltip="delete the highlighted profile and its stored key, after asking"),
        Binding("escape", "cancel", "Close", id="profiles.cancel",
                tooltip="Connect and Models stay as they are"),
    ]
    # Help's rows for the keys that are no binding here (the list's enter), before the bindings' own rows.
    HELP_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("⏎", "Use — fill Connect and Models from the highlighted profile; Review shows the diff, and once w writes "
              "it, it is the last used (*)"),
    )

    def __init__(self, config: AppConfig, purpose: str = "use") -> None:
        super().__init__()
        self._config = config
        self.purpose = purpose

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-dialog", classes="dialog"):
            yield Static(PURPOSES[self.purpose], classes="dialog-title")
            yield Static("", id="profile-help", classes="dialog-body", markup=False)
            yield OptionList(id="profile-list")

    def on_mount(self) -> None:
        # Start on the profile in use (else the last used): enter on it, or a step away from it, is the usual move.
        self._fill(self.wizard.active_profile or self._config.preferences.last_profile)
        self.query_one(OptionList).focus()

    def _fill(self, highlight: str | None = None) -> None:
        """(Re)build the list from the config as read; keep the highlight on `highlight` (or where it was)."""
        option_list = self.query_one(OptionList)
        if highlight is None:
            highlight = self.highlighted_name
        profiles = sorted(self._config.profiles.values(), key=lambda p: p.name)
        last = self._config.preferences.last_profile
        option_list.clear_options()
        width = min(max((len(p.name) for p in profiles), default=0), 24)
        # Content, not a markup string: a label is the user's text, and "[" in it is not a style.
        option_list.add_options([Option(Content(f"{'*' if p.name == last else ' '} {p.name.ljust(width)}  "
                                                f"{_described(p)}"), id=p.name) for p in profiles])
        option_list.display = bool(profiles)
        names = [p.name for p in profiles]
        if names:
            option_list.highlighted = names.index(highlight) if highlight in names else 0
        help_text = self.query_one("#profile-help", Static)
        if not profiles:
            help_text.update("No profiles yet. Fill Connect and Models, then \"Save these values as a profile\" "
                             "(ctrl+p), or `optscale-tui profile save NAME`.")
        elif self.purpose == "use":
            help_text.update("enter fills Connect and Models; Review shows what that changes in settings.json "
                             "before anything is written. r renames, d deletes. * last used.")
        else:
            help_text.update(f"enter {self.purpose}s the highlighted profile. Claude Code's settings are not "
                             "changed.")
        self.refresh_bindings()

    @property
    def highlighted_name(self) -> str | None:
        option_list = self.query_one(OptionList)
        if option_list.highlighted is None or not option_list.option_count:
            return None
        return option_list.get_option_at_index(option_list.highlighted).id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rename", "delete") and self.is_mounted:
            return self.highlighted_name is not None
        return True

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if self.purpose == "rename":
            self.action_rename()
        elif self.purpose == "delete":
            self.action_delete()
        else:
            self.dismiss(event.option.id)

    def action_rename(self) -> None:
        old = self.highlighted_name
        if old is None:
            return
        taken = frozenset(self._config.profiles) - {old}
        screen = ProfileNameScreen(title=f"Rename profile {old}", value=old, taken=taken,
                                   body="New name: letters, digits, '.', '_' or '-'. A stored key moves with it.")

        def named(new: str | None) -> None:
            if new and new != old:
                config = rename_profile_in_app(self.wizard, old, new)
                self._reload(config, highlight=new if config is not None else old)

        self.app.push_screen(screen, named)

    def action_delete(self) -> None:
        name = self.highlighted_name
        profile = self._config.profiles.get(name) if name else None
        if profile is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._reload(delete_profile_in_app(self.wizard, profile.name))

        self.app.push_screen(ConfirmDeleteProfile(profile), answered)

    def _reload(self, config: AppConfig | None, highlight: str | None = None) -> None:
        """Show the file as it is now (as written, or as it was when the write failed)."""
        self._config = config or _load(self.wizard) or self._config
        self._fill(highlight)

    @property
    def wizard(self) -> OptScaleApp:
        return self.app  # type: ignore[return-value]

    def action_cancel(self) -> None:
        self.dismiss(None)


def _described(profile: Profile) -> str:
    """One short line: the label and the gateway's host (the whole URL would wrap at 80 columns)."""
    from urllib.parse import urlsplit

    host = urlsplit(profile.base_url).hostname or profile.base_url
    return f"{profile.label} · {host}" if profile.label else host


class ConfirmDeleteProfile(ConfirmScreen):
    """Delete this profile? y deletes it (and its stored key); n or escape keep it (the focus starts on Keep)."""

    def __init__(self, profile: Profile) -> None:
        stored = " Its stored key is removed too." if profile.key_source.kind == "stored" else ""
        super().__init__(f"Delete profile {profile.name}?",
                         f"{profile.label or profile.base_url}\nIt is removed from optscale-tui's config file.{stored} "
                         "Claude Code's settings are not changed.", yes="Delete", no="Keep")


class ProfileNameScreen(Dialog[str | None]):
    """Ask for a profile name (checked by core, and not one of `taken`); enter saves, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="profile-name.cancel")]

    def __init__(self, *, title: str = "Save these values as a profile",
                 body: str = "Base URL and models. Letters, digits, '.', '_' or '-'.", value: str = "",
                 taken: Collection[str] = ()) -> None:
        super().__init__()
        self._title, self._body, self._value, self._taken = title, body, value, frozenset(taken)

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-name-dialog", classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._body, classes="dialog-body", markup=False)
            yield Input(self._value, placeholder="profile name, e.g. staging", id="profile-name")
            yield Static("", id="profile-name-error", classes="error-text", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        from optscale_tui.core.app_config import ProfileError, check_profile_name

        name = event.value.strip()
        error = self.query_one("#profile-name-error", Static)
        if name in self._taken:
            error.update(f"✗ A profile named {name} already exists: choose another name (or delete that one first).")
            return
        try:
            self.dismiss(check_profile_name(name))
        except ProfileError as exc:
            error.update(f"✗ {exc}")

    def action_cancel(self) -> None:
        self.dismiss(None)


def _load(app: OptScaleApp) -> AppConfig | None:
    from optscale_tui.core.app_config import ConfigError, load_config

    try:
        return load_config(app.config_path)
    except ConfigError as exc:
        app.notify(str(exc), title="Profiles", severity="error")
        return None


def open_profile_picker(app: OptScaleApp, purpose: str = "use") -> None:
    config = _load(app)
    if config is None:
        return
    app.push_screen(ProfilePicker(config, purpose), lambda name: use_profile(app, name) if name else None)


def open_profile_renamer(app: OptScaleApp) -> None:
    open_profile_picker(app, "rename")


def open_profile_deleter(app: OptScaleApp) -> None:
    open_profile_picker(app, "delete")


def rename_profile_in_app(app: OptScaleApp, old: str, new: str) -> AppConfig | None:
    """Rename in the config file (core moves a stored key; a failed write changes nothing), and the app bar follows.
    The config as written, None when nothing was changed (the reason is a toast)."""
    from optscale_tui.core import app_config as core

    config = _load(app)
    if config is None:
        return None
    profile = config.profiles.get(old)
    try:
        store = core.key_store(config.path) if profile and profile.key_source.kind == "stored" else None
        change = core.rename_profile(config, old, new, store)
    except Exception as exc:  # ProfileError, ConfigError, OSError, a locked keyring: the file is as it was
        app.notify(f"Profile {old} was not renamed: {_reason(exc)}", title="Profiles", severity="error")
        return None
    if app.active_profile == old:
        app.active_profile = new
        app.refresh_app_bar()
    if change.warning:
        app.notify(change.warning, title="Profiles", severity="warning")
    app.notify(f"Renamed profile {old} to {new}.", title="Profiles")
    return change.config


def delete_profile_in_app(app: OptScaleApp, name: str) -> AppConfig | None:
    """Delete from the config file, then its stored key (core's order: a failed write loses nothing); the app bar
    stops naming it. Connect and Models keep the values it filled in."""
    from optscale_tui.core import app_config as core

    config = _load(app)
    if config is None:
        return None
    profile = config.profiles.get(name)
    try:
        store = core.key_store(config.path) if profile and profile.key_source.kind == "stored" else None
        change = core.delete_profile(config, name, store)
    except Exception as exc:
        app.notify(f"Profile {name} was not deleted: {_reason(exc)}", title="Profiles", severity="error")
        return None
    if app.active_profile == name:
        app.active_profile = None
        app.refresh_app_bar()
    if change.warning:
        app.notify(f"Profile {name} was deleted, but {change.warning}", title="Profiles", severity="warning")
    else:
        app.notify(f"Deleted profile {name}. Claude Code's settings are unchanged.", title="Profiles")
    return change.config


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename or 'config file'}); nothing was changed"
    return str(exc)


def record_profile_written(app: OptScaleApp, name: str) -> None:
    """The settings profile `name` filled were written (a Review save): it becomes the last used, in core's one way
    (`profile use` records it the same way). File I/O: a worker thread; a failure is a toast, the save stands."""
    from optscale_tui.core.app_config import ConfigError, record_last_profile

    def record() -> None:
        try:
            record_last_profile(app.config_path, name)
        except (ConfigError, OSError) as exc:
            app.call_from_thread(app.notify, f"Profile {name} was not recorded as the last used: {exc}",
                                 title="Profiles", severity="warning")

    app.run_worker(record, thread=True, group="preferences")


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
    # Labels made for the models on screen before would name the wrong models now: none are given, so core keeps a
    # file's label where the tier keeps its model and drops it where the model changes.
    state.display_names = {}
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
