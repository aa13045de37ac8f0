"""Managed configuration for Claude Desktop: an administrator's values, which win over the local library.

Read-only here, and only to say where it is and which keys it sets: macOS plist files in `/Library/Managed
Preferences/` (binary or XML, read with plistlib), the Linux `/etc/claude-desktop/managed-settings.json`, and on
Windows the values of `HKLM` / `HKCU\\SOFTWARE\\Policies\\Claude` as `reg query` lists them. `desktop verify` and the
doctor both report what `managed_sources` finds. Tests pass `locations` built on a fake root and `run` (the
`reg query` output), so nothing here reads the machine's /etc or registry in a test.
"""

from __future__ import annotations

import json
import plistlib
import re
from dataclasses import dataclass
from pathlib import Path

from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.files import read_regular_file

from .locations import MANAGED_REGISTRY_KEY, DesktopLocations
from .system import CommandRunner, run_command

# The keys that route Desktop to a gateway: a managed file that sets one of them replaces this app's entry outright.
INFERENCE_KEYS = ("deploymentMode", "inferenceProvider", "inferenceGatewayBaseUrl", "inferenceGatewayApiKey",
                  "inferenceGatewayAuthScheme", "inferenceModels", "inferenceCredentialHelper")
REGISTRY_HIVES = ("HKLM", "HKCU")
_MAX_MANAGED_BYTES = 1024 * 1024
# `reg query` lists one value a line: four spaces, the name, REG_<TYPE>, the data (absent when empty).
_REG_VALUE = re.compile(r"^\s+(?P<name>.+?)\s+REG_[A-Z0-9_]+(?:\s+(?P<data>.*))?$")

@dataclass(frozen=True, slots=True)
class ManagedSource:
    """One place with managed configuration for Desktop: a file or a registry key, and the keys it sets (empty
    when they could not be read)."""

    where: str
    keys: tuple[str, ...] = ()

    @property
    def inference_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.keys if k in INFERENCE_KEYS)

    def __str__(self) -> str:
        shown = self.inference_keys or self.keys
        return f"{self.where} ({', '.join(shown)})" if shown else self.where


def registry_value_names(output: str) -> tuple[str, ...]:
    """The value names `reg query KEY` printed (its subkey lines, which start with HKEY_, are not values)."""
    names = []
    for line in output.splitlines():
        match = _REG_VALUE.match(line)
        if match and not line.lstrip().startswith("HKEY_"):
            names.append(match.group("name"))
    return tuple(names)


def _registry_sources(run: CommandRunner) -> list[ManagedSource]:
    found = []
    for hive in REGISTRY_HIVES:
        key = f"{hive}\\{MANAGED_REGISTRY_KEY}"
        output = run(["reg", "query", key])
        names = registry_value_names(output) if output else ()
        if names:  # an empty key (left by an uninstalled policy) manages nothing
            found.append(ManagedSource(key, names))
    return found


def _file_keys(data: bytes, *, plist: bool) -> tuple[str, ...]:
    try:
        parsed = plistlib.loads(data) if plist else json.loads(data)
    except (ValueError, plistlib.InvalidFileException, UnicodeDecodeError, RecursionError):
        return ()
    return tuple(str(k) for k in parsed) if isinstance(parsed, dict) else ()


def _file_source(path: Path, *, plist: bool) -> ManagedSource | None:
    try:
        data = read_regular_file(path, limit=_MAX_MANAGED_BYTES)
    except SettingsError:  # unreadable or too big: still managed, keys unknown; a folder or a FIFO manages nothing
        return ManagedSource(str(path)) if path.is_file() else None
    if data is None:
        return None
    return ManagedSource(str(path), _file_keys(data, plist=plist))


def managed_sources(locations: DesktopLocations, *, run: CommandRunner | None = None) -> list[ManagedSource]:
    """Where an administrator's configuration for Desktop is present (it wins over the local one)."""
    found = []
    for path in locations.managed_files:
        source = _file_source(path, plist=path.suffix == ".plist")
        if source is not None:
            found.append(source)
    if locations.os == "windows":
        found += _registry_sources(run or run_command)
    return found
