"""Plan, show and save Claude Desktop's configuration through the shared plan → diff → save → backup path.

Applying writes (in this order) `configLibrary/optscale-tui.json` (the gateway entry), `_meta.json` (the entry
added and applied; every other entry kept) and `claude_desktop_config.json` (`deploymentMode: "3p"`). Each file is
edited in place by `plan_top_level_edit`, saved by `save_plan` (hash check, backup, atomic, 0600). Removing switches
Desktop back (`"1p"`), takes our entry out of `_meta.json`, keeps the user's others, and then removes our entry's
file (backed up first, so `optscale-tui restore --settings <it>` brings it back).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from optscale_tui.core.config.errors import SettingsError
from optscale_tui.core.config.plan import PlannedChange, SettingsDocument, SettingsPlan, plan_top_level_edit
from optscale_tui.core.config.store import BackupStore, SaveResult, save_plan
from optscale_tui.core.connection import ApiKey, GatewayUrl, InputError, mask_secret

from .library import DesktopLibrary, DesktopModel, LibraryEntry

OUR_ENTRY_ID = "optscale-tui"
OUR_ENTRY_NAME = "OptScale AI gateway"
AUTH_SCHEMES = ("bearer", "x-api-key")
PROVIDER = "gateway"
REASON = "Claude Desktop's gateway configuration"


@dataclass(frozen=True, slots=True)
class DesktopValues:
    url: GatewayUrl
    key: ApiKey | None  # None: keep the key our entry already has
    models: tuple[DesktopModel, ...]
    auth_scheme: str = "bearer"


@dataclass(frozen=True)
class DesktopPlan:
    library: DesktopLibrary
    plans: tuple[SettingsPlan, ...]  # in save order
    notices: tuple[str, ...] = ()
    removals: tuple[SettingsDocument, ...] = ()  # files removed (after a backup) once every plan is saved

    @property
    def has_changes(self) -> bool:
        return any(p.has_changes for p in self.plans) or any(doc.exists for doc in self.removals)

    @property
    def changes(self) -> tuple[tuple[Path, PlannedChange], ...]:
        """Each changed key with its file (secret values are masked by the plan itself)."""
        return tuple((p.document.path, c) for p in self.plans for c in p.changes)

    def diff(self) -> str:
        """One masked unified diff over every file that changes; "" when nothing does."""
        folder = self.library.locations.folder
        parts = []
        for plan in self.plans:
            if plan.has_changes:
                name = _relative(plan.document.path, folder)
                parts.append(masked_diff(plan.document.text, plan.new_text, f"a/{name}", f"b/{name}"))
        for doc in self.removals:
            if doc.exists:
                parts.append(masked_diff(doc.text, "", f"a/{_relative(doc.path, folder)}", "/dev/null"))
        return "".join(parts)


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


# --- masking ------------------------------------------------------------------------------------------------

_SECRET_WORDS = ("key", "token", "secret", "password", "authorization")
_SECRET_MEMBER = re.compile(r'"([^"\\]*(?:key|token|secret|password)[^"\\]*)"\s*:\s*"((?:[^"\\]|\\.)*)"', re.I)


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def secret_values(text: str) -> set[str]:
    """Every secret in a Desktop file: secret-named values at any depth and all custom header values."""
    found: set[str] = set()
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        for match in _SECRET_MEMBER.finditer(text):
            found.add(match.group(2))
        return {s for s in found if s}

    def walk(value: object, secret: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, secret or _is_secret(str(k)) or k in ("inferenceCustomHeaders", "inferenceGatewayHeaders"))
        elif isinstance(value, list):
            for v in value:
                walk(v, secret)
        elif isinstance(value, str) and secret and value:
            found.add(value)

    walk(data, False)
    return found


def mask_text(text: str, secrets: set[str], changed: set[str] = frozenset()) -> str:
    """Replace each secret (as it is spelled inside a JSON string) by its masked form, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        spelled = json.dumps(secret, ensure_ascii=False)[1:-1]
        shown = mask_secret(secret) + (" (changed)" if secret in changed else "")
        text = text.replace(spelled, shown)
    return text


def masked_diff(old_text: str, new_text: str, fromfile: str, tofile: str) -> str:
    if old_text == new_text:
        return ""
    old_secrets, new_secrets = secret_values(old_text), secret_values(new_text)
    everything = old_secrets | new_secrets
    # A new key that masks like the old one (same last 4) would hide the change: say it changed.
    changed = {s for s in new_secrets - old_secrets
               if any(mask_secret(o) == mask_secret(s) for o in old_secrets - new_secrets)}
    old = mask_text(old_text, everything)
    new = mask_text(new_text, everything, changed)
    out = []
    for line in difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     fromfile=fromfile, tofile=tofile):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


# --- planning -----------------------------------------------------------------------------------------------


def _our_entry(library: DesktopLibrary) -> LibraryEntry | None:
    return library.entry(OUR_ENTRY_ID)


def _entry_document(library: DesktopLibrary):
    from optscale_tui.core.config.plan import load_settings

    entry = _our_entry(library)
    return entry.document if entry else load_settings(library.locations.entry(OUR_ENTRY_ID))


