"""`desktop apply|verify|export|remove` (issue 12): Claude Desktop's third-party inference configuration."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from optscale_tui.cli.common import confirm_and_save, read_key, settings_error_text
from optscale_tui.cli.output import EXIT_OK, EXIT_PROBLEM, UsageError, colour_diff, err, out


def _desktop_library():
    from optscale_tui.core.clients.claude_desktop import desktop_locations, load_library
    from optscale_tui.core.config.errors import SettingsError

    try:
        return load_library(desktop_locations())
    except SettingsError as exc:
        raise UsageError(settings_error_text(exc)) from None


def _desktop_catalog(url, key) -> list[str]:
    """The key's catalog, for naming the nearest valid model (empty when it cannot be fetched)."""
    import asyncio

    from optscale_tui.core.gateway.client import GatewayClient

    async def fetch() -> list[str]:
        async with GatewayClient(url, key, timeout=10.0) as client:
            catalog = await client.list_models()
        return [m.id for m in catalog.models] if catalog.probe.ok else []

    try:
        return asyncio.run(fetch())
    except Exception:  # a suggestion is a courtesy: any failure means no suggestion, never a traceback
        return []


class _InEffect:
    """What Claude Code uses now (the doctor's inspection), read only when a flag leaves a value out."""

    def __init__(self) -> None:
        self._config = None

    def __call__(self, name: str) -> tuple[str | None, str]:
        """(the value in effect or None, where it comes from)."""
        if self._config is None:
            from optscale_tui.core.diagnosis.doctor import inspect_environment

            self._config = inspect_environment(cwd=Path.cwd())
        variable = self._config.variables.get(name)
        if variable is None or not variable.value:
            return None, ""
        return variable.value, f"Claude Code ({variable.where})"


def _desktop_values(args: argparse.Namespace, *, need_key: bool, for_desktop: bool = True):
    """(DesktopValues, ConnectionValues, where each value came from): flags first, else what Claude Code uses.
    `for_desktop=False` (Claude Code's managed file): Desktop's model-name rule does not apply."""
    from optscale_tui.core.clients.claude_desktop import DesktopValues
    from optscale_tui.core.connection import ConnectionValues, InputError, TierMapping

    effective = _InEffect()
    sources: list[str] = []
    try:
        url = _desktop_url(args, effective, sources)
        key = _desktop_key(args, effective, sources)
        if key is None and need_key:
            raise UsageError("No API key: pass --api-key-env VAR or --api-key-stdin (Claude Code has none in effect).")
        picked, labels = _desktop_tiers(args, effective, sources)
        tiers = TierMapping(**picked)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    if not tiers.any_tier:
        raise UsageError("Map at least one tier: --haiku, --sonnet or --opus (Claude Code has none mapped).")
    if not for_desktop:
        return DesktopValues(url, key, ()), ConnectionValues(url, key, tiers), sources
    models = _desktop_models(tiers, labels, url, key)
    return DesktopValues(url, key, models), ConnectionValues(url, key, tiers), sources


def _desktop_url(args: argparse.Namespace, effective: _InEffect, sources: list[str]):
    from optscale_tui.core.clients.claude_code.schema import SETTING
    from optscale_tui.core.connection import parse_anthropic_base_url, parse_base_url

    if args.base_url:
        url, came = parse_base_url(args.base_url), "--base-url"
    else:
        text, came = effective(SETTING["url"].key)
        if not text:
            raise UsageError("No Base URL: pass --base-url (Claude Code has none in effect).")
        url = parse_anthropic_base_url(text)
    sources.append(f"Base URL: {came}")
    return url


def _desktop_key(args: argparse.Namespace, effective: _InEffect, sources: list[str]):
    from optscale_tui.core.clients.claude_code.schema import SETTING
    from optscale_tui.core.connection import ApiKey

    key = read_key(args)
    if key is not None:
        sources.append("API key: " + ("--api-key-env" if args.api_key_env else "--api-key-stdin"))
        return key
    token, came = effective(SETTING["key"].key)
    if not token:
        return None
    sources.append(f"API key: {came}")
    return ApiKey(token.strip())


