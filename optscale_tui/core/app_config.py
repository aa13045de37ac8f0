"""The app's own configuration (issue 13): preferences and gateway profiles in one TOML file.

The file lives in `platformdirs.user_config_dir("optscale-tui")/config.toml`; `OPTSCALE_TUI_CONFIG` (or the CLI's
`--config PATH`) points elsewhere. It is read with tomllib and written with tomli-w, atomically (temp file, fsync,
rename), mode 0600. A file that does not parse is refused with its line and column and never overwritten.

The profile file never holds a key. A profile says where its key comes from: nowhere (`none`: ask, or keep the one
in the settings file), an environment variable (`env:VAR`), or `stored`: the OS keyring when the optional `keyring`
package has a usable backend, else `keys.toml` beside the config file (0600) — only when the user asked for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import tomli_w

CONFIG_ENV = "OPTSCALE_TUI_CONFIG"
# "file" forces the keys file even when a keyring is usable (tests, headless servers with a locked keyring).
KEY_STORE_ENV = "OPTSCALE_TUI_KEY_STORE"
APP_NAME = "optscale-tui"
KEYS_FILE_NAME = "keys.toml"
KEYRING_SERVICE = "optscale-tui"
HEADER = ("# optscale-tui's own preferences and gateway profiles. optscale-tui rewrites this file: edits are kept,\n"
          "# comments are not. API keys are never stored here.\n")
KEYS_HEADER = "# API keys of optscale-tui profiles (stored on request, `--store-key`). Keep this file private.\n"
PROFILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENV_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SCOPES = ("user", "project", "local")


class ConfigError(Exception):
    """The config file cannot be used as it is (does not parse, wrong shape): it is left exactly as it is."""

    def __init__(self, path: Path, reason: str, line: int | None = None, column: int | None = None) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{path}{where}: {reason}. It was left as it is; fix or move it.")
        self.path, self.reason, self.line, self.column = path, reason, line, column


class ProfileError(ValueError):
    """A profile value the user gave is not acceptable (a usage error)."""


KeyKind = Literal["none", "env", "stored"]


@dataclass(frozen=True)
class KeySource:
    kind: KeyKind = "none"
    env_var: str | None = None  # for kind "env"

    @classmethod
    def parse(cls, text: str) -> KeySource:
        if text in ("none", "stored"):
            return cls(text)  # type: ignore[arg-type]
        if text.startswith("env:") and ENV_VAR_RE.fullmatch(text[4:]):
            return cls("env", text[4:])
        raise ProfileError(f"key source must be none, stored or env:VAR (got {text!r})")

    def __str__(self) -> str:
        return f"env:{self.env_var}" if self.kind == "env" else self.kind


@dataclass(frozen=True)
class Profile:
    name: str
    base_url: str
    label: str = ""
    haiku: str | None = None
    sonnet: str | None = None
    opus: str | None = None
    main_model: str | None = None
    subagent_model: str | None = None
    disable_experimental_betas: bool | None = None
    key_source: KeySource = KeySource()

    def to_toml(self) -> dict[str, object]:
        data: dict[str, object] = {"label": self.label, "base_url": self.base_url}
        for name in ("haiku", "sonnet", "opus", "main_model", "subagent_model"):
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.disable_experimental_betas is not None:
            data["disable_experimental_betas"] = self.disable_experimental_betas
        data["key"] = str(self.key_source)
        return data


@dataclass(frozen=True)
class Preferences:
    theme: str | None = None
    default_scope: str | None = None  # user | project | local
    ca_bundle: str | None = None
    real_client_check: bool = True
    last_profile: str | None = None


@dataclass
class AppConfig:
    path: Path
    preferences: Preferences = Preferences()
    profiles: dict[str, Profile] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)  # tables a newer version wrote: kept on rewrite


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME_RE.fullmatch(name or ""):
        raise ProfileError("a profile name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
                           f"digit (got {name!r})")
    return name


_LINE_COL = re.compile(r"\(at line (\d+), column (\d+)\)")
_AT = re.compile(r"\(at (line \d+, column \d+|end of document)\)")


def _read_toml(path: Path) -> dict[str, object] | None:
    """The parsed file, None when it does not exist; ConfigError (with line and column) when it does not parse."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"is not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends "(at line L, column C)" or "(at end of document)": no attributes to read.
        message = str(exc)
        found = _LINE_COL.search(message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
        else:
            line, column = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
        reason = _AT.sub("", message).strip() or "invalid TOML"
        raise ConfigError(path, f"is not valid TOML: {reason}", line, column) from None


def _opt_str(path: Path, table: Mapping[str, object], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(path, f"{where}.{key} must be a string")
    return value or None


def load_config(path: Path | None = None) -> AppConfig:
    path = default_config_path() if path is None else Path(path)
    data = _read_toml(path)
    if data is None:
        return AppConfig(path=path)
    prefs_table = data.get("preferences", {})
    profiles_table = data.get("profiles", {})
    if not isinstance(prefs_table, dict) or not isinstance(profiles_table, dict):
        raise ConfigError(path, "[preferences] and [profiles] must be tables")
    scope = _opt_str(path, prefs_table, "default_scope", "preferences")
    if scope is not None and scope not in SCOPES:
        raise ConfigError(path, f"preferences.default_scope must be one of {', '.join(SCOPES)}")
    check = prefs_table.get("real_client_check", True)
    if not isinstance(check, bool):
        raise ConfigError(path, "preferences.real_client_check must be true or false")
    prefs = Preferences(
        theme=_opt_str(path, prefs_table, "theme", "preferences"),
        default_scope=scope,
        ca_bundle=_opt_str(path, prefs_table, "ca_bundle", "preferences"),
        real_client_check=check,
        last_profile=_opt_str(path, prefs_table, "last_profile", "preferences"),
    )
    profiles: dict[str, Profile] = {}
    for name, table in profiles_table.items():
        where = f"profiles.{name}"
        if not isinstance(table, dict) or not PROFILE_NAME_RE.fullmatch(name):
            raise ConfigError(path, f"{where} must be a table with a simple name")
        if "api_key" in table or "token" in table:
            raise ConfigError(path, f"{where} holds a key: keys never go in this file (use `profile save --store-key`)")
        betas = table.get("disable_experimental_betas")
        if betas is not None and not isinstance(betas, bool):
            raise ConfigError(path, f"{where}.disable_experimental_betas must be true or false")
        try:
            source = KeySource.parse(_opt_str(path, table, "key", where) or "none")
        except ProfileError as exc:
            raise ConfigError(path, f"{where}.{exc}") from None
        profiles[name] = Profile(
            name=name,
            base_url=_opt_str(path, table, "base_url", where) or "",
            label=_opt_str(path, table, "label", where) or "",
            haiku=_opt_str(path, table, "haiku", where),
            sonnet=_opt_str(path, table, "sonnet", where),
            opus=_opt_str(path, table, "opus", where),
            main_model=_opt_str(path, table, "main_model", where),
            subagent_model=_opt_str(path, table, "subagent_model", where),
            disable_experimental_betas=betas,
            key_source=source,
        )
    extra = {k: v for k, v in data.items() if k not in ("preferences", "profiles")}
    return AppConfig(path=path, preferences=prefs, profiles=profiles, extra=extra)


def _write_private(path: Path, text: str) -> None:
    """Atomic 0600 write: a temp file in the same directory, fsync, rename, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_config(config: AppConfig) -> None:
    _read_toml(config.path)  # a file that does not parse (edited by hand meanwhile) is never overwritten
    prefs = config.preferences
    prefs_table: dict[str, object] = {"real_client_check": prefs.real_client_check}
    for name in ("theme", "default_scope", "ca_bundle", "last_profile"):
        value = getattr(prefs, name)
        if value:
            prefs_table[name] = value
    data: dict[str, object] = {**config.extra, "preferences": prefs_table,
                               "profiles": {name: p.to_toml() for name, p in sorted(config.profiles.items())}}
    _write_private(config.path, HEADER + tomli_w.dumps(data))


def record_last_profile(path: Path, name: str) -> AppConfig:
    """The settings profile `name` filled were written (`profile use`, a save in the app): it is the last used. The
    file is read again first (another run may have changed it) and written only when that changes it."""
    config = load_config(path)
    if config.preferences.last_profile != name:
        config.preferences = replace(config.preferences, last_profile=name)
        save_config(config)
    return config


def with_profile(config: AppConfig, profile: Profile) -> AppConfig:
    return replace(config, profiles={**config.profiles, profile.name: profile})


@dataclass(frozen=True)
class ProfileChange:
    """A rename or delete that was written: the config as saved, and what could not be tidied afterwards (a stored
    key left under the old name), for the caller to say."""

    config: AppConfig
    warning: str | None = None


def _named(config: AppConfig, name: str) -> Profile:
    profile = config.profiles.get(name)
    if profile is None:
        raise ProfileError(f"there is no profile named {name!r} in {config.path}")
    return profile


def rename_profile(config: AppConfig, old: str, new: str, store: KeyStore | None = None) -> ProfileChange:
    """Rename profile `old` to `new` in the file, and move its stored key (`store`: where it is kept).

    Nothing is lost when a write fails: the key is copied to the new name before the file names it (and the copy
    removed again when the file cannot be written), and the old copy goes only once the file is written."""
    profile = _named(config, old)
    check_profile_name(new)
    if new == old:
        return ProfileChange(config)
    if new in config.profiles:
        raise ProfileError(f"a profile named {new!r} already exists: choose another name (or delete that one first)")
    profiles = {n: p for n, p in config.profiles.items() if n != old}
    profiles[new] = replace(profile, name=new)
    last = config.preferences.last_profile
    renamed = replace(config, profiles=profiles,
                      preferences=replace(config.preferences, last_profile=new if last == old else last))
    key = store.get(old) if store is not None and profile.key_source.kind == "stored" else None
    if store is not None and key is not None:
        store.set(new, key)
    try:
        save_config(renamed)
    except BaseException:
        if store is not None and key is not None:
            with contextlib.suppress(Exception):
                store.delete(new)
        raise
    warning = None
    if store is not None and key is not None:
        try:
            store.delete(old)
        except Exception as exc:  # the profile uses the copy under its new name; the old one is only left over
            warning = f"the key stored for {old} could not be removed from {store.description}: {exc}"
    return ProfileChange(renamed, warning)


def delete_profile(config: AppConfig, name: str, store: KeyStore | None = None) -> ProfileChange:
    """Delete profile `name` from the file, then its stored key: a file that cannot be written leaves both."""
    profile = _named(config, name)
    last = config.preferences.last_profile
    remaining = replace(config, profiles={n: p for n, p in config.profiles.items() if n != name},
                        preferences=replace(config.preferences, last_profile=None if last == name else last))
    save_config(remaining)
    warning = None
    if store is not None and profile.key_source.kind == "stored":
        try:
            store.delete(name)
        except Exception as exc:
            warning = f"its stored key could not be removed from {store.description}: {exc}"
    return ProfileChange(remaining, warning)


def preferred_scope(given: str | None, preferences: Preferences | None) -> str:
    """The settings scope to use: the one given (--scope), else the `default_scope` preference, else user."""
    return given or (preferences.default_scope if preferences is not None else None) or "user"


# --- stored keys ------------------------------------------------------------------------------------------------


class KeyStore(Protocol):
    description: str

    def get(self, profile: str) -> str | None: ...

    def set(self, profile: str, key: str) -> None: ...

    def delete(self, profile: str) -> None: ...


class FileKeyStore:
    """`keys.toml` beside the config file, 0600: `[keys]` profile = "key"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"the keys file {path}"

    def _keys(self) -> dict[str, str]:
        data = _read_toml(self.path) or {}
        keys = data.get("keys", {})
        return {k: v for k, v in keys.items() if isinstance(v, str)} if isinstance(keys, dict) else {}

    def get(self, profile: str) -> str | None:
        return self._keys().get(profile)

    def set(self, profile: str, key: str) -> None:
        keys = {**self._keys(), profile: key}
        _write_private(self.path, KEYS_HEADER + tomli_w.dumps({"keys": keys}))

    def delete(self, profile: str) -> None:
        keys = self._keys()
        if keys.pop(profile, None) is not None:
            _write_private(self.path, KEYS_HEADER + tomli_w.dumps({"keys": keys}))


class KeyringStore:
    description = "the system keyring"

    def __init__(self, keyring_module) -> None:
        self._keyring = keyring_module

    def get(self, profile: str) -> str | None:
        return self._keyring.get_password(KEYRING_SERVICE, profile)

    def set(self, profile: str, key: str) -> None:
        self._keyring.set_password(KEYRING_SERVICE, profile, key)

    def delete(self, profile: str) -> None:
        with contextlib.suppress(Exception):  # keyring.errors.PasswordDeleteError: nothing stored
            self._keyring.delete_password(KEYRING_SERVICE, profile)


def _usable_keyring():
    try:
        import keyring
        from keyring.backends import fail
    except Exception:  # not installed (it is an optional extra), or broken
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


def key_store(config_path: Path, env: Mapping[str, str] | None = None) -> KeyStore:
    env = os.environ if env is None else env
    if env.get(KEY_STORE_ENV, "").lower() != "file":
        found = _usable_keyring()
        if found is not None:
            return KeyringStore(found)
    return FileKeyStore(config_path.parent / KEYS_FILE_NAME)


def profile_key(profile: Profile, store: KeyStore | None, env: Mapping[str, str] | None = None) -> str | None:
    """The profile's key from where it says it comes, None when it stores none (or the variable is unset)."""
    env = os.environ if env is None else env
    if profile.key_source.kind == "env":
        return env.get(profile.key_source.env_var or "") or None
    if profile.key_source.kind == "stored" and store is not None:
        return store.get(profile.name)
    return None
