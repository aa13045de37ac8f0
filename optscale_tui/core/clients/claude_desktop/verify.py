"""Verify Claude Desktop's configuration with the same probes as Claude Code's, plus what only Desktop can say.

The applied library entry becomes a `VerificationTarget` (URL, key, the models by tier, the auth scheme its key is
sent with) for the shared engine. The Desktop-only checks run beside it (`static_checks`, after the engine so a
rejected model name can be matched against the catalog it fetched): the deployment mode, the model names Desktop
accepts — or, for an entry without them, what Desktop's own discovery request (`discover_models`, the one network
request here) returns —, managed configuration that overrides the local one (managed.py), a running Desktop (it
reads its configuration once, at launch) and the newest `[custom-3p]` lines of Desktop's log since the write.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.connection import ApiKey, InputError, mask_secret, parse_anthropic_base_url
from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationTarget

from .library import DesktopLibrary
from .managed import ManagedSource, managed_sources
from .models import desktop_rejects, nearest_valid_model, tiers_from_models
from .system import CommandRunner, run_command

if TYPE_CHECKING:
    from optscale_tui.core.gateway.catalog import Catalog

LOG_TAG = "[custom-3p]"
LOG_TAIL_BYTES = 512 * 1024
_STAMP = re.compile(r"^\[?(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})")
_KEYISH = re.compile(r"sk-[A-Za-z0-9._~+\-]{6,}")
_TROUBLE = re.compile(r"error|fail|invalid|reject|denied|unauthori[sz]ed|returned 0 |\b0 usable|not (found|allowed)",
                      re.I)
APPLY_COMMAND = "optscale-tui desktop apply --base-url URL --api-key-stdin"


# --- Desktop's own log ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DesktopLogReport:
    path: Path
    exists: bool
    lines: tuple[str, ...] = ()  # the newest [custom-3p] lines since the configuration was written (keys masked)
    since: datetime | None = None  # when the configuration was written (local time)

    @property
    def trouble(self) -> tuple[str, ...]:
        return tuple(line for line in self.lines if _TROUBLE.search(line))


def _mask_keys(line: str) -> str:
    return _KEYISH.sub(lambda m: mask_secret(m.group()), line)


def read_desktop_log(path: Path, *, since: datetime | None = None, limit: int = 8) -> DesktopLogReport:
    """The newest `[custom-3p]` lines (at most `limit`) written after `since` (naive local time, as Desktop's log
    stamps are). Lines without a stamp count when the log file itself changed after `since`."""
    try:
        size = path.stat().st_size
        modified = datetime.fromtimestamp(path.stat().st_mtime)
        with path.open("rb") as fh:
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return DesktopLogReport(path, False, (), since)
    except OSError:
        return DesktopLogReport(path, True, (), since)
    picked: list[str] = []
    for line in tail.splitlines():
        if LOG_TAG not in line:
            continue
        if since is not None:
            stamp = _STAMP.match(line)
            when = _parse_stamp(stamp.group(1)) if stamp else None
            if (when or modified) < since:
                continue
        picked.append(_mask_keys(line.strip()))
    return DesktopLogReport(path, True, tuple(picked[-limit:]), since)


def _parse_stamp(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None


# --- a running Desktop ------------------------------------------------------------------------------------------


def _is_desktop_command(argv: list[str]) -> bool:
    if not argv or not argv[0]:
        return False
    exe = argv[0].replace("\\", "/")
    name = exe.rsplit("/", 1)[-1]
    # Claude Code's CLI is `claude` (lower case): never count it as Desktop.
    return name in ("Claude", "Claude.exe", "claude-desktop") or "claude-desktop" in exe.lower() \
        or "/Claude.app/" in exe


def linux_desktop_processes(proc_root: Path = Path("/proc")) -> list[str]:
    found: list[str] = []
    try:
        pids = [p for p in proc_root.iterdir() if p.name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            argv = (pid / "cmdline").read_bytes().decode("utf-8", errors="replace").split("\0")
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
        if _is_desktop_command(argv):
            found.append(f"pid {pid.name}: {argv[0]}")
    return found


def _pids_from_pgrep(output: str) -> list[str]:
    return [f"pid {pid}: Claude" for pid in output.split() if pid.isdigit()]


def _pids_from_tasklist(output: str) -> list[str]:
    """`tasklist /FO CSV /NH` rows: "Claude.exe","1234","Console","1","150,000 K" (no row: an INFO line)."""
    found = []
    for row in csv.reader(io.StringIO(output)):
        if len(row) >= 2 and row[0].lower() == "claude.exe" and row[1].isdigit():
            found.append(f"pid {row[1]}: {row[0]}")
    return found


MACOS_PROCESS_QUERY = ["pgrep", "-x", "Claude"]
WINDOWS_PROCESS_QUERY = ["tasklist", "/FI", "IMAGENAME eq Claude.exe", "/NH", "/FO", "CSV"]


def running_desktop(os_name: str, *, proc_root: Path = Path("/proc"), run: CommandRunner | None = None) -> list[str]:
    """Desktop processes found: /proc on Linux, `pgrep` on macOS, `tasklist` on Windows (`run` replaces the command
    in tests). Best effort: a query that fails finds nothing."""
    if os_name == "linux":
        return linux_desktop_processes(proc_root)
    run = run or run_command
    if os_name == "macos":
        return _pids_from_pgrep(run(MACOS_PROCESS_QUERY) or "")
    return _pids_from_tasklist(run(WINDOWS_PROCESS_QUERY) or "")


# --- the target and the Desktop-only checks -------------------------------------------------------------------


def desktop_target(library: DesktopLibrary) -> VerificationTarget:
    """What the shared probes verify: the applied entry's URL, key and models."""
    entry = library.applied
    source = f"Claude Desktop configuration ({entry.document.path})" if entry else "Claude Desktop configuration"
    conn = entry.connection if entry else None
    tiers = tiers_from_models(conn.models) if conn else tiers_from_models(())
    problems: list[CheckResult] = []
    url = key = None
    if conn is None:
        problems.append(_problem("desktop.entry", "Desktop has an applied configuration", None,
                                 f"No configuration is applied in {library.locations.library}.",
                                 "Write one (optscale-tui desktop apply) or pick one in Desktop's Configure "
                                 "Third-Party Inference window."))
    else:
        try:
            url = parse_anthropic_base_url(conn.base_url or "")
        except InputError as exc:
            problems.append(_problem("config.base_url", "Gateway URL configured", exc.cause,
                                     f"inferenceGatewayBaseUrl: {exc.reason}", "Write the gateway URL again."))
        if conn.api_key:
            key = ApiKey(conn.api_key.strip())
        else:
            problems.append(_problem("config.api_key", "API key configured", None,
                                     "The configuration has no inferenceGatewayApiKey.", "Write the API key."))
    scheme = "x-api-key" if conn and (conn.auth_scheme or "").strip().lower() == "x-api-key" else "bearer"
    return VerificationTarget(url, key, tiers, source, None, False, tuple(problems), auth_scheme=scheme)


