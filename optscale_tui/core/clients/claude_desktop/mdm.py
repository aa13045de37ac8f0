"""The files an administrator's deployment engine (MDM, Intune, Ansible) carries to many machines.

Claude Desktop reads managed configuration before its local one: on macOS the preference domain
`com.anthropic.claudefordesktop` (a `.mobileconfig` profile installs it), on Windows string values under
`HKLM\\SOFTWARE\\Policies\\Claude` (a `.reg` file), on Linux `/etc/claude-desktop/managed-settings.json`. In managed
form every value is a string, arrays included (as JSON text); the same flat strings are used in all three files.
Claude Code's own `managed-settings.json` carries the env block `apply` writes.

The API key is a placeholder unless the caller asks for it: these files are often committed to a deployment repo.
"""

from __future__ import annotations

import json
import plistlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from optscale_tui.core.connection import ApiKey, ConnectionValues

from .locations import LINUX_MANAGED_PATH, MANAGED_DOMAIN, MANAGED_REGISTRY_KEY
from .plan import PROVIDER, DesktopValues

PLACEHOLDER_KEY = "REPLACE_WITH_OPTSCALE_API_KEY"
OS_CHOICES = ("macos", "windows", "linux")
PROFILE_IDENTIFIER = "ai.optscale.tui.claude-desktop"
REG_HEADER = "Windows Registry Editor Version 5.00"
REG_ROOT = "HKEY_LOCAL_MACHINE"


@dataclass(frozen=True, slots=True)
class ManagedExport:
    os: str
    target: str  # "desktop" or "code"
    filename: str  # a suggested file name
    content: str = field(default="", repr=False)  # may hold the key (with_key)
    destination: str = ""  # where it takes effect, in plain words
    contains_key: bool = False

    def encoded(self) -> bytes:
        """The bytes to write to a file: .reg files as regedit writes them (UTF-16 LE with a BOM), others UTF-8."""
        if self.filename.endswith(".reg"):
            return b"\xff\xfe" + self.content.encode("utf-16-le")
        return self.content.encode("utf-8")


def managed_values(values: DesktopValues, *, with_key: bool = False) -> dict[str, str]:
    """Desktop's keys as managed configuration wants them: every value a string, arrays as compact JSON text."""
    if with_key and values.key is None:
        raise ValueError("with_key needs the API key")
    key = values.key.value if with_key and values.key else PLACEHOLDER_KEY
    models = json.dumps([m.to_json() for m in values.models], ensure_ascii=False, separators=(",", ":"))
    return {
        "inferenceProvider": PROVIDER,
        "inferenceGatewayBaseUrl": values.url.anthropic_base,
        "inferenceGatewayApiKey": key,
        "inferenceGatewayAuthScheme": values.auth_scheme,
        "inferenceModels": models,
    }


def _stable_uuid(kind: str, values: DesktopValues) -> str:
    # Re-exporting the same configuration gives the same profile UUIDs, so MDM updates the profile in place.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"optscale-tui:{kind}:{values.url.anthropic_base}")).upper()


def mobileconfig(values: DesktopValues, *, with_key: bool = False) -> str:
    payload = {
        "PayloadType": MANAGED_DOMAIN,
        "PayloadIdentifier": f"{PROFILE_IDENTIFIER}.settings",
        "PayloadUUID": _stable_uuid("payload", values),
        "PayloadVersion": 1,
        "PayloadDisplayName": "Claude Desktop third-party inference",
        **managed_values(values, with_key=with_key),
    }
    profile = {
        "PayloadContent": [payload],
        "PayloadDescription": "Connects Claude Desktop to the OptScale AI gateway (made by optscale-tui).",
        "PayloadDisplayName": "Claude Desktop: OptScale AI gateway",
        "PayloadIdentifier": PROFILE_IDENTIFIER,
        "PayloadScope": "System",
        "PayloadType": "Configuration",
        "PayloadUUID": _stable_uuid("profile", values),
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=False).decode("utf-8")


def reg_escape(value: str) -> str:
    """A REG_SZ value as regedit writes it between quotes. A line break cannot be written in a .reg string."""
    if "\n" in value or "\r" in value or "\x00" in value:
        raise ValueError("a registry string value cannot hold a line break")
    return value.replace("\\", "\\\\").replace('"', '\\"')


def reg_file(values: DesktopValues, *, with_key: bool = False) -> str:
    lines = [REG_HEADER, "", f"[{REG_ROOT}\\{MANAGED_REGISTRY_KEY}]"]
    lines += [f'"{reg_escape(name)}"="{reg_escape(value)}"' for name, value in
              managed_values(values, with_key=with_key).items()]
    return "\r\n".join(lines) + "\r\n"


def linux_managed_settings(values: DesktopValues, *, with_key: bool = False) -> str:
    return json.dumps(managed_values(values, with_key=with_key), indent=2, ensure_ascii=False) + "\n"


def export_desktop(values: DesktopValues, os_name: str, *, with_key: bool = False) -> ManagedExport:
    if os_name == "macos":
        return ManagedExport(os_name, "desktop", "claude-desktop-optscale.mobileconfig",
                             mobileconfig(values, with_key=with_key),
                             f"install the profile with your MDM (preference domain {MANAGED_DOMAIN})", with_key)
    if os_name == "windows":
        return ManagedExport(os_name, "desktop", "claude-desktop-optscale.reg", reg_file(values, with_key=with_key),
                             f"import into {REG_ROOT}\\{MANAGED_REGISTRY_KEY} (reg import, Group Policy or Intune)",
                             with_key)
    if os_name == "linux":
        return ManagedExport(os_name, "desktop", "managed-settings.json",
                             linux_managed_settings(values, with_key=with_key),
                             f"/{LINUX_MANAGED_PATH} (a regular file owned by root, mode 0644)", with_key)
    raise ValueError(f"unknown OS {os_name!r}; one of {', '.join(OS_CHOICES)}")


def export_code(values: ConnectionValues, os_name: str, *, with_key: bool = False) -> ManagedExport:
    """Claude Code's managed-settings.json: the env block exactly as `apply` writes it, from an empty file."""
    from optscale_tui.core.clients.claude_code.locations import managed_settings_paths
    from optscale_tui.core.clients.claude_code.schema import plan_apply
    from optscale_tui.core.config.plan import SettingsDocument

    if os_name not in OS_CHOICES:
        raise ValueError(f"unknown OS {os_name!r}; one of {', '.join(OS_CHOICES)}")
    if with_key and values.key is None:
        raise ValueError("with_key needs the API key")
    key = values.key if with_key and values.key else ApiKey(PLACEHOLDER_KEY)
    platform = {"macos": "darwin", "windows": "win32", "linux": "linux"}[os_name]
    destination = managed_settings_paths(platform)[0]
    empty = SettingsDocument(Path(destination), False, "", {}, "")
    plan = plan_apply(empty, ConnectionValues(values.url, key, values.tiers,
                                              values.disable_experimental_betas, dict(values.display_names)))
    return ManagedExport(os_name, "code", "managed-settings.json", plan.new_text, str(destination), with_key)
