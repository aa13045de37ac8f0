"""Claude Desktop's configuration library, read strictly.

`configLibrary/_meta.json` says which entry is applied (`{"appliedId", "entries": [{"id", "name"}]}`), each
`configLibrary/<id>.json` holds one configuration's flat keys, and `claude_desktop_config.json` holds
`deploymentMode` ("3p" = third-party inference). Every file goes through `load_settings` (strict JSON, line and
column on error); unknown keys are kept verbatim because every write edits the text, not a re-serialised dict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import SettingsDocument, load_settings
from optscale_tui.core.connection import mask_secret

from .locations import DesktopLocations

# Ids become file names: only plain names, so nothing read from _meta.json can point outside the folder.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
KNOWN_TIERS = ("haiku", "sonnet", "opus")


@dataclass(frozen=True, slots=True)
class DesktopModel:
    """One `inferenceModels` entry: `name` is the gateway's model id; the first model in the list is the default."""

    name: str
    label: str | None = None  # labelOverride: what Desktop's model menu shows
    tier: str | None = None  # anthropicFamilyTier
    is_family_default: bool | None = None
    supports_1m: bool | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name}
        if self.label:
            out["labelOverride"] = self.label
        if self.tier:
            out["anthropicFamilyTier"] = self.tier
        if self.is_family_default is not None:
            out["isFamilyDefault"] = self.is_family_default
        if self.supports_1m is not None:
            out["supports1m"] = self.supports_1m
        return out

    @classmethod
    def from_json(cls, value: object) -> DesktopModel | None:
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            def opt_bool(key: str) -> bool | None:
                v = value.get(key)
                return v if isinstance(v, bool) else None
            label = value.get("labelOverride")
            tier = value.get("anthropicFamilyTier")
            return cls(value["name"], label if isinstance(label, str) else None,
                       tier if isinstance(tier, str) else None, opt_bool("isFamilyDefault"), opt_bool("supports1m"))
        return None


@dataclass(frozen=True, slots=True)
class DesktopConnection:
    """The gateway values one library entry holds (the key is never shown: see `masked_key`)."""

    provider: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    auth_scheme: str | None = None
    models: tuple[DesktopModel, ...] = ()
    model_discovery: bool | None = None

    @property
    def masked_key(self) -> str:
        return mask_secret(self.api_key)


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    id: str
    name: str
    document: SettingsDocument  # exists=False when _meta.json lists it but the file is missing

    @property
    def connection(self) -> DesktopConnection:
        return read_connection(self.document.data)


@dataclass(frozen=True)
class DesktopLibrary:
    locations: DesktopLocations
    meta: SettingsDocument
    desktop_config: SettingsDocument
    entries: tuple[LibraryEntry, ...] = ()
    applied_id: str | None = None
    notices: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return self.locations.folder.is_dir()

    @property
    def applied(self) -> LibraryEntry | None:
        return next((e for e in self.entries if e.id == self.applied_id), None)

    @property
    def deployment_mode(self) -> str | None:
        mode = self.desktop_config.data.get("deploymentMode")
        return mode if isinstance(mode, str) else None

    def entry(self, entry_id: str) -> LibraryEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


def read_connection(data: dict) -> DesktopConnection:
    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    raw_models = data.get("inferenceModels")
    models = tuple(m for m in (DesktopModel.from_json(v) for v in raw_models) if m) if isinstance(raw_models, list) \
        else ()
    discovery = data.get("modelDiscoveryEnabled")
    return DesktopConnection(text("inferenceProvider"), text("inferenceGatewayBaseUrl"),
                             text("inferenceGatewayApiKey"), text("inferenceGatewayAuthScheme"), models,
                             discovery if isinstance(discovery, bool) else None)


def _value_position(doc: SettingsDocument, key: str) -> tuple[int | None, int | None]:
    """Line and column of a top-level key's value, to point at what must be fixed (best effort)."""
    matches = list(re.finditer(rf'"{re.escape(key)}"\s*:\s*', doc.text))
    match = matches[-1] if matches else None  # the last one is the one JSON readers use
    if match is None:
        return None, None
    pos = match.end()
    return doc.text.count("\n", 0, pos) + 1, pos - (doc.text.rfind("\n", 0, pos) + 1) + 1


def _refuse(doc: SettingsDocument, key: str, reason: str) -> SettingsError:
    line, column = _value_position(doc, key)
    return SettingsError(doc.path, reason, line=line, column=column)


def is_safe_entry_id(entry_id: object) -> bool:
    return isinstance(entry_id, str) and bool(_SAFE_ID.fullmatch(entry_id)) and entry_id != "_meta"


def _meta_entries(meta: SettingsDocument) -> list[tuple[str, str]]:
    raw = meta.data.get("entries", [])
    if not isinstance(raw, list):
        raise _refuse(meta, "entries", '"entries" must be a list of {"id", "name"} objects')
    found: list[tuple[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _refuse(meta, "entries", 'every item of "entries" must be an object with a string "id"')
        if not is_safe_entry_id(item["id"]):
            raise _refuse(meta, "entries", f"the entry id {item['id']!r} is not a plain file name; "
                                           "optscale-tui reads and writes only <id>.json inside configLibrary")
        name = item.get("name")
        found.append((item["id"], name if isinstance(name, str) else item["id"]))
    return found


def load_library(locations: DesktopLocations) -> DesktopLibrary:
    """Read the folder strictly. Missing files are fine (nothing configured yet); a file that does not parse, or a
    `_meta.json` of the wrong shape, raises SettingsError with the line and column to fix."""
    meta = load_settings(locations.meta)
    desktop_config = load_settings(locations.desktop_config)
    applied = meta.data.get("appliedId")
    if applied is not None and not isinstance(applied, str):
        raise _refuse(meta, "appliedId", '"appliedId" must be the id (a string) of one of the entries')
    mode = desktop_config.data.get("deploymentMode")
    if mode is not None and not isinstance(mode, str):
        raise _refuse(desktop_config, "deploymentMode", '"deploymentMode" must be "3p" or "1p"')
    notices: list[str] = []
    entries: list[LibraryEntry] = []
    for entry_id, name in _meta_entries(meta):
        doc = load_settings(locations.entry(entry_id))
        if not doc.exists:
            notices.append(f"_meta.json lists the entry {entry_id!r} but {doc.path.name} is missing.")
        models = doc.data.get("inferenceModels")
        if models is not None and not isinstance(models, list):
            raise _refuse(doc, "inferenceModels", '"inferenceModels" must be a list of model names or objects')
        entries.append(LibraryEntry(entry_id, name, doc))
    if applied and not any(e.id == applied for e in entries):
        notices.append(f"_meta.json applies {applied!r}, which is not among its entries.")
    return DesktopLibrary(locations, meta, desktop_config, tuple(entries), applied or None, tuple(notices))