def _desktop_tiers(args: argparse.Namespace, effective: _InEffect,
                   sources: list[str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """(tier -> model, tier -> the /model label chosen for Claude Code, which names the model in Desktop too)."""
    from optscale_tui.core.clients.claude_code.schema import SETTING, TIER_VARIABLES
    from optscale_tui.core.connection import parse_model_name

    picked: dict[str, str | None] = {}
    labels: dict[str, str] = {}
    for tier in ("haiku", "sonnet", "opus"):
        flag = getattr(args, tier)
        if flag is not None:
            picked[tier] = parse_model_name(flag)
            sources.append(f"{tier.capitalize()}: --{tier}")
            continue
        value, came = effective(TIER_VARIABLES[tier])
        picked[tier] = parse_model_name(value) if value else None
        if value:
            sources.append(f"{tier.capitalize()}: {came}")
            label, _ = effective(SETTING[f"name.{tier}"].key)
            if label:
                labels[tier] = label
    return picked, labels


def _desktop_models(tiers, labels: dict[str, str], url, key):
    """Desktop's model list; a model Desktop would refuse is a usage error naming the nearest valid one."""
    from optscale_tui.core.clients.claude_desktop import DesktopModelRejected, desktop_models

    rejected: DesktopModelRejected | None = None
    try:
        return desktop_models(tiers, labels=labels)
    except DesktopModelRejected as exc:
        rejected = exc
    try:  # ask the gateway for its catalog only now, to name the nearest valid model
        desktop_models(tiers, catalog=_desktop_catalog(url, key) if key else [])
    except DesktopModelRejected as exc:
        rejected = exc
    raise UsageError(f"{rejected.reason}\n  cause: {rejected.cause.value}\n  fix:   {rejected.fix}")


def _print_desktop_plan(plan) -> None:
    loc = plan.library.locations
    out(f"Claude Desktop folder: {loc.folder} ({loc.reason})")
    for notice in plan.notices:
        out(f"  note: {notice}")
    if not plan.has_changes:
        out("Nothing to change: Desktop's configuration already has these values.")
        return
    out("")
    out(colour_diff(plan.diff()))


def _desktop_after_save() -> None:
    from optscale_tui.core.causes import Cause, describe
    from optscale_tui.core.clients.claude_desktop.managed import managed_sources
    from optscale_tui.core.clients.claude_desktop.verify import running_desktop

    library = _desktop_library()
    if running_desktop(library.locations.os):
        info = describe(Cause.DESKTOP_RUNNING)
        err(f"warning: {info.message}\n  fix: {info.fix}")
    else:
        out("Desktop reads this when it starts: open it (or quit it fully and reopen it).")
    sources = managed_sources(library.locations)
    if sources:
        info = describe(Cause.DESKTOP_MANAGED_OVERRIDE)
        err(f"warning: {info.message} ({', '.join(map(str, sources))})\n  fix: {info.fix}")


def _save_desktop(plan) -> int:
    from optscale_tui.core.clients.claude_desktop import save_desktop_plan
    from optscale_tui.core.config.errors import SettingsError

    try:
        result = save_desktop_plan(plan)
    except SettingsError as exc:
        raise UsageError(settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write Desktop's configuration: {exc.strerror or exc}") from None
    for verb, saved in [("Saved", r) for r in result.results] + [("Removed", r) for r in result.removed]:
        out(f"{verb} {saved.path}")
        if saved.backup:
            out(f"  backup: {saved.backup}")
    return EXIT_OK


def cmd_desktop_apply(args: argparse.Namespace) -> int:
    from optscale_tui.core.clients.claude_desktop import plan_desktop_apply
    from optscale_tui.core.connection import InputError

    library = _desktop_library()
    values, _, sources = _desktop_values(args, need_key=False)
    for warning in values.url.warnings:
        err(f"warning: {warning}")
    try:
        plan = plan_desktop_apply(library, values)
    except InputError as exc:
        hint = " Pass --api-key-env VAR or --api-key-stdin." if exc.field == "api_key" else ""
        raise UsageError(exc.reason + hint) from None
    out("Values: " + "; ".join(sources))
    _print_desktop_plan(plan)
    if confirm_and_save(plan, f"Write Claude Desktop's configuration in {library.locations.folder}?",
                        lambda: _save_desktop(plan), dry_run=args.dry_run, assume_yes=args.yes):
        _desktop_after_save()
        out("Next: `optscale-tui desktop verify` probes the same URL, key and models.")
    return EXIT_OK


def cmd_desktop_verify(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from optscale_tui.core.verify import report
    from optscale_tui.core.verify.desktop import verify_desktop

    target, done = asyncio.run(verify_desktop(_desktop_library(), ca_bundle=args.ca_bundle))
    rows = done.results
    if args.json:
        out(json.dumps(report.to_json(done, target), indent=2, ensure_ascii=False))
    else:
        out("\n".join(report.target_lines(target)))
        out("")
        seen: set = set()
        for result in rows:
            out(report.result_line(result))
            for line in report.result_details(result, seen):
                out(line)
        out("")
        out(report.verdict_line(done))
    return EXIT_OK if done.ok else EXIT_PROBLEM


def cmd_desktop_export(args: argparse.Namespace) -> int:
    from optscale_tui.core.clients.claude_desktop.mdm import export_code, export_desktop

    if args.with_key and args.output is None and sys.stdout.isatty():
        raise UsageError("--with-key would print the API key on the terminal: add --output FILE (or pipe it).")
    values, connection, sources = _desktop_values(args, need_key=args.with_key, for_desktop=args.target == "desktop")
    if args.target == "code":
        export = export_code(connection, args.target_os, with_key=args.with_key)
    else:
        export = export_desktop(values, args.target_os, with_key=args.with_key)
    err("Values: " + "; ".join(sources))
    if not args.with_key:
        err("The API key is a placeholder (REPLACE_WITH_OPTSCALE_API_KEY): your deployment tool fills it in, or "
             "export again with --with-key.")
    if args.output is None:
        sys.stdout.write(export.content.replace("\r\n", "\n"))
        sys.stdout.flush()
    else:
        _write_export(args.output, export.encoded(), private=export.contains_key)
        err(f"Wrote {args.output}")
    err(f"Deploy it to: {export.destination}")
    return EXIT_OK


def _write_export(path: Path, data: bytes, *, private: bool) -> None:
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)  # a file with the key stays private
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"Could not write {path}: {exc.strerror or exc}") from None


def cmd_desktop_remove(args: argparse.Namespace) -> int:
    from optscale_tui.core.clients.claude_desktop import plan_desktop_remove

    library = _desktop_library()
    plan = plan_desktop_remove(library)
    _print_desktop_plan(plan)
    if confirm_and_save(plan, "Switch Claude Desktop back to Anthropic's own service?", lambda: _save_desktop(plan),
                        dry_run=args.dry_run, assume_yes=args.yes):
        _desktop_after_save()
    return EXIT_OK


DESKTOP_COMMANDS = {
    "apply": cmd_desktop_apply,
    "verify": cmd_desktop_verify,
    "export": cmd_desktop_export,
    "remove": cmd_desktop_remove,
}


def cmd_desktop(args: argparse.Namespace) -> int:
    return DESKTOP_COMMANDS[args.desktop_command](args)