def _problem(check_id: str, title: str, cause: Cause | None, message: str, fix: str) -> CheckResult:
    return CheckResult(check_id, title, CheckStatus.FAIL, cause, message, fix, fix_command=APPLY_COMMAND)


def _result(check_id: str, title: str, status: CheckStatus, message: str, cause: Cause | None = None,
            fix: str | None = None) -> CheckResult:
    return CheckResult(check_id, title, status, cause, message,
                       fix if fix is not None else (describe(cause).fix if cause else ""))


def static_checks(library: DesktopLibrary, *, catalog: Iterable[str] = (), discovery: Catalog | None = None,
                  managed: list[ManagedSource] | None = None, running: list[str] | None = None,
                  entry_written: datetime | None = None) -> list[CheckResult]:
    """Desktop-only findings: mode, model names (or what Desktop's discovery found: `discovery`, the listing
    `discover_models` fetched), managed override, running app, log. `managed` and `running` replace the OS queries."""
    rows = [mode_check(library), *model_checks(library, catalog, discovery)]
    sources = managed_sources(library.locations) if managed is None else managed
    title = "No managed configuration overrides it"
    if sources:
        rows.append(_result("desktop.managed", title, CheckStatus.WARN,
                            f"Managed configuration present: {', '.join(map(str, sources))}.",
                            Cause.DESKTOP_MANAGED_OVERRIDE))
    else:
        rows.append(_result("desktop.managed", title, CheckStatus.PASS, "None found."))
    processes = running if running is not None else running_desktop(library.locations.os)
    title = "Desktop not running on an older configuration"
    if processes:
        rows.append(_result("desktop.running", title, CheckStatus.WARN,
                            f"Claude Desktop is running ({processes[0]}); it reads its configuration only at launch.",
                            Cause.DESKTOP_RUNNING))
    else:
        rows.append(_result("desktop.running", title, CheckStatus.PASS,
                            "Claude Desktop is not running: it reads the configuration when it starts."))
    rows.append(log_check(library, entry_written=entry_written))
    return rows


def mode_check(library: DesktopLibrary) -> CheckResult:
    entry, mode = library.applied, library.deployment_mode
    title = "Desktop set to third-party inference"
    if mode == "3p" and entry is not None:
        return _result("desktop.mode", title, CheckStatus.PASS, f"deploymentMode 3p, applied: {entry.name}.")
    return _result("desktop.mode", title, CheckStatus.FAIL,
                   f"deploymentMode is {mode or 'not set'}" + ("" if entry else " and no configuration is applied")
                   + ": Desktop uses Anthropic's own service.", fix=f"Run {APPLY_COMMAND}.")