def plan_desktop_apply(library: DesktopLibrary, values: DesktopValues) -> DesktopPlan:
    """The three edits that make Desktop use the gateway on its next launch."""
    if values.auth_scheme not in AUTH_SCHEMES:
        raise InputError("auth_scheme", f"The auth scheme must be one of {', '.join(AUTH_SCHEMES)}.")
    if not values.models:
        raise InputError("models", "Map at least one tier to a model: Desktop needs a model list.")
    entry_doc = _entry_document(library)
    key = values.key.value if values.key else entry_doc.data.get("inferenceGatewayApiKey")
    if not isinstance(key, str) or not key:
        raise InputError("api_key", "No API key: Desktop needs one, and its configuration has none to keep.")
    notices: list[str] = list(library.notices)
    if not values.url.is_https and not values.url.is_loopback:
        notices.append("Desktop's documentation asks for an https:// gateway URL.")
    entry_plan = plan_top_level_edit(entry_doc, {
        "inferenceProvider": PROVIDER,
        "inferenceGatewayBaseUrl": values.url.anthropic_base,
        "inferenceGatewayApiKey": key,
        "inferenceGatewayAuthScheme": values.auth_scheme,
        "inferenceModels": [m.to_json() for m in values.models],
    }, reason=REASON)

    meta = library.meta
    entries = meta.data.get("entries")
    entries = list(entries) if isinstance(entries, list) else []
    if not any(isinstance(e, dict) and e.get("id") == OUR_ENTRY_ID for e in entries):
        entries.append({"id": OUR_ENTRY_ID, "name": OUR_ENTRY_NAME})
    previous = library.applied_id
    if previous and previous != OUR_ENTRY_ID:
        notices.append(f"The entry applied until now ({previous!r}) stays in the library: pick it again in "
                       "Desktop's Configure Third-Party Inference window to go back.")
    meta_plan = plan_top_level_edit(meta, {"appliedId": OUR_ENTRY_ID, "entries": entries},
                                    reason="which configuration Desktop applies")
    config_plan = plan_top_level_edit(library.desktop_config, {"deploymentMode": "3p"},
                                      reason="Desktop uses third-party inference")
    return DesktopPlan(library, (entry_plan, meta_plan, config_plan), tuple(notices))


def plan_desktop_remove(library: DesktopLibrary) -> DesktopPlan:
    """Switch Desktop back to Anthropic's own service ("1p"), take our entry out of the library's list and remove its
    file (the key it holds need not stay on disk; a backup of it is kept). The user's other entries stay."""
    plans: list[SettingsPlan] = []
    notices: list[str] = []
    meta = library.meta
    entries = meta.data.get("entries")
    if meta.exists and isinstance(entries, list) and any(
            isinstance(e, dict) and e.get("id") == OUR_ENTRY_ID for e in entries):
        others = [e for e in entries if not (isinstance(e, dict) and e.get("id") == OUR_ENTRY_ID)]
        set_keys: dict[str, object] = {"entries": others}
        remove: list[str] = []
        if library.applied_id == OUR_ENTRY_ID:
            fallback = next((e["id"] for e in reversed(others) if isinstance(e, dict)
                             and isinstance(e.get("id"), str)), None)
            if fallback:
                set_keys = {"appliedId": fallback, **set_keys}
                notices.append(f"Desktop's entry {fallback!r} is applied again.")
            else:
                remove.append("appliedId")
        plans.append(plan_top_level_edit(meta, set_keys, remove, reason="optscale-tui's entry taken out"))
    if library.desktop_config.exists and library.deployment_mode != "1p":
        plans.append(plan_top_level_edit(library.desktop_config, {"deploymentMode": "1p"},
                                         reason="Desktop goes back to Anthropic's own service"))
    entry = _our_entry(library)
    removals = (entry.document,) if entry and entry.document.exists else ()
    if removals:
        notices.append(f"{entry.document.path} is removed after a backup (optscale-tui restore --settings "
                       f"{entry.document.path} lists it).")
    return DesktopPlan(library, tuple(plans), tuple(notices), removals)


# --- saving -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DesktopSaveResult:
    results: tuple[SaveResult, ...]
    removed: tuple[SaveResult, ...] = ()  # the files removed (each backed up first)

    @property
    def backups(self) -> tuple[Path, ...]:
        return tuple(r.backup for r in (*self.results, *self.removed) if r.backup)


def save_desktop_plan(plan: DesktopPlan, *, keep_backups: int = 20, now: datetime | None = None) -> DesktopSaveResult:
    """Save each changed file in order (entry before the files that point at it). If one fails, the files already
    written are put back from their backups (or removed, if they were created) and the error is raised."""
    done: list[tuple[SettingsPlan, SaveResult]] = []
    for file_plan in plan.plans:
        if not file_plan.has_changes:
            continue
        try:
            done.append((file_plan, save_plan(file_plan, keep_backups=keep_backups, now=now)))
        except SettingsError as exc:
            undone = _roll_back(done)
            error = type(exc)(exc.path, f"{exc.reason}{undone}", line=exc.line, column=exc.column)
            raise error from None
    removed: list[SaveResult] = []
    for doc in plan.removals:  # last: the files that listed it no longer do
        try:
            removed.append(BackupStore(doc.path).remove_file(expected_hash=doc.content_hash,
                                                             keep_backups=keep_backups, now=now))
        except SettingsError as exc:
            raise type(exc)(exc.path, f"{exc.reason}{_roll_back(done)}", line=exc.line, column=exc.column) from None
    return DesktopSaveResult(tuple(result for _, result in done), tuple(removed))


def _roll_back(done: list[tuple[SettingsPlan, SaveResult]]) -> str:
    failed: list[str] = []
    for file_plan, result in reversed(done):
        try:
            if result.backup is None:
                file_plan.document.path.unlink(missing_ok=True)
            else:
                store = BackupStore(file_plan.document.path)
                backup_id = next(b.id for b in store.list() if b.path == result.backup)
                store.restore(backup_id)
        except (OSError, StopIteration, SettingsError):
            failed.append(str(result.path))
    if not done:
        return ""
    if failed:
        return f" Could not put back {', '.join(failed)} (see the backups next to it)."
    return " The files written before it were put back."
