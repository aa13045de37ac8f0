"""Which settings files Claude Code reads when started in a folder (its layers), in which order, and how each is
loaded: a file that does not parse, or cannot be read, contributes nothing (Claude Code ignores it as a whole).

The order, high → low, measured with the real CLI (2.1.332): managed settings (managed-settings.json, then
managed-settings.d/*.json in alphabetical order, later files win) > local (`<cwd>/.claude/settings.local.json`) >
project (`<cwd>/.claude/settings.json`) > user (`$CLAUDE_CONFIG_DIR/settings.json` or `~/.claude/settings.json`) >
the process environment. How the values in them resolve: effective.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from optscale_tui.core.clients.claude_code.locations import Scope, claude_config_dir, resolve_target
from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import load_settings


class Layer(StrEnum):
    """Where a value comes from. Declared in precedence order, high → low, as Claude Code resolves env."""

    MANAGED = "managed"
    LOCAL = "local"
    PROJECT = "project"
    USER = "user"
    PROCESS = "process"


PRECEDENCE: tuple[Layer, ...] = tuple(Layer)
# The layers that live in the working folder: anyone who can put files in it (a cloned repository) controls them.
FOLDER_LAYERS = frozenset({Layer.PROJECT, Layer.LOCAL})

LAYER_LABEL = {
    Layer.MANAGED: "managed settings",
    Layer.LOCAL: "local project settings",
    Layer.PROJECT: "project settings",
    Layer.USER: "user settings",
    Layer.PROCESS: "the process environment",
}


@dataclass(frozen=True, slots=True)
class SettingsSource:
    """A settings file the doctor looked at (also the ones that are missing or broken)."""

    layer: Layer
    path: Path
    exists: bool
    valid: bool  # False: the file exists but Claude Code ignores it (does not parse / cannot be read)


@dataclass(slots=True)
class LoadedFile:
    layer: Layer
    path: Path
    data: dict | None  # None: missing, unreadable or invalid (contributes nothing)

    def env(self) -> dict[str, object]:
        if not self.data:
            return {}
        env = self.data.get("env")
        return env if isinstance(env, dict) else {}


@dataclass(frozen=True, slots=True)
class UnusableFile:
    """A settings file that exists but Claude Code ignores as a whole: its JSON, or the file itself (a FIFO, a loop)."""

    layer: Layer
    path: Path
    error: SettingsError


def managed_files(paths: Sequence[Path]) -> list[Path]:
    """managed-settings.json first, then each drop-in directory's *.json in alphabetical order (later wins)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted((p for p in path.glob("*.json") if not p.name.startswith(".") and p.is_file()), key=lambda p: p.name)
            )
        elif path.suffix.lower() == ".json" or path.is_file():
            files.append(path)
    return files


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13); loading it reports the loop
        return a.absolute() == b.absolute()


class LayerLoader:
    """Reads each layer's settings file as Claude Code would, keeping what the doctor reports about them: every
    file considered (`sources`), the unusable ones (`unusable`) and notes in plain words."""

    def __init__(self, pending: Mapping[Path, Mapping] | None = None) -> None:
        self.notes: list[str] = []
        self.sources: list[SettingsSource] = []
        self.unusable: list[UnusableFile] = []
        self.pending = dict(pending or {})

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def load(self, layer: Layer, path: Path) -> LoadedFile:
        for pending_path, data in self.pending.items():
            if same_file(pending_path, path):  # as it will be once saved, not as it is on disk
                self.sources.append(SettingsSource(layer, path, True, True))
                self._check_env_block(path, dict(data))
                return LoadedFile(layer, path, dict(data))
        try:
            doc = load_settings(path)
        except SettingsError as exc:
            self.sources.append(SettingsSource(layer, path, True, False))
            self.unusable.append(UnusableFile(layer, path, exc))
            return LoadedFile(layer, path, None)
        except OSError as exc:
            self.sources.append(SettingsSource(layer, path, True, False))
            self.note(f"Could not read {LAYER_LABEL[layer]} {path} ({exc.strerror or exc}); it was left out.")
            return LoadedFile(layer, path, None)
        self.sources.append(SettingsSource(layer, path, doc.exists, True))
        if not doc.exists:
            return LoadedFile(layer, path, None)
        data = doc.data if isinstance(doc.data, dict) else {}
        self._check_env_block(path, data)
        return LoadedFile(layer, path, data)

    def _check_env_block(self, path: Path, data: dict) -> None:
        env = data.get("env")
        if env is None:
            return
        if not isinstance(env, dict):
            self.note(f'"env" in {path} is not an object, so none of its variables apply; it must be {{"NAME": "value"}}.')
            return
        odd = [k for k, v in env.items() if not isinstance(v, str)]
        if odd:
            self.note(
                f"{path} has non-string env values ({', '.join(sorted(odd))}). Claude Code still reads the file, "
                f'but write them as strings (e.g. "600000") to be sure they apply as intended.'
            )


@dataclass(frozen=True, slots=True)
class SettingsPaths:
    """The files Claude Code reads when started in a folder, and the user layer's file as inspected."""

    config_dir: Path  # $CLAUDE_CONFIG_DIR, else ~/.claude
    default_dir: Path  # ~/.claude
    # Set, and pointing somewhere else than ~/.claude (setting it to ~/.claude itself changes nothing).
    config_dir_override: bool
    real_user: Path  # the user file Claude Code itself reads
    user: Path  # the file inspected as the user layer (another one when named, e.g. `--settings`)
    project: Path
    local: Path

    @property
    def user_named(self) -> bool:
        """Another file than Claude Code's own stands in for the user layer."""
        return not same_file(self.user, self.real_user)

    @property
    def has_project_layer(self) -> bool:
        """False when working in the home folder (or wherever <cwd>/.claude is the user's own folder): the
        "project" file is then the user file, so it can neither override it nor be removed as an override."""
        user_dirs = (self.user.parent, self.real_user.parent, self.default_dir)
        return not any(same_file(self.project.parent, d) for d in user_dirs)


def settings_paths(
    *, cwd: Path, env: Mapping[str, str], home: Path | None, platform: str, user_settings: Path | None
) -> SettingsPaths:
    config_dir = claude_config_dir(env, home, platform=platform)
    default_dir = claude_config_dir({}, home, platform=platform)
    where = {"cwd": cwd, "env": env, "home": home, "platform": platform}
    return SettingsPaths(
        config_dir=config_dir,
        default_dir=default_dir,
        config_dir_override=bool(env.get("CLAUDE_CONFIG_DIR", "").strip()) and not same_file(config_dir, default_dir),
        real_user=config_dir / "settings.json",
        user=resolve_target(user_settings, Scope.USER, **where).path,
        project=resolve_target(None, Scope.PROJECT, **where).path,
        local=resolve_target(None, Scope.LOCAL, **where).path,
    )


def load_layers(loader: LayerLoader, paths: SettingsPaths, managed_paths: Sequence[Path]) -> list[LoadedFile]:
    """Every layer's file, high → low. Within managed, later files win, so they come first."""
    managed = [loader.load(Layer.MANAGED, p) for p in managed_files(managed_paths)]
    files: list[LoadedFile] = list(reversed(managed))
    if paths.has_project_layer:
        files.append(loader.load(Layer.LOCAL, paths.local))
        files.append(loader.load(Layer.PROJECT, paths.project))
    files.append(loader.load(Layer.USER, paths.user))
    loader.sources.sort(key=lambda s: PRECEDENCE.index(s.layer))
    return files
