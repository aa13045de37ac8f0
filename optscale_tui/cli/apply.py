"""`apply`, `remove`, `restore`: write Claude Code's settings file (masked diff, confirmation, atomic save, backup)."""

from __future__ import annotations

import argparse
from pathlib import Path

from optscale_tui.cli.common import (
    confirm,
    confirm_and_save,
    inspect_settings,
    load_document,
    print_fixes,
    print_plan,
    read_key,
    save_settings,
    settings_error_text,
    settings_target,
)
from optscale_tui.cli.output import EXIT_OK, UsageError, err, out
from optscale_tui.cli.profile_values import apply_profile_to_args


def cmd_apply(args: argparse.Namespace) -> int:
    apply_settings(args)
    return EXIT_OK


def apply_settings(args: argparse.Namespace) -> bool:
    """`apply` (and `profile use`, which fills args from the profile): plan, print, confirm, save. True when the
    file was written."""
    from optscale_tui.core.clients.claude_code.schema import SETTING, plan_apply
    from optscale_tui.core.connection import ConnectionValues

    profile_key = apply_profile_to_args(args) if getattr(args, "profile", None) else None
    if not args.base_url:
        raise UsageError("--base-url is required (or --profile NAME, whose Base URL is used).")
    target = settings_target(args)
    doc = load_document(target.path)
    url, tiers = _url_and_tiers(args, doc)
    for warning in url.warnings:
        err(f"warning: {warning}")
    if not tiers.any_tier:
        raise UsageError("Map at least one tier: --haiku, --sonnet or --opus with a model name from the gateway "
                         "(see `optscale-tui models`).")
    key = read_key(args) or profile_key
    if key is None and not doc.env.get(SETTING["key"].key) and not doc.data.get("apiKeyHelper"):
        raise UsageError("No API key: pass --api-key-env VAR or --api-key-stdin (the file has none to keep).")
    values = ConnectionValues(url=url, key=key, tiers=tiers,
                              disable_experimental_betas=args.disable_experimental_betas)
    plan = plan_apply(doc, values)
    print_plan(plan, target)
    if not tiers.opus:
        from optscale_tui.core.causes import Cause, describe

        info = describe(Cause.TIER_UNMAPPED)
        err(f"warning: {info.message}\n  fix: {info.fix}  (e.g. --opus {tiers.sonnet or tiers.haiku})")
    saved = plan.document.path
    if not confirm_and_save(plan, f"Write {saved}?", lambda plan=plan: save_settings(plan, args.force),
                            dry_run=args.dry_run, assume_yes=args.yes):
        return False
    del plan, doc  # a big file's text and data need not stay alive while the doctor reads it again
    config = _report_overrides(target)
    _print_next_steps(saved, config)
    return True


def _url_and_tiers(args: argparse.Namespace, doc):
    """The Base URL and tier mapping to write: tier flags left out keep the file's current value."""
    from optscale_tui.core.clients.claude_code.schema import stored_values
    from optscale_tui.core.connection import InputError, TierMapping, parse_base_url, parse_model_name

    kept = stored_values(doc).tiers
    try:
        url = parse_base_url(args.base_url)

        def pick(flag: str | None, tier: str) -> str | None:
            return getattr(kept, tier) if flag is None else parse_model_name(flag)

        tiers = TierMapping(
            haiku=pick(args.haiku, "haiku"),
            sonnet=pick(args.sonnet, "sonnet"),
            opus=pick(args.opus, "opus"),
            subagent_model=parse_model_name(args.subagent_model) if args.subagent_model else None,
            main_model=getattr(args, "main_model", None),  # from --profile
        )
    except InputError as exc:
        raise UsageError(exc.reason) from None
    return url, tiers


def _print_next_steps(saved: Path, config) -> None:
    """The guide's last steps for what was just written (core next_steps): restart, /model, Traces."""
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.clients.claude_code.schema import stored_values
    from optscale_tui.core.config.plan import load_settings
    from optscale_tui.core.diagnosis.next_steps import after_save_steps

    stored = stored_values(load_settings(saved))
    login = any(f.cause is Cause.CLAUDE_LOGIN_PRESENT for f in config.findings)
    out("")
    out("Next: `optscale-tui verify` proves the connection works. Then, in Claude Code:")
    for line in after_save_steps(stored.tiers, stored.display_names, claude_login_present=login):
        out(f"  {line}")


def _report_overrides(target):
    """After a save: what will still override or undermine the file just written (the doctor's findings)."""
    from optscale_tui.core.clients.claude_code.locations import Scope
    from optscale_tui.core.diagnosis.fixes import fixes_for

    config = inspect_settings(target.path if target.scope is Scope.USER else None)
    if not config.findings:
        return config
    out("")
    out("Still in the way:")
    for f in config.findings:
        out(f"  {'✗' if f.severity == 'fail' else '!'} {f.message}")
        out(f"      fix: {f.fix}")
    print_fixes(fixes_for(config))
    return config


def cmd_remove(args: argparse.Namespace) -> int:
    from optscale_tui.core.clients.claude_code.schema import plan_remove

    target = settings_target(args)
    doc = load_document(target.path)
    if not doc.exists:
        out(f"{doc.path} does not exist: nothing to remove.")
        return EXIT_OK
    plan = plan_remove(doc)
    print_plan(plan, target)
    confirm_and_save(plan, f"Remove the gateway keys from {doc.path}?", lambda plan=plan: save_settings(plan, args.force),
                     dry_run=args.dry_run, assume_yes=args.yes)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.store import BackupStore

    target = settings_target(args)
    store = BackupStore(target.path)
    try:
        backups = store.list()
    except OSError as exc:
        raise UsageError(f"The backups in {store.directory} cannot be read ({exc.strerror or exc}).") from None
    if args.list or not args.backup_id:
        _print_backups(target.path, store.directory, backups)
        return EXIT_OK
    chosen = next((b for b in backups if b.id == args.backup_id), None)
    if chosen is None:
        raise UsageError(f"No backup '{args.backup_id}'. See `optscale-tui restore --list`.")
    if chosen.is_broken:
        raise UsageError(settings_error_text(SettingsError(
            chosen.path, f"backup {chosen.id} is broken: {chosen.broken}; it was not restored",
            cause=Cause.BACKUP_BROKEN)))
    if not confirm(f"Replace {target.path} with backup {args.backup_id}? (the current file is backed up first)",
                   args.yes):
        out("Nothing was written.")
        return EXIT_OK
    try:
        result = store.restore(args.backup_id, force=args.force)
    except SettingsError as exc:
        raise UsageError(settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Backup {args.backup_id} cannot be read ({exc.strerror or exc}).") from None
    out(f"Restored {result.path} from {args.backup_id}")
    if result.backup:
        out(f"  the file it replaced is in {result.backup}")
    return EXIT_OK


def _print_backups(path: Path, directory: Path, backups) -> None:
    if not backups:
        out(f"No backups yet for {path} (they are made before every save, in {directory}).")
        return
    out(f"Backups of {path} (newest first), in {directory}:")
    for b in backups:
        tag = ("  (original: no file before the first save; restoring it removes the file)" if b.absent
               else "  (original, kept for good)" if b.is_original else "")
        if b.is_broken:
            tag += f"  BROKEN, never restored: {b.broken}"
        out(f"  {b.id:<24} {b.created:%Y-%m-%d %H:%M:%S}  {b.size:>8} bytes{tag}")
    out("Restore one with: optscale-tui restore BACKUP-ID")
