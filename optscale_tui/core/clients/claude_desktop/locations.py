"""Where Claude Desktop keeps its third-party-inference configuration, per OS.

The in-app "Configure Third-Party Inference" window writes a `Claude-3p` folder:
macOS `~/Library/Application Support/Claude-3p/`, Windows `%LOCALAPPDATA%\\Claude-3p\\` (older builds
`%APPDATA%\\Claude-3p\\`; the Microsoft Store install keeps either in its virtualised folder
`%LOCALAPPDATA%\\Packages\\Claude_<publisher-id>\\LocalCache\\Local|Roaming\\Claude-3p\\`), Linux `$XDG_CONFIG_HOME/Claude-3p/` (default `~/.config/Claude-3p/`). It holds
`configLibrary/_meta.json` + `configLibrary/<id>.json` and `claude_desktop_config.json` (`deploymentMode`).
Managed configuration (an administrator's, read-only here) wins over it.

Every function takes `platform`, `home`, `env` (and `root` for system paths) so tests never look at the machine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FOLDER_NAME = "Claude-3p"
LIBRARY_DIR = "configLibrary"
META_NAME = "_meta.json"
DESKTOP_CONFIG_NAME = "claude_desktop_config.json"
MANAGED_DOMAIN = "com.anthropic.claudefordesktop"
MANAGED_REGISTRY_KEY = "SOFTWARE\\Policies\\Claude"
LINUX_MANAGED_PATH = "etc/claude-desktop/managed-settings.json"
STORE_PACKAGE_GLOB = "Claude_*"  # the Microsoft Store (MSIX) package folder: Claude_<publisher id>
SYSTEM_ROOT = Path("/")  # where system-wide (managed) files are looked for when no `root` is given


def os_family(platform: str | None = None) -> str:
    """'windows', 'macos' or 'linux' (every other POSIX system is treated like Linux)."""
    plat = (platform or sys.platform).lower()
    if plat.startswith("win") or plat == "nt" or plat == "windows":
        return "windows"
    if plat == "darwin" or plat.startswith("mac"):
        return "macos"
    return "linux"


@dataclass(frozen=True, slots=True)
class DesktopLocations:
    """The files of one Desktop install. `reason` says in plain words why this folder."""

    os: str
    folder: Path  # .../Claude-3p
    reason: str
    log_file: Path
    managed_files: tuple[Path, ...]  # plist / JSON files an administrator deploys (Windows: the registry instead)

    @property
    def library(self) -> Path:
        return self.folder / LIBRARY_DIR

    @property
    def meta(self) -> Path:
        return self.library / META_NAME

    @property
    def desktop_config(self) -> Path:
        return self.folder / DESKTOP_CONFIG_NAME

    def entry(self, entry_id: str) -> Path:
        return self.library / f"{entry_id}.json"


def _home(env: Mapping[str, str], home: Path | None, family: str) -> Path:
    if home is not None:
        return home
    for name in ("USERPROFILE", "HOME") if family == "windows" else ("HOME",):
        if env.get(name):
            return Path(env[name])
    return Path.home()


def desktop_locations(
    *, platform: str | None = None, home: Path | None = None, env: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> DesktopLocations:
    env = os.environ if env is None else env
    root = SYSTEM_ROOT if root is None else root
    family = os_family(platform)
    home_dir = _home(env, home, family)
    if family == "macos":
        folder = home_dir / "Library" / "Application Support" / FOLDER_NAME
        managed_dir = root / "Library" / "Managed Preferences"
        user = env.get("USER") or home_dir.name
        managed = (managed_dir / f"{MANAGED_DOMAIN}.plist", managed_dir / user / f"{MANAGED_DOMAIN}.plist")
        return DesktopLocations(family, folder, "macOS: ~/Library/Application Support/Claude-3p",
                                home_dir / "Library" / "Logs" / FOLDER_NAME / "main.log", managed)
    if family == "windows":
        local = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home_dir / "AppData" / "Local"
        roaming = Path(env["APPDATA"]) if env.get("APPDATA") else home_dir / "AppData" / "Roaming"
        folder, reason = _windows_folder(local, roaming)
        return DesktopLocations(family, folder, reason, folder / "logs" / "main.log", ())
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    # The XDG spec says a relative $XDG_CONFIG_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        folder, reason = Path(xdg) / FOLDER_NAME, "$XDG_CONFIG_HOME is set"
    else:
        folder, reason = home_dir / ".config" / FOLDER_NAME, "Linux: ~/.config/Claude-3p"
    return DesktopLocations(family, folder, reason, folder / "logs" / "main.log", (root / LINUX_MANAGED_PATH,))


def _windows_folder(local: Path, roaming: Path) -> tuple[Path, str]:
    """%LOCALAPPDATA%\\Claude-3p; else the folder that is there: %APPDATA% (older builds), then a Microsoft Store
    install's virtualised copy of either (the most recently changed, if several packages have one)."""
    usual = local / FOLDER_NAME
    if usual.exists():
        return usual, "Windows: %LOCALAPPDATA%\\Claude-3p"
    if (roaming / FOLDER_NAME).is_dir():
        return roaming / FOLDER_NAME, "Windows: %APPDATA%\\Claude-3p (older Desktop builds)"
    store = []
    try:
        packages = sorted((local / "Packages").glob(STORE_PACKAGE_GLOB))
    except OSError:
        packages = []
    for package in packages:
        for profile, variable in (("Local", "%LOCALAPPDATA%"), ("Roaming", "%APPDATA%")):
            candidate = package / "LocalCache" / profile / FOLDER_NAME
            try:
                changed = candidate.stat().st_mtime if candidate.is_dir() else None
            except OSError:
                changed = None
            if changed is not None:
                store.append((changed, candidate, f"Windows: Microsoft Store install, {variable} virtualised in "
                                                  f"Packages\\{package.name}\\LocalCache\\{profile}"))
    if store:
        _, folder, reason = max(store, key=lambda found: found[0])  # max keeps the first of equal times
        return folder, reason
    return usual, "Windows: %LOCALAPPDATA%\\Claude-3p"
