"""Verify Claude Desktop's configuration with the same probes as Claude Code's, plus what only Desktop can say.

The applied library entry becomes a `VerificationTarget` (URL, key, the models by tier) for the shared engine. The
Desktop-only checks need no network and run beside it (`static_checks`, after the engine so a rejected model name
can be matched against the catalog it fetched): the deployment mode, the model names Desktop accepts, managed
configuration that overrides the local one, a running Desktop (it reads its configuration once, at launch) and the
newest `[custom-3p]` lines of Desktop's own log since the configuration was written.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.connection import ApiKey, InputError, mask_secret, parse_anthropic_base_url
from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationTarget

from .library import DesktopLibrary
from .locations import MANAGED_REGISTRY_KEY
from .models import desktop_rejects, nearest_valid_model, tiers_from_models

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


def _listed(command: list[str]) -> list[str]:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def running_desktop(os_name: str, *, proc_root: Path = Path("/proc"),
                    lister: Callable[[], Iterable[str]] | None = None) -> list[str]:
    """Desktop processes found (best effort on macOS and Windows; `lister` replaces the OS query in tests)."""
    if lister is not None:
        return [line for line in lister() if _is_desktop_command(line.split(" "))]
    if os_name == "linux":
        return linux_desktop_processes(proc_root)
    if os_name == "macos":
        return [f"pid {pid}: Claude" for pid in _listed(["pgrep", "-x", "Claude"])]
    lines = _listed(["tasklist", "/FI", "IMAGENAME eq Claude.exe", "/NH", "/FO", "CSV"])
    return [line for line in lines if line.lower().startswith('"claude.exe"')]


# --- managed configuration ------------------------------------------------------------------------------------


def _windows_policy_values() -> list[str]:
    try:
        import winreg  # type: ignore[import-not-found]
    except ImportError:
        return []
    found = []
    for hive, name in ((winreg.HKEY_LOCAL_MACHINE, "HKLM"), (winreg.HKEY_CURRENT_USER, "HKCU")):
        try:
            with winreg.OpenKey(hive, MANAGED_REGISTRY_KEY) as key:
                if winreg.QueryInfoKey(key)[1]:
                    found.append(f"{name}\\{MANAGED_REGISTRY_KEY}")
        except OSError:
            continue
    return found


def managed_sources(library: DesktopLibrary, *, registry: Callable[[], list[str]] | None = None) -> list[str]:
    """Where an administrator's configuration for Desktop is present (it wins over the local one)."""
    found = [str(p) for p in library.locations.managed_files if p.is_file()]
    if library.locations.os == "windows":
        found += (registry or _windows_policy_values)()
    return found


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
    return VerificationTarget(url, key, tiers, source, None, False, tuple(problems))


def _problem(check_id: str, title: str, cause: Cause | None, message: str, fix: str) -> CheckResult:
    return CheckResult(check_id, title, CheckStatus.FAIL, cause, message, fix, fix_command=APPLY_COMMAND)


def _result(check_id: str, title: str, status: CheckStatus, message: str, cause: Cause | None = None,
            fix: str | None = None) -> CheckResult:
    return CheckResult(check_id, title, status, cause, message,
                       fix if fix is not None else (describe(cause).fix if cause else ""))


def static_checks(library: DesktopLibrary, *, catalog: Iterable[str] = (), registry=None, running=None,
                  entry_written: datetime | None = None) -> list[CheckResult]:
    """Desktop-only findings that need no network: mode, model names, managed override, running app, log."""
    rows: list[CheckResult] = []
    entry = library.applied
    mode = library.deployment_mode
    title = "Desktop set to third-party inference"
    if mode == "3p" and entry is not None:
        rows.append(_result("desktop.mode", title, CheckStatus.PASS, f"deploymentMode 3p, applied: {entry.name}."))
    else:
        rows.append(_result("desktop.mode", title, CheckStatus.FAIL,
                            f"deploymentMode is {mode or 'not set'}"
                            + ("" if entry else " and no configuration is applied")
                            + ": Desktop uses Anthropic's own service.", fix=f"Run {APPLY_COMMAND}."))
    models = entry.connection.models if entry else ()
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
    elif entry is not None:
        rows.append(discovery_result(catalog))
    sources = managed_sources(library, registry=registry)
    title = "No managed configuration overrides it"
    if sources:
        rows.append(_result("desktop.managed", title, CheckStatus.WARN,
                            f"Managed configuration present: {', '.join(sources)}.", Cause.DESKTOP_MANAGED_OVERRIDE))
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


def discovery_result(catalog: Iterable[str]) -> CheckResult:
    """No inferenceModels: Desktop lists GET /v1/models and keeps only recognisably-Claude ids. Judged on the catalog
    the shared probes fetched (no second request)."""
    title, fix = "Model names Desktop accepts", "Write the mapped models (optscale-tui desktop apply)."
    ids = list(catalog)
    usable = [m for m in ids if "claude" in m.lower() or "anthropic" in m.lower()]
    if not ids:
        return _result("desktop.models", title, CheckStatus.WARN, "No inferenceModels, and the catalog could not be "
                       "listed here: Desktop's own model discovery is untested.", fix=fix)
    if not usable:
        return _result("desktop.models", title, CheckStatus.FAIL, f"No inferenceModels, and none of the {len(ids)} "
                       "catalog models looks like Claude: Desktop's discovery would find 0 usable models.",
                       Cause.DESKTOP_MODEL_REJECTED, fix=fix)
    return _result("desktop.models", title, CheckStatus.WARN, f"No inferenceModels: Desktop's discovery would keep "
                   f"{len(usable)} of the {len(ids)} catalog models ({', '.join(usable[:3])}"
                   f"{', …' if len(usable) > 3 else ''}).", fix=fix)


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
