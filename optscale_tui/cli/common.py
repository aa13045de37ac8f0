"""What several commands share: the key from --api-key-*, the settings file (target, load, plan, save), the
confirmation tail of every writing command, and the fix-it commands printed after a check."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from optscale_tui.cli.output import EXIT_OK, UsageError, colour_diff, err, masked, out, remember_secret, shown

if TYPE_CHECKING:
    from optscale_tui.core.config.plan import SettingsDocument
    from optscale_tui.core.connection import ApiKey


def read_key(args: argparse.Namespace) -> ApiKey | None:
    from optscale_tui.core.connection import InputError, parse_api_key

    if getattr(args, "api_key_env", None):
        value = os.environ.get(args.api_key_env)
        if not value:
            raise UsageError(f"Environment variable {args.api_key_env} is not set or empty.")
    elif getattr(args, "api_key_stdin", False):
        if sys.stdin is None or sys.stdin.closed:
            raise UsageError("--api-key-stdin was given but standard input is closed.")
        value = sys.stdin.readline()
        if not value.strip():
            raise UsageError("--api-key-stdin was given but standard input was empty.")
    else:
        return None
    remember_secret(value.strip())
    try:
        key = parse_api_key(value)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    remember_secret(key.value)
    return key


def settings_target(args: argparse.Namespace):
    from optscale_tui.core.app_config import preferred_scope
    from optscale_tui.core.clients.claude_code.locations import Scope, resolve_target

    explicit, scope = getattr(args, "settings", None), getattr(args, "scope", None)
    if explicit is None and scope is None:  # not given: the default_scope preference
        from optscale_tui.core.app_config import ConfigError, default_config_path, load_config

        try:  # read here, not through profile_values (which imports this module)
            scope = preferred_scope(None, load_config(getattr(args, "config", None) or default_config_path()
                                                      ).preferences)
        except ConfigError as exc:  # reported, never rewritten; the scope is then user
            err(f"warning: preferences not used: {exc}")
    return resolve_target(explicit=explicit, scope=Scope(scope or "user"), cwd=Path.cwd())


def load_document(path: Path) -> SettingsDocument:
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.plan import load_settings

    try:
        return load_settings(path)
    except SettingsError as exc:
        raise UsageError(settings_error_text(exc)) from None


def settings_error_text(exc: Exception) -> str:
    from optscale_tui.core.causes import describe

    cause = getattr(exc, "cause", None)
    text = str(exc)
    if cause is not None:
        text += f"\n  cause: {cause.value}\n  fix:   {describe(cause).fix}"
    return text


def inspect_settings(settings: Path | None):
    """The doctor's view of what Claude Code will use (settings: the user file, None for as Claude Code resolves
    it)."""
    from optscale_tui.core.diagnosis.doctor import inspect_environment

    return inspect_environment(cwd=Path.cwd(), user_settings=settings)


def same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return a == b


# --- plan, confirm, save ------------------------------------------------------------------------------------


def confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError("Not on a terminal: add --yes to write without asking (or --dry-run to only look).")
    answer = input(f"{shown(question)} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def confirm_and_save(plan, question: str, save: Callable[[], object], *, dry_run: bool, assume_yes: bool) -> bool:
    """The tail every writing command shares, once its plan is printed: nothing to change, --dry-run, the question
    (or --yes), then save(). True when it saved."""
    if not plan.has_changes:
        return False
    if dry_run:
        out("\nDry run: nothing was written.")
        return False
    if not confirm(question, assume_yes):
        out("Nothing was written.")
        return False
    save()
    return True


def print_plan(plan, target=None) -> None:
    where = f" ({target.scope.value} scope{'; ' + target.reason if target.reason else ''})" if target else ""
    out(f"Settings file: {plan.document.path}{where}")
    for notice in plan.notices:
        out(f"  note: {notice}")
    if not plan.has_changes:
        out("Nothing to change: the file already has these values.")
        return
    for change in plan.changes:
        if change.reason:
            out(f"  {change.key}: {change.reason}")
    out("")
    out(colour_diff(plan.diff()), coloured=True)


def save_settings(plan, force: bool = False) -> int:
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.store import save_plan

    try:
        result = save_plan(plan, force=force)
    except SettingsError as exc:
        raise UsageError(settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write {plan.document.path}: {exc.strerror or exc}") from None
    out(f"Saved {result.path}")
    if result.backup:
        out(f"  backup: {result.backup}")
    if result.original:
        out(f"  original kept for good: {result.original}")
    for notice in result.notices:
        out(f"  note: {notice}")
    return EXIT_OK


# --- fix-it commands ----------------------------------------------------------------------------------------


def fix_rows(fixes) -> list[dict[str, str]]:
    return [{"cause": f.cause.value, "title": f.title, "path": str(f.path), "command": f.command} for f in fixes]


def print_fixes(fixes, *, stream=None) -> None:
    if not fixes:
        return
    write = (lambda line: print(masked(line), file=stream, flush=True)) if stream else out
    write("")
    write("Fix-it commands (each shows the diff and keeps a backup):")
    for fix in fixes:
        write(f"  {fix.title}")
        write(f"    $ {fix.command}")