def model_checks(library: DesktopLibrary, catalog: Iterable[str], discovery: Catalog | None) -> list[CheckResult]:
    """The configured model names, and Desktop's own discovery when it will run (row `desktop.models` when the entry
    lists no model, `desktop.discovery` beside the names when modelDiscoveryEnabled is set too)."""
    entry = library.applied
    if entry is None:
        return []
    models, rows = entry.connection.models, []
    title = "Model names Desktop accepts"
    bad = [m.name for m in models if desktop_rejects(m.name)]
    if bad:
        near = nearest_valid_model(bad[0], catalog)
        rows.append(_result("desktop.models", title, CheckStatus.FAIL,
                            f"Desktop rejects {', '.join(bad)} (and with it the whole list)"
                            + (f"; nearest valid name in the catalog: {near}." if near else "."),
                            Cause.DESKTOP_MODEL_REJECTED))
    elif models:
        rows.append(_result("desktop.models", title, CheckStatus.PASS,
                            f"{len(models)} model{'s' if len(models) > 1 else ''}, default {models[0].name}."))
    if needs_discovery(library):
        rows.append(discovery_result(discovery, "desktop.discovery" if models else "desktop.models"))
    return rows


# --- Desktop's model discovery --------------------------------------------------------------------------------


def needs_discovery(library: DesktopLibrary) -> bool:
    """Desktop lists GET {anthropic}/v1/models when the applied entry has no inferenceModels, or asks for it."""
    entry = library.applied
    return entry is not None and (not entry.connection.models or entry.connection.model_discovery is True)


async def discover_models(target: VerificationTarget, *, ca_bundle: Path | None = None,
                          env: Mapping[str, str] | None = None, timeout: float = 20.0) -> Catalog | None:
    """The request Desktop's discovery makes: GET {anthropic}/v1/models with the entry's key in its auth scheme.
    None when there is nothing to send (no URL or key: `desktop_target` already reported it) or the key cannot be
    sent at all (the shared probes report that)."""
    from optscale_tui.core.gateway.client import GatewayClient

    if target.url is None or target.key is None:
        return None
    try:
        async with GatewayClient(target.url, target.key, ca_bundle=ca_bundle, env=env, timeout=timeout,
                                 auth_scheme=target.auth_scheme) as client:
            return await client.list_anthropic_models()
    except InputError:
        return None


def usable_by_desktop(listing: Catalog) -> list[str]:
    """The ids Desktop's discovery keeps: recognisably Claude, or marked with an anthropic_family_tier."""
    return [m.id for m in listing.models if m.family_tier or not desktop_rejects(m.id)]


def discovery_result(listing: Catalog | None, check_id: str = "desktop.models") -> CheckResult:
    """Judge Desktop's discovery as Desktop does: N usable models, or none (Desktop's log then says "returned 0
    usable models" and its model menu stays empty)."""
    title, fix = "Models Desktop discovers", "Write the mapped models (optscale-tui desktop apply)."
    if listing is None:
        return _result(check_id, title, CheckStatus.WARN, "No inferenceModels, and Desktop's model discovery could "
                       "not be tried here (no usable gateway URL or key: see the checks above).", fix=fix)
    where = f"GET {listing.source}"
    if not listing.probe.ok:
        return _result(check_id, title, CheckStatus.FAIL, f"Desktop's discovery ({where}) failed: "
                       f"{listing.probe.detail}", listing.probe.cause or Cause.BAD_RESPONSE)
    usable = usable_by_desktop(listing)
    total = len(listing.models)
    if not usable:
        return _result(check_id, title, CheckStatus.FAIL, f"{where} returned 0 usable models (of {total}): Desktop "
                       "keeps only Claude models, so its model menu would be empty.",
                       Cause.DESKTOP_MODEL_REJECTED, fix=fix)
    shown = ", ".join(usable[:3]) + (", …" if len(usable) > 3 else "")
    return _result(check_id, title, CheckStatus.PASS,
                   f"{where} returned {len(usable)} usable model{'s' if len(usable) != 1 else ''} (of {total}): "
                   f"{shown}.")


def log_check(library: DesktopLibrary, *, entry_written: datetime | None = None) -> CheckResult:
    title = "What Desktop's log says"
    entry = library.applied
    since = entry_written
    if since is None and entry is not None and entry.document.exists:
        since = datetime.fromtimestamp(os.stat(entry.document.path).st_mtime)
    report = read_desktop_log(library.locations.log_file, since=since)
    if not report.exists:
        return _result("desktop.log", title, CheckStatus.SKIP, f"No log yet at {report.path}.")
    if not report.lines:
        return _result("desktop.log", title, CheckStatus.SKIP,
                       f"No {LOG_TAG} lines since the configuration was written: start (or restart) Desktop, "
                       "then verify again.")
    if report.trouble:
        return _result("desktop.log", title, CheckStatus.FAIL, "Desktop said: " + " | ".join(report.trouble[-3:]),
                       Cause.DESKTOP_LOG_ERROR)
    return _result("desktop.log", title, CheckStatus.PASS, "Desktop said: " + report.lines[-1])
