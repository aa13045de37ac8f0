"""The headless CLI twin. Nothing heavy is imported at module level, so `--version` and `--help` start fast;
each command imports the core pieces it needs, and only the bare command imports Textual.

Exit codes: 0 ok · 1 verification failed or a problem diagnosed · 2 usage or input error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING

from optscale_tui import __version__

if TYPE_CHECKING:
    from optscale_tui.core.connection import ApiKey
    from optscale_tui.core.settings_file import SettingsDocument

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Connect Claude Code and Claude Desktop to an OptScale AI gateway: see the diff, save safely, prove it works.

Run without a command for the full-screen app. The commands below do the same work headless.
The API key is never taken as an argument (it would show in `ps`): use --api-key-env VAR or --api-key-stdin."""

EPILOG = """\
exit codes: 0 ok, 1 verification failed or a problem diagnosed, 2 usage or input error.
examples:
  optscale-tui --demo
  printf %s "$KEY" | optscale-tui apply --base-url https://my.optscale.ai/llm_proxy/<org>/v1 --api-key-stdin \\
      --haiku anthropic/claude-haiku-4-5 --sonnet anthropic/claude-sonnet-4-6 --opus anthropic/claude-opus-4-6
  optscale-tui verify --json"""


class UsageError(Exception):
    """A problem with what the user asked for: printed plainly, exit code 2."""


# The key values this run has read (from --api-key-*, the settings in effect): every line printed is masked against
# them and against anything shaped like an `sk-` key, so no path of the CLI can print a key in clear.
_known_secrets: list[str] = []


def _remember_secret(value: str | None) -> None:
    if value and value not in _known_secrets:
        _known_secrets.append(value)


def _masked(text: str) -> str:
    """Any text before it is printed: no escape sequence or control character (but newline and tab: the CLI's own
    text has them), keys masked. Only _colour_diff adds colour, after this."""
    from optscale_tui.core.secrets import clean_outside_text

    return clean_outside_text(str(text), _known_secrets)


def _shown(text: str | None, *, single_line: bool = True) -> str:
    """Outside text (the gateway's, Claude Code's, a settings file's) as it may reach the terminal."""
    from optscale_tui.core.secrets import clean_outside_text

    return clean_outside_text(text, _known_secrets, single_line=single_line)


def _out(text: str = "", *, coloured: bool = False, json_text: bool = False) -> None:
    # JSON (from _json_text) is escaped and masked already: cleaning it would not change it, but it costs time.
    print(text if coloured or json_text else _masked(text), flush=True)


def _err(text: str) -> None:
    print(_masked(text), file=sys.stderr, flush=True)


# Characters JSON leaves raw with ensure_ascii=False that a terminal still acts on (DEL, C1) or that reorder text.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069"
                          "\ufeff\ud800-\udfff]")


def _json_text(payload: object, *, ensure_ascii: bool = False) -> str:
    """JSON for stdout: keys masked in every string, and no character a terminal acts on, even unescaped ones."""
    import json

    from optscale_tui.core.secrets import mask_keys

    def masked(value: object) -> object:
        if isinstance(value, str):  # the data stays as it is (JSON escapes it), but for keys
            return mask_keys(value, _known_secrets)
        if isinstance(value, dict):
            return {masked(k): masked(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [masked(v) for v in value]
        return value

    text = json.dumps(masked(payload), indent=2, ensure_ascii=ensure_ascii)
    # These only occur inside strings (JSON's own syntax is ASCII), where \uXXXX is the same character.
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class _Parser(argparse.ArgumentParser):
    """argparse quotes what it could not use ("unrecognized arguments: sk-bf-…"): a key typed in the wrong place,
    or an escape sequence, must not come back in clear."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_shown(message)}\n")

    def _print_message(self, message: str, file=None) -> None:
        # Only what could hold a key or a control character pays for the masking (and its import): --version and
        # --help must stay fast.
        risky = message and ("sk-" in message or _CONTROL.search(message) or any(k in message for k in _known_secrets))
        super()._print_message(_masked(message) if risky else message, file)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# --- parser -------------------------------------------------------------------------------------------------

# --timeout bounds, in seconds: Claude Code's own API request timeout is 10 minutes.
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 600.0


def _timeout_seconds(text: str) -> float:
    """--timeout: a finite number of seconds in [MIN_TIMEOUT, MAX_TIMEOUT]. 0, negative, nan and inf would make a
    healthy gateway time out or a hostile one hold the command forever."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}, "
                                         "not text") from None
    if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} "
                                         f"(got {value:g})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="optscale-tui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"optscale-tui {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="start the embedded demo gateway and use a sandbox config dir (never touches ~/.claude)")
    tui = parser.add_argument_group("the full-screen app (no command)")
    target = tui.add_mutually_exclusive_group()
    target.add_argument("--settings", dest="tui_settings", type=Path, metavar="PATH",
                        help="settings file to edit (default: the one Claude Code reads)")
    target.add_argument("--scope", dest="tui_scope", choices=["user", "project", "local"], default="user",
                        help="user, project (.claude/settings.json here) or local (.claude/settings.local.json)")
    tui.add_argument("--ca-bundle", dest="tui_ca_bundle", type=Path, metavar="PATH",
                     help="extra CA certificates (PEM) to trust when talking to the gateway")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_target(p: argparse.ArgumentParser) -> None:
        group = p.add_mutually_exclusive_group()
        group.add_argument("--settings", type=Path, metavar="PATH", help="settings file to use (default: the user file)")
        group.add_argument("--scope", choices=["user", "project", "local"], default="user",
                           help="user (~/.claude/settings.json), project (.claude/settings.json) "
                                "or local (.claude/settings.local.json)")

    def add_force(p: argparse.ArgumentParser) -> None:
        p.add_argument("--force", action="store_true",
                       help="rewrite the settings file even when it is read-only (e.g. 0444); it is left 0600")

    def add_key(p: argparse.ArgumentParser, required: bool) -> None:
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument("--api-key-env", metavar="VAR", help="read the API key from environment variable VAR")
        group.add_argument("--api-key-stdin", action="store_true", help="read the API key from standard input")

    apply = sub.add_parser("apply", help="write the gateway connection into Claude Code's settings",
                           description="Plan the change, print the masked diff, and write it (atomically, with a "
                                       "backup). Tier flags left out keep the file's current value; an empty value "
                                       "(--opus '') unmaps a tier.")
    apply.add_argument("--base-url", metavar="URL",
                       help="the Base URL from OptScale Chat (…/llm_proxy/<org>/v1; /anthropic is derived); "
                            "required unless --profile gives it")
    apply.add_argument("--profile", metavar="NAME", help="take the values (and key source) from this profile; "
                                                         "flags given too win")
    add_key(apply, required=False)
    apply.add_argument("--haiku", metavar="MODEL", help="model for the Haiku tier")
    apply.add_argument("--sonnet", metavar="MODEL", help="model for the Sonnet tier")
    apply.add_argument("--opus", metavar="MODEL", help="model for the Opus tier (the default session uses it)")
    apply.add_argument("--subagent-model", metavar="MODEL", help="CLAUDE_CODE_SUBAGENT_MODEL")
    apply.add_argument("--disable-experimental-betas", action=argparse.BooleanOptionalAction, default=None,
                       help="set (or with --no-… remove) CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1")
    add_target(apply)
    apply.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    apply.add_argument("--yes", "-y", action="store_true", help="write without asking")
    add_force(apply)

    verify = sub.add_parser("verify", help="prove the settings in effect work, the way Claude Code uses them")
    verify.add_argument("--settings", type=Path, metavar="PATH", help="user settings file (default: as Claude Code resolves it)")
    verify.add_argument("--json", action="store_true", help="print one JSON object (format in the README)")
    verify.add_argument("--no-claude-cli", action="store_true", help="skip the real-client check")
    verify.add_argument("--ca-bundle", type=Path, metavar="PATH", help="extra CA certificates (PEM) to trust")
    verify.add_argument("--timeout", type=_timeout_seconds, default=30.0, metavar="SECONDS",
                        help=f"per-check time limit, {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} (default 30)")
    verify.add_argument("--quiet", action="store_true", help="do not stream the model's replies")
    verify.add_argument("--profile", metavar="NAME", help="verify this profile's values instead (writes nothing)")

    models = sub.add_parser("models", help="list the models the gateway offers for this key")
    models.add_argument("--base-url", required=True, metavar="URL")
    add_key(models, required=True)
    models.add_argument("--json", action="store_true")
    models.add_argument("--ca-bundle", type=Path, metavar="PATH")
    models.add_argument("--timeout", type=_timeout_seconds, default=30.0, metavar="SECONDS",
                        help=f"time limit for the whole listing, {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} (default 30)")

    doctor = sub.add_parser("doctor", help="show what Claude Code will really use, and what overrides what")
    doctor.add_argument("--settings", type=Path, metavar="PATH", help="user settings file (default: as resolved)")
    doctor.add_argument("--json", action="store_true")

    restore = sub.add_parser("restore", help="list backups, or restore one (the current file is backed up first)")
    restore.add_argument("backup_id", nargs="?", metavar="BACKUP-ID")
    restore.add_argument("--list", action="store_true", help="list the backups (default when no id is given)")
    add_target(restore)
    restore.add_argument("--yes", "-y", action="store_true")
    add_force(restore)

    fix = sub.add_parser("fix", help="make one fix-it change (the commands verify and doctor print)",
                         description="Redo the doctor's inspection, build the fix-it for CAUSE, show its diff and "
                                     "save it (atomically, with a backup). verify, doctor and apply print the exact "
                                     "command for each fix they offer.")
    fix.add_argument("cause", metavar="CAUSE", help="the cause id the fix is for, e.g. base_url_v1, tier_unmapped")
    fix.add_argument("--settings", type=Path, metavar="PATH",
                     help="user settings file, as given to verify or doctor (default: as Claude Code resolves it)")
    fix.add_argument("--file", type=Path, metavar="PATH",
                     help="only the fix for this settings file (when the cause is found in more than one)")
    fix.add_argument("--haiku", metavar="MODEL", help="tier_unmapped: the model for the Haiku tier")
    fix.add_argument("--sonnet", metavar="MODEL", help="tier_unmapped: the model for the Sonnet tier")
    fix.add_argument("--opus", metavar="MODEL", help="tier_unmapped: the model for the Opus tier")
    fix.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    fix.add_argument("--yes", "-y", action="store_true", help="write without asking")
    add_force(fix)

    remove = sub.add_parser("remove", help="take the gateway keys out of the settings again")
    add_target(remove)
    remove.add_argument("--dry-run", action="store_true")
    remove.add_argument("--yes", "-y", action="store_true")
    _add_desktop_parser(sub, add_key)
    add_force(remove)
    _add_profile_parsers(sub, add_target)
    _add_config_option(parser)
    return parser


# --- shared helpers -----------------------------------------------------------------------------------------


def _read_key(args: argparse.Namespace) -> ApiKey | None:
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
    _remember_secret(value.strip())
    try:
        key = parse_api_key(value)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    _remember_secret(key.value)
    return key


def _target(args: argparse.Namespace):
    from optscale_tui.core.locations import Scope, resolve_target

    return resolve_target(explicit=getattr(args, "settings", None), scope=Scope(getattr(args, "scope", "user")),
                          cwd=Path.cwd())


def _load(path: Path) -> SettingsDocument:
    from optscale_tui.core.settings_file import SettingsError, load_settings

    try:
        return load_settings(path)
    except SettingsError as exc:
        raise UsageError(_settings_error_text(exc)) from None


def _settings_error_text(exc: Exception) -> str:
    from optscale_tui.core.causes import describe

    cause = getattr(exc, "cause", None)
    text = str(exc)
    if cause is not None:
        text += f"\n  cause: {cause.value}\n  fix:   {describe(cause).fix}"
    return text


def _confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError("Not on a terminal: add --yes to write without asking (or --dry-run to only look).")
    answer = input(f"{_shown(question)} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _print_plan(plan, target=None) -> None:
    where = f" ({target.scope.value} scope{'; ' + target.reason if target.reason else ''})" if target else ""
    _out(f"Settings file: {plan.document.path}{where}")
    for notice in plan.notices:
        _out(f"  note: {notice}")
    if not plan.has_changes:
        _out("Nothing to change: the file already has these values.")
        return
    for change in plan.changes:
        if change.reason:
            _out(f"  {change.key}: {change.reason}")
    _out("")
    _out(_colour_diff(plan.diff()), coloured=True)


def _colour_diff(diff: str) -> str:
    diff = _masked(diff)  # a settings file may hold DEL or C1 characters raw (JSON allows them): cleaned first
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return diff
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line}\x1b[0m")
        elif line.startswith("+"):
            out.append(f"\x1b[32m{line}\x1b[0m")
        elif line.startswith("-"):
            out.append(f"\x1b[31m{line}\x1b[0m")
        elif line.startswith("@@"):
            out.append(f"\x1b[36m{line}\x1b[0m")
        else:
            out.append(line)
    return "\n".join(out)


def _save(plan, force: bool = False) -> int:
    from optscale_tui.core.settings_file import SettingsError, save_plan

    try:
        result = save_plan(plan, force=force)
    except SettingsError as exc:
        raise UsageError(_settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write {plan.document.path}: {exc.strerror or exc}") from None
    _out(f"Saved {result.path}")
    if result.backup:
        _out(f"  backup: {result.backup}")
    if result.original:
        _out(f"  original kept for good: {result.original}")
    for notice in result.notices:
        _out(f"  note: {notice}")
    return EXIT_OK


def _fix_rows(fixes) -> list[dict[str, str]]:
    return [{"cause": f.cause.value, "title": f.title, "path": str(f.path), "command": f.command} for f in fixes]


def _print_fixes(fixes, *, stream=None) -> None:
    if not fixes:
        return
    write = (lambda line: print(_masked(line), file=stream, flush=True)) if stream else _out
    write("")
    write("Fix-it commands (each shows the diff and keeps a backup):")
    for fix in fixes:
        write(f"  {fix.title}")
        write(f"    $ {fix.command}")


# --- commands -----------------------------------------------------------------------------------------------


def cmd_apply(args: argparse.Namespace) -> int:
    from optscale_tui.core.connection import (
        ConnectionValues,
        InputError,
        TierMapping,
        parse_base_url,
        parse_model_name,
    )
    from optscale_tui.core.settings_file import plan_apply

    profile_key = _apply_profile_to_args(args) if getattr(args, "profile", None) else None
    if not args.base_url:
        raise UsageError("--base-url is required (or --profile NAME, whose Base URL is used).")
    target = _target(args)
    doc = _load(target.path)
    try:
        url = parse_base_url(args.base_url)
        env = doc.env
        current = {t: env.get(f"ANTHROPIC_DEFAULT_{t.upper()}_MODEL") for t in ("haiku", "sonnet", "opus")}

        def pick(flag: str | None, tier: str) -> str | None:
            if flag is None:  # not given: keep what the file has
                value = current[tier]
                return value if isinstance(value, str) and value else None
            return parse_model_name(flag)

        tiers = TierMapping(
            haiku=pick(args.haiku, "haiku"),
            sonnet=pick(args.sonnet, "sonnet"),
            opus=pick(args.opus, "opus"),
            subagent_model=parse_model_name(args.subagent_model) if args.subagent_model else None,
            main_model=getattr(args, "main_model", None),  # from --profile
        )
    except InputError as exc:
        raise UsageError(exc.reason) from None
    for warning in url.warnings:
        _err(f"warning: {warning}")
    if not tiers.any_tier:
        raise UsageError("Map at least one tier: --haiku, --sonnet or --opus with a model name from the gateway "
                         "(see `optscale-tui models`).")
    key = _read_key(args) or profile_key
    if key is None and not doc.env.get("ANTHROPIC_AUTH_TOKEN") and not doc.data.get("apiKeyHelper"):
        raise UsageError("No API key: pass --api-key-env VAR or --api-key-stdin (the file has none to keep).")
    values = ConnectionValues(url=url, key=key, tiers=tiers,
                              disable_experimental_betas=args.disable_experimental_betas)
    plan = plan_apply(doc, values)
    _print_plan(plan, target)
    if not tiers.opus:
        from optscale_tui.core.causes import Cause, describe

        info = describe(Cause.TIER_UNMAPPED)
        _err(f"warning: {info.message}\n  fix: {info.fix}  (e.g. --opus {tiers.sonnet or tiers.haiku})")
    if not plan.has_changes:
        return EXIT_OK
    if args.dry_run:
        _out("\nDry run: nothing was written.")
        return EXIT_OK
    if not _confirm(f"Write {plan.document.path}?", args.yes):
        _out("Nothing was written.")
        return EXIT_OK
    status = _save(plan, args.force)
    args.saved = True  # `profile use` records the profile as the last used
    saved = plan.document.path
    del plan, doc  # a big file's text and data need not stay alive while the doctor reads it again
    config = _report_overrides(target)
    _print_next_steps(saved, config)
    return status


def _print_next_steps(saved: Path, config) -> None:
    """The guide's last steps for what was just written (core next_steps): restart, /model, Traces."""
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.next_steps import after_save_steps
    from optscale_tui.core.settings_file import load_settings, stored_values

    stored = stored_values(load_settings(saved))
    login = any(f.cause is Cause.CLAUDE_LOGIN_PRESENT for f in config.findings)
    _out("")
    _out("Next: `optscale-tui verify` proves the connection works. Then, in Claude Code:")
    for line in after_save_steps(stored.tiers, stored.display_names, claude_login_present=login):
        _out(f"  {line}")


def _report_overrides(target):
    """After a save: what will still override or undermine the file just written (the doctor's findings)."""
    from optscale_tui.core.fixes import fixes_for
    from optscale_tui.core.locations import Scope

    config = _inspect(target.path if target.scope is Scope.USER else None)
    if not config.findings:
        return config
    _out("")
    _out("Still in the way:")
    for f in config.findings:
        _out(f"  {'✗' if f.severity == 'fail' else '!'} {f.message}")
        _out(f"      fix: {f.fix}")
    _print_fixes(fixes_for(config))
    return config


def cmd_fix(args: argparse.Namespace) -> int:
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.connection import InputError, parse_model_name
    from optscale_tui.core.fixes import fixes_for

    try:
        cause = Cause(args.cause)
    except ValueError:
        raise UsageError(f"Unknown cause id {args.cause!r}: use one that verify or doctor printed.") from None
    try:
        tiers = {t: parse_model_name(m) for t in ("haiku", "sonnet", "opus") if (m := getattr(args, t))}
    except InputError as exc:
        raise UsageError(exc.reason) from None
    if args.settings is not None and os.path.lexists(args.settings):
        _load(args.settings)  # a file that does not parse (or is a FIFO, a loop, …) is an input error (exit 2)
    config = _inspect(args.settings)
    fixes = [f for f in fixes_for(config, [cause], tier_models=tiers or None)
             if f.cause is cause and (args.file is None or _same_path(f.path, args.file))]
    if not fixes:
        _out(f"No fix-it for {cause.value} applies to these settings now: nothing to change.")
        return EXIT_OK
    status = EXIT_OK
    for fix in fixes:
        _out(fix.title)
        doc = _load(fix.path)
        plan = fix.plan()
        _print_plan(plan)
        if not plan.has_changes:
            continue
        if args.dry_run:
            _out("\nDry run: nothing was written.")
            continue
        if not _confirm(f"Write {doc.path}?", args.yes):
            _out("Nothing was written.")
            continue
        status = max(status, _save(plan, args.force))
    return status


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return a == b


def cmd_remove(args: argparse.Namespace) -> int:
    from optscale_tui.core.settings_file import plan_remove

    target = _target(args)
    doc = _load(target.path)
    if not doc.exists:
        _out(f"{doc.path} does not exist: nothing to remove.")
        return EXIT_OK
    plan = plan_remove(doc)
    _print_plan(plan, target)
    if not plan.has_changes or args.dry_run:
        if args.dry_run and plan.has_changes:
            _out("\nDry run: nothing was written.")
        return EXIT_OK
    if not _confirm(f"Remove the gateway keys from {doc.path}?", args.yes):
        _out("Nothing was written.")
        return EXIT_OK
    return _save(plan, args.force)


def cmd_restore(args: argparse.Namespace) -> int:
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.settings_file import BackupStore, SettingsError

    target = _target(args)
    store = BackupStore(target.path)
    try:
        backups = store.list()
    except OSError as exc:
        raise UsageError(f"The backups in {store.directory} cannot be read ({exc.strerror or exc}).") from None
    if args.list or not args.backup_id:
        if not backups:
            _out(f"No backups yet for {target.path} (they are made before every save, in {store.directory}).")
            return EXIT_OK
        _out(f"Backups of {target.path} (newest first), in {store.directory}:")
        for b in backups:
            tag = ("  (original: no file before the first save; restoring it removes the file)" if b.absent
                   else "  (original, kept for good)" if b.is_original else "")
            if b.is_broken:
                tag += f"  BROKEN, never restored: {b.broken}"
            _out(f"  {b.id:<24} {b.created:%Y-%m-%d %H:%M:%S}  {b.size:>8} bytes{tag}")
        _out("Restore one with: optscale-tui restore BACKUP-ID")
        return EXIT_OK
    chosen = next((b for b in backups if b.id == args.backup_id), None)
    if chosen is None:
        raise UsageError(f"No backup '{args.backup_id}'. See `optscale-tui restore --list`.")
    if chosen.is_broken:
        raise UsageError(_settings_error_text(SettingsError(
            chosen.path, f"backup {chosen.id} is broken: {chosen.broken}; it was not restored",
            cause=Cause.BACKUP_BROKEN)))
    if not _confirm(f"Replace {target.path} with backup {args.backup_id}? (the current file is backed up first)",
                    args.yes):
        _out("Nothing was written.")
        return EXIT_OK
    try:
        result = store.restore(args.backup_id, force=args.force)
    except SettingsError as exc:
        raise UsageError(_settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Backup {args.backup_id} cannot be read ({exc.strerror or exc}).") from None
    _out(f"Restored {result.path} from {args.backup_id}")
    if result.backup:
        _out(f"  the file it replaced is in {result.backup}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    import asyncio

    from optscale_tui.core.causes import describe
    from optscale_tui.core.connection import InputError, parse_base_url
    from optscale_tui.core.gateway import GatewayClient

    try:
        url = parse_base_url(args.base_url)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    key = _read_key(args)
    assert key is not None

    try:
        client = GatewayClient(url, key, ca_bundle=args.ca_bundle, timeout=args.timeout)
    except InputError as exc:  # an unreadable CA file
        raise UsageError(exc.reason) from None

    async def fetch():
        async with client:
            return await client.list_models()

    catalog = asyncio.run(fetch())
    probe = catalog.probe
    if args.json:
        # JSON escapes control characters itself; keys are masked (_json_text), as everywhere.
        _out(json_text=True, text=_json_text({
            "ok": probe.ok,
            "source": catalog.source,
            "models": [{"id": m.id, "display_name": m.display_name, "owned_by": m.owned_by} for m in catalog.models],
            "cause": probe.cause.value if probe.cause else None,
            "message": probe.detail,
            "fix": describe(probe.cause).fix if probe.cause else "",
            "request_ids": dict(probe.request_ids),
        }, ensure_ascii=True))
    elif probe.ok:
        _out(f"{len(catalog.models)} models from {_shown(catalog.source)}:")
        altered = 0
        for m in catalog.models:
            shown = _shown(m.id)
            if shown != m.id:  # what is printed is not the id: it must not be copied into a mapping as is
                altered += 1
                shown += "  (!)"
            _out(f"  {shown}")
        if altered:
            _err(f"warning: {altered} model id{'s' if altered != 1 else ''} marked (!) held control characters or "
                 "something shaped like an API key; shown cleaned, and refused as a tier model.")
    else:
        info = describe(probe.cause) if probe.cause else None
        _err(f"✗ Could not list models: {_shown(probe.detail or (info.message if info else ''))}")
        if info:
            _err(f"  cause: {info.cause.value}\n  fix:   {info.fix}")
    return EXIT_OK if probe.ok else EXIT_PROBLEM


def _inspect(settings: Path | None):
    from optscale_tui.core.doctor import inspect_environment

    return inspect_environment(cwd=Path.cwd(), user_settings=settings)


def _run_precedence_note() -> str:
    from optscale_tui.core.session_run import PRECEDENCE_NOTE

    return PRECEDENCE_NOTE


def cmd_doctor(args: argparse.Namespace) -> int:

    from optscale_tui.core.fixes import fixes_for

    config = _inspect(args.settings)
    fixes = fixes_for(config)
    if args.json:
        _out(json_text=True, text=_json_text({
            "ok": not any(f.severity == "fail" for f in config.findings),
            "user_settings": str(config.user_settings),
            "variables": [
                {"name": v.name, "value": v.display, "source": v.source.value,
                 "source_path": str(v.source_path) if v.source_path else None,
                 "overridden": [{"source": layer.value, "path": str(p) if p else None} for layer, p in v.overridden]}
                for v in config.variables.values()
            ],
            "findings": [{"cause": f.cause.value, "severity": f.severity, "message": f.message, "fix": f.fix}
                         for f in config.findings],
            "notes": list(getattr(config, "notes", ())),
            "run_precedence": _run_precedence_note(),
            "fixes": _fix_rows(fixes),
        }, ensure_ascii=True))
    else:
        _out(f"Claude Code reads user settings from {config.user_settings}")
        _out("")
        # The value last: a long one (a URL) pushed the source column out of line.
        rows = [(v, v.source.value + (f" ({v.source_path})" if v.source_path else ""))
                for v in config.variables.values()]
        name_w = max([len("variable"), *(len(v.name) for v, _ in rows)])
        source_w = max([len("source"), *(len(where) for _, where in rows)])
        _out(f"{'variable':<{name_w}}  {'source':<{source_w}}  value")
        for v, where in rows:
            _out(f"{v.name:<{name_w}}  {where:<{source_w}}  {v.display}")
            for layer, p in v.overridden:
                _out(f"{'':<{name_w}}    overrides {layer.value}{f' ({p})' if p else ''}")
        _out("")
        if not config.findings:
            _out("✓ No conflicts: nothing overrides the gateway settings.")
        for f in config.findings:
            _out(f"{'✗' if f.severity == 'fail' else '!'} {f.message}")
            _out(f"    cause: {f.cause.value}")
            _out(f"    fix:   {f.fix}")
        for note in getattr(config, "notes", ()):
            _out(f"  note: {note}")
        _out(f"  note: {_run_precedence_note()}")
        _print_fixes(fixes)
    return EXIT_PROBLEM if any(f.severity == "fail" for f in config.findings) else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace

    from optscale_tui.core import report
    from optscale_tui.core.verify import (
        CheckFinished,
        TokenChunk,
        VerificationDone,
        VerificationPlanned,
        VerifyOptions,
        run_verification,
        target_from_effective,
    )

    if args.settings is not None and os.path.lexists(args.settings):
        _load(args.settings)  # a file that does not parse (or is a FIFO, a loop, …) is an input error (exit 2)
    config = _inspect(args.settings)
    if getattr(args, "profile", None):  # the profile's values, as they would be used; nothing is read or written
        target = _profile_target(args)
    else:
        target = target_from_effective(config, cwd=Path.cwd())
    if target.key is not None:
        _remember_secret(target.key.value)
    preferences = _preferences(args)
    options = VerifyOptions(ca_bundle=args.ca_bundle or (Path(preferences.ca_bundle) if preferences.ca_bundle
                                                         else None), check_timeout=args.timeout)
    if not args.no_claude_cli and preferences.real_client_check and not target.problems:
        from optscale_tui.core.claude_cli import real_client

        client = real_client(target, cwd=Path.cwd(), timeout=args.timeout)
        options = replace(options, extra_checks=tuple(client.checks), extra_session=client)
    stream = not args.json and not args.quiet
    done_box: list[VerificationDone] = []

    async def run() -> None:
        # One reply streams live at a time; replies of other checks are kept and printed whole, and lines of checks
        # that finish meanwhile wait, so a reply is never cut in half by another check's result.
        live: str | None = None
        buffered: dict[str, list[str]] = {}
        waiting: list[tuple[object, str]] = []  # (result, its reply text) printed after the live reply
        seen: set = set()  # causes already explained above: later checks failing for the same one get one line
        shown: set[str] = set()  # the checks printed (the doctor's findings are summed up in the "config" one)

        def result_lines(result, text: str) -> list[str]:
            # Rendered when printed (not when finished), so "same cause as above" always has the full one above.
            reply = [f"  [{result.id}] {reply_text(text)}"] if text else []
            return [_shown(line) for line in (*reply, report.result_line(result), *report.result_details(result, seen))]

        def reply_text(text: str) -> str:
            # A reply's own line breaks are indented, so no line of it starts where our result lines do (a reply
            # could otherwise print a line that reads like "✓ PASS …").
            return _shown(text, single_line=False).replace("\n", "\n      ")

        async for event in run_verification(target, options):
            if args.json:
                if isinstance(event, VerificationDone):
                    done_box.append(event)
                continue
            if isinstance(event, VerificationPlanned):
                _out("\n".join(_shown(line) for line in report.target_lines(event.target)))
                _out("")
            elif isinstance(event, TokenChunk) and stream:
                if live is None:
                    live = event.check_id
                    sys.stdout.write(f"  [{live}] " + reply_text("".join(buffered.pop(live, []))))  # what came before
                if event.check_id == live:
                    sys.stdout.write(reply_text(event.text))  # cleaned in core already; this is the last guard
                    sys.stdout.flush()
                else:
                    buffered.setdefault(event.check_id, []).append(event.text)
            elif isinstance(event, CheckFinished):
                result = event.result
                shown.add(result.id)
                text = "".join(buffered.pop(result.id, []))
                if live is not None and result.id != live:
                    waiting.append((result, text))
                    continue
                if live is not None:  # the live reply is complete: end its line, then what waited
                    _out("")
                    live = None
                for done_result, done_text in [(result, text), *waiting]:
                    for line in result_lines(done_result, done_text):
                        _out(line)
                waiting.clear()
            elif isinstance(event, VerificationDone):
                for done_result, done_text in waiting:
                    for line in result_lines(done_result, done_text):
                        _out(line)
                done_box.append(event)
                _out("")
                _out(report.verdict_line(event, shown))  # counts what was printed, not the --json-only rows

    asyncio.run(run())
    done = done_box[0]
    from optscale_tui.core.fixes import fixes_for

    fixes = fixes_for(config, [r.cause for r in done.results if r.cause], catalog=done.catalog)
    if getattr(args, "profile", None):
        fixes = []  # they fix the settings file, which a profile's verification did not look at
    if args.json:
        payload = report.to_json(done, target)
        payload["fixes"] = _fix_rows(fixes)
        _out(json_text=True, text=_json_text(payload))
    else:
        _print_fixes(fixes)
        for line in report.closing_lines(done, target):  # Traces: where, when, which ids; what is left to do
            _out(line)
    return EXIT_OK if done.ok else EXIT_PROBLEM


# --- Claude Desktop (issue 12): `optscale-tui desktop apply|verify|export|remove` ---------------------------------


def _add_desktop_parser(sub, add_key) -> None:
    desktop = sub.add_parser("desktop", help="connect Claude Desktop: apply, verify, export for MDM, remove",
                             description="Claude Desktop's third-party inference configuration (the Claude-3p "
                                         "folder). Values left out are taken from what Claude Code uses now.")
    actions = desktop.add_subparsers(dest="desktop_command", metavar="ACTION", required=True)

    def add_values(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-url", metavar="URL", help="the Base URL from OptScale Chat (default: Claude Code's)")
        add_key(p, required=False)
        for tier in ("haiku", "sonnet", "opus"):
            p.add_argument(f"--{tier}", metavar="MODEL", help=f"model for the {tier.capitalize()} tier "
                                                              "(default: Claude Code's)")

    apply = actions.add_parser("apply", help="write Desktop's gateway configuration (masked diff, backup)")
    add_values(apply)
    apply.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    apply.add_argument("--yes", "-y", action="store_true", help="write without asking")
    verify = actions.add_parser("verify", help="probe Desktop's configuration and read back what Desktop said")
    verify.add_argument("--json", action="store_true", help="machine-readable result")
    verify.add_argument("--ca-bundle", type=Path, metavar="PATH", help="extra CA certificates (PEM) to trust")
    export = actions.add_parser("export", help="the file an MDM tool deploys (key as a placeholder unless asked)")
    add_values(export)
    export.add_argument("--os", required=True, choices=["macos", "windows", "linux"], dest="target_os")
    export.add_argument("--target", choices=["desktop", "code"], default="desktop",
                        help="desktop (default) or code: Claude Code's managed-settings.json")
    export.add_argument("--with-key", action="store_true", help="put the real API key in the file")
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    remove = actions.add_parser("remove", help="switch Desktop back to Anthropic's service; other entries stay")
    remove.add_argument("--dry-run", action="store_true")
    remove.add_argument("--yes", "-y", action="store_true")


def _desktop_library():
    from optscale_tui.core.clients.claude_desktop import desktop_locations, load_library
    from optscale_tui.core.settings_file import SettingsError

    try:
        return load_library(desktop_locations())
    except SettingsError as exc:
        raise UsageError(_settings_error_text(exc)) from None


def _desktop_catalog(url, key) -> list[str]:
    """The key's catalog, for naming the nearest valid model (empty when it cannot be fetched)."""
    import asyncio

    from optscale_tui.core.gateway import GatewayClient

    async def fetch() -> list[str]:
        async with GatewayClient(url, key, timeout=10.0) as client:
            catalog = await client.list_models()
        return [m.id for m in catalog.models] if catalog.probe.ok else []

    try:
        return asyncio.run(fetch())
    except Exception:  # a suggestion is a courtesy: any failure means no suggestion, never a traceback
        return []


def _desktop_values(args: argparse.Namespace, *, need_key: bool, for_desktop: bool = True):
    """(DesktopValues, ConnectionValues, where each value came from): flags first, else what Claude Code uses.
    `for_desktop=False` (Claude Code's managed file): Desktop's model-name rule does not apply."""
    from optscale_tui.core.clients.claude_desktop import DesktopModelRejected, DesktopValues, desktop_models
    from optscale_tui.core.connection import (
        ApiKey,
        ConnectionValues,
        InputError,
        TierMapping,
        parse_anthropic_base_url,
        parse_base_url,
        parse_model_name,
    )

    config = None
    sources: list[str] = []

    def effective(name: str) -> tuple[str | None, str]:
        nonlocal config
        if config is None:
            from optscale_tui.core.doctor import inspect_environment

            config = inspect_environment(cwd=Path.cwd())
        variable = config.variables.get(name)
        if variable is None or not variable.value:
            return None, ""
        return variable.value, f"Claude Code ({variable.where})"

    try:
        if args.base_url:
            url, came = parse_base_url(args.base_url), "--base-url"
        else:
            text, came = effective("ANTHROPIC_BASE_URL")
            if not text:
                raise UsageError("No Base URL: pass --base-url (Claude Code has none in effect).")
            url = parse_anthropic_base_url(text)
        sources.append(f"Base URL: {came}")
        key = _read_key(args)
        if key is not None:
            sources.append("API key: " + ("--api-key-env" if args.api_key_env else "--api-key-stdin"))
        else:
            token, came = effective("ANTHROPIC_AUTH_TOKEN")
            if token:
                key = ApiKey(token.strip())
                sources.append(f"API key: {came}")
        if key is None and need_key:
            raise UsageError("No API key: pass --api-key-env VAR or --api-key-stdin (Claude Code has none in effect).")
        picked: dict[str, str | None] = {}
        labels: dict[str, str] = {}
        for tier in ("haiku", "sonnet", "opus"):
            flag = getattr(args, tier)
            if flag is not None:
                picked[tier] = parse_model_name(flag)
                sources.append(f"{tier.capitalize()}: --{tier}")
            else:
                value, came = effective(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL")
                picked[tier] = parse_model_name(value) if value else None
                if value:
                    sources.append(f"{tier.capitalize()}: {came}")
                    label, _ = effective(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL_NAME")
                    if label:  # the /model label chosen for Claude Code names the model in Desktop too
                        labels[tier] = label
        tiers = TierMapping(**picked)
    except InputError as exc:
        raise UsageError(exc.reason) from None
    if not tiers.any_tier:
        raise UsageError("Map at least one tier: --haiku, --sonnet or --opus (Claude Code has none mapped).")
    if not for_desktop:
        return DesktopValues(url, key, ()), ConnectionValues(url, key, tiers), sources
    rejected: DesktopModelRejected | None = None
    try:
        models = desktop_models(tiers, labels=labels)
    except DesktopModelRejected as exc:
        rejected = exc
    if rejected is not None:  # ask the gateway for its catalog only now, to name the nearest valid model
        try:
            desktop_models(tiers, catalog=_desktop_catalog(url, key) if key else [])
        except DesktopModelRejected as exc:
            rejected = exc
        raise UsageError(f"{rejected.reason}\n  cause: {rejected.cause.value}\n  fix:   {rejected.fix}")
    return DesktopValues(url, key, models), ConnectionValues(url, key, tiers), sources


def _print_desktop_plan(plan) -> None:
    loc = plan.library.locations
    _out(f"Claude Desktop folder: {loc.folder} ({loc.reason})")
    for notice in plan.notices:
        _out(f"  note: {notice}")
    if not plan.has_changes:
        _out("Nothing to change: Desktop's configuration already has these values.")
        return
    _out("")
    _out(_colour_diff(plan.diff()))


def _desktop_after_save() -> None:
    from optscale_tui.core.causes import Cause, describe
    from optscale_tui.core.clients.claude_desktop.verify import managed_sources, running_desktop

    library = _desktop_library()
    if running_desktop(library.locations.os):
        info = describe(Cause.DESKTOP_RUNNING)
        _err(f"warning: {info.message}\n  fix: {info.fix}")
    else:
        _out("Desktop reads this when it starts: open it (or quit it fully and reopen it).")
    sources = managed_sources(library)
    if sources:
        info = describe(Cause.DESKTOP_MANAGED_OVERRIDE)
        _err(f"warning: {info.message} ({', '.join(sources)})\n  fix: {info.fix}")


def _save_desktop(plan) -> int:
    from optscale_tui.core.clients.claude_desktop import save_desktop_plan
    from optscale_tui.core.settings_file import SettingsError

    try:
        result = save_desktop_plan(plan)
    except SettingsError as exc:
        raise UsageError(_settings_error_text(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write Desktop's configuration: {exc.strerror or exc}") from None
    for saved in result.results:
        _out(f"Saved {saved.path}")
        if saved.backup:
            _out(f"  backup: {saved.backup}")
    return EXIT_OK


def cmd_desktop_apply(args: argparse.Namespace) -> int:
    from optscale_tui.core.clients.claude_desktop import plan_desktop_apply
    from optscale_tui.core.connection import InputError

    library = _desktop_library()
    values, _, sources = _desktop_values(args, need_key=False)
    for warning in values.url.warnings:
        _err(f"warning: {warning}")
    try:
        plan = plan_desktop_apply(library, values)
    except InputError as exc:
        hint = " Pass --api-key-env VAR or --api-key-stdin." if exc.field == "api_key" else ""
        raise UsageError(exc.reason + hint) from None
    _out("Values: " + "; ".join(sources))
    _print_desktop_plan(plan)
    if not plan.has_changes:
        return EXIT_OK
    if args.dry_run:
        _out("\nDry run: nothing was written.")
        return EXIT_OK
    if not _confirm(f"Write Claude Desktop's configuration in {library.locations.folder}?", args.yes):
        _out("Nothing was written.")
        return EXIT_OK
    status = _save_desktop(plan)
    _desktop_after_save()
    _out("Next: `optscale-tui desktop verify` probes the same URL, key and models.")
    return status


def cmd_desktop_verify(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import json

    from optscale_tui.core import report
    from optscale_tui.core.clients.claude_desktop.verify import desktop_target, static_checks
    from optscale_tui.core.verify import VerifyOptions, verify

    library = _desktop_library()
    target = desktop_target(library)
    options = VerifyOptions(ca_bundle=args.ca_bundle, beta_probe=False, count_tokens=False)
    done = asyncio.run(verify(target, options))
    rows = tuple(r for r in done.results if r.id != "config")  # "the configuration Claude Code resolves": not Desktop's
    rows += tuple(static_checks(library, catalog=done.catalog))
    done = dataclasses.replace(done, results=rows)
    if args.json:
        _out(json.dumps(report.to_json(done, target), indent=2, ensure_ascii=False))
    else:
        _out("\n".join(report.target_lines(target)))
        _out("")
        seen: set = set()
        for result in rows:
            _out(report.result_line(result))
            for line in report.result_details(result, seen):
                _out(line)
        _out("")
        _out(report.verdict_line(done))
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
    _err("Values: " + "; ".join(sources))
    if not args.with_key:
        _err("The API key is a placeholder (REPLACE_WITH_OPTSCALE_API_KEY): your deployment tool fills it in, or "
             "export again with --with-key.")
    if args.output is None:
        sys.stdout.write(export.content.replace("\r\n", "\n"))
        sys.stdout.flush()
    else:
        _write_export(args.output, export.encoded(), private=export.contains_key)
        _err(f"Wrote {args.output}")
    _err(f"Deploy it to: {export.destination}")
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
    if not plan.has_changes or args.dry_run:
        if args.dry_run and plan.has_changes:
            _out("\nDry run: nothing was written.")
        return EXIT_OK
    if not _confirm("Switch Claude Desktop back to Anthropic's own service?", args.yes):
        _out("Nothing was written.")
        return EXIT_OK
    status = _save_desktop(plan)
    _desktop_after_save()
    return status


DESKTOP_COMMANDS = {
    "apply": cmd_desktop_apply,
    "verify": cmd_desktop_verify,
    "export": cmd_desktop_export,
    "remove": cmd_desktop_remove,
}


def cmd_desktop(args: argparse.Namespace) -> int:
    return DESKTOP_COMMANDS[args.desktop_command](args)


# --- end of Claude Desktop ------------------------------------------------------------------------------------


# --- profiles (issue 13): `profile list|show|save|use|delete`, `apply|verify --profile`, `--config` --------------


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    """`--config PATH` before or after any command. On subcommands its default is SUPPRESS, so one given before the
    command is not reset by the subcommand's parser."""
    help_text = "optscale-tui's own config file (default: $OPTSCALE_TUI_CONFIG, else the platform config dir)"
    parser.add_argument("--config", type=Path, metavar="PATH", help=help_text)

    def walk(p: argparse.ArgumentParser) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    child.add_argument("--config", type=Path, metavar="PATH", default=argparse.SUPPRESS,
                                       help=help_text)
                    walk(child)

    walk(parser)


def _add_profile_parsers(sub, add_target) -> None:
    profile = sub.add_parser("profile", help="gateway profiles: list, show, save, use, delete",
                             description="Profiles keep a gateway's Base URL, tier models and where its key comes "
                                         "from (never the key itself: that is in the keyring or keys.toml, only "
                                         "with --store-key), in optscale-tui's own config file.")
    actions = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the saved profiles")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one profile (the key masked)")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true")
    save = actions.add_parser("save", help="save a profile (without value flags: the settings in effect)",
                              description="Without --base-url or a tier flag, saves what Claude Code uses now. "
                                          "Flags given update an existing profile; the others stay.")
    save.add_argument("name", metavar="NAME")
    save.add_argument("--base-url", metavar="URL", help="the Base URL from OptScale Chat (…/v1)")
    key = save.add_mutually_exclusive_group()
    key.add_argument("--api-key-env", metavar="VAR", help="the key comes from variable VAR (nothing is stored)")
    key.add_argument("--api-key-stdin", action="store_true", help="read a key to store (needs --store-key)")
    save.add_argument("--store-key", action="store_true",
                      help="yes, store the key from stdin: in the OS keyring if usable, else a 0600 keys.toml")
    for tier in ("haiku", "sonnet", "opus"):
        save.add_argument(f"--{tier}", metavar="MODEL", help=f"model for the {tier.capitalize()} tier")
    save.add_argument("--main-model", metavar="MODEL", help="the top-level `model` of every session")
    save.add_argument("--subagent-model", metavar="MODEL", help="CLAUDE_CODE_SUBAGENT_MODEL")
    save.add_argument("--disable-experimental-betas", action=argparse.BooleanOptionalAction, default=None)
    save.add_argument("--label", metavar="TEXT", help="a description shown in lists")
    use = actions.add_parser("use", help="write a profile into Claude Code's settings (diff, confirm, backup)")
    use.add_argument("name", metavar="NAME")
    add_target(use)
    use.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    use.add_argument("--yes", "-y", action="store_true", help="write without asking")
    use.add_argument("--force", action="store_true", help="rewrite the settings file even when it is read-only")
    delete = actions.add_parser("delete", help="delete a profile (and its stored key); settings.json is untouched")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", "-y", action="store_true")
    run = sub.add_parser("run", help="start Claude Code through a profile, without writing settings.json",
                         description="optscale-tui run --profile NAME -- claude [ARGS…]: Claude Code gets a "
                                     "temporary 0600 settings file with --settings (it wins over the user, project "
                                     "and local files); the file is removed when Claude Code exits. The exit code "
                                     "is Claude Code's.")
    run.add_argument("--profile", required=True, metavar="NAME")
    run.add_argument("claude_command", nargs=argparse.REMAINDER, metavar="-- claude [ARGS…]")


def _app_config(args: argparse.Namespace):
    from optscale_tui.core.app_config import ConfigError, default_config_path, load_config

    try:
        return load_config(getattr(args, "config", None) or default_config_path())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _save_app_config(config) -> None:
    from optscale_tui.core.app_config import ConfigError, save_config

    try:
        save_config(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write {config.path}: {exc.strerror or exc}") from None


def _preferences(args: argparse.Namespace):
    """The app's preferences (CA bundle, real-client check) for commands that only read them: a config file that
    does not parse is reported and the defaults are used (it is never rewritten here)."""
    from optscale_tui.core.app_config import Preferences

    try:
        return _app_config(args).preferences
    except UsageError as exc:
        _err(f"warning: preferences not used: {exc}")
        return Preferences()


def _profile_named(args: argparse.Namespace, name: str):
    config = _app_config(args)
    profile = config.profiles.get(name)
    if profile is None:
        raise UsageError(f"No profile named {name!r} in {config.path}. `optscale-tui profile list` shows them.")
    return config, profile


def _profile_key(config, profile) -> ApiKey | None:
    """The profile's key from its source (remembered for masking), None when it stores none."""
    from optscale_tui.core.app_config import key_store, profile_key
    from optscale_tui.core.connection import InputError, parse_api_key

    store = key_store(config.path) if profile.key_source.kind == "stored" else None
    value = profile_key(profile, store)
    if value is None and profile.key_source.kind == "env":
        raise UsageError(f"Profile {profile.name} takes its key from ${profile.key_source.env_var}, "
                         "which is not set or empty.")
    if value is None and store is not None:
        raise UsageError(f"Profile {profile.name}'s stored key is missing from {store.description}: store it "
                         f"again with `optscale-tui profile save {profile.name} --api-key-stdin --store-key`.")
    if value is None:
        return None
    _remember_secret(value)
    try:
        key = parse_api_key(value)
    except InputError as exc:
        raise UsageError(f"Profile {profile.name}'s key: {exc.reason}") from None
    _remember_secret(key.value)
    return key


def _apply_profile_to_args(args: argparse.Namespace) -> ApiKey | None:
    """`apply --profile`: the profile's values fill the flags not given; its key unless one was passed."""
    config, profile = _profile_named(args, args.profile)
    args.base_url = args.base_url or profile.base_url
    for name in ("haiku", "sonnet", "opus", "subagent_model", "disable_experimental_betas"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(profile, name))
    args.main_model = profile.main_model
    if args.api_key_env or args.api_key_stdin:
        return None
    return _profile_key(config, profile)


def _profile_connection(args: argparse.Namespace, name: str):
    """A profile as ConnectionValues; a profile that stores no key uses the one in the settings in effect."""
    from optscale_tui.core.connection import (
        ConnectionValues,
        InputError,
        TierMapping,
        parse_api_key,
        parse_base_url,
    )

    config, profile = _profile_named(args, name)
    try:
        url = parse_base_url(profile.base_url)
    except InputError as exc:
        raise UsageError(f"Profile {name}'s Base URL: {exc.reason}") from None
    key = _profile_key(config, profile)
    if key is None:
        effective = _inspect(getattr(args, "settings", None)).get("ANTHROPIC_AUTH_TOKEN")
        if effective:
            _remember_secret(effective)
            try:
                key = parse_api_key(effective)
            except InputError:
                key = None
    tiers = TierMapping(haiku=profile.haiku, sonnet=profile.sonnet, opus=profile.opus,
                        main_model=profile.main_model, subagent_model=profile.subagent_model)
    return config, profile, ConnectionValues(url=url, key=key, tiers=tiers,
                                             disable_experimental_betas=profile.disable_experimental_betas)


def _profile_target(args: argparse.Namespace):
    from dataclasses import replace

    from optscale_tui.core.verify import target_from_values

    _config, profile, values = _profile_connection(args, args.profile)
    return replace(target_from_values(values), source=f"profile {profile.name}")


def _key_status(config, profile) -> tuple[str | None, str]:
    """(masked key or None, a sentence saying where it comes from)."""
    from optscale_tui.core.app_config import key_store, profile_key
    from optscale_tui.core.secrets import mask_secret

    source = profile.key_source
    if source.kind == "none":
        return None, "none stored: `profile use` keeps the key in the settings file"
    store = key_store(config.path) if source.kind == "stored" else None
    value = profile_key(profile, store)
    _remember_secret(value)
    where = f"${source.env_var}" if source.kind == "env" else store.description  # type: ignore[union-attr]
    if not value:
        return None, f"from {where}: {'not set' if source.kind == 'env' else 'missing'}"
    return mask_secret(value), f"from {where}"


def _profile_row(profile, config=None) -> dict[str, object]:
    row: dict[str, object] = {
        "name": profile.name, "label": profile.label, "base_url": profile.base_url,
        "haiku": profile.haiku, "sonnet": profile.sonnet, "opus": profile.opus,
        "main_model": profile.main_model, "subagent_model": profile.subagent_model,
        "disable_experimental_betas": profile.disable_experimental_betas, "key_source": str(profile.key_source),
    }
    if config is not None:
        row["key"], row["key_status"] = _key_status(config, profile)
    return row


def cmd_profile_list(args: argparse.Namespace) -> int:
    config = _app_config(args)
    profiles = sorted(config.profiles.values(), key=lambda p: p.name)
    last = config.preferences.last_profile
    if args.json:
        _out(json_text=True, text=_json_text({"config": str(config.path), "last_profile": last,
                                              "profiles": [_profile_row(p) for p in profiles]}))
        return EXIT_OK
    if not profiles:
        _out(f"No profiles in {config.path}. `optscale-tui profile save NAME` saves the settings in effect as one.")
        return EXIT_OK
    width = max(len(p.name) for p in profiles)
    for p in profiles:
        mark = "*" if p.name == last else " "
        label = f"  {p.label}" if p.label else ""
        _out(f"{mark} {p.name:<{width}}  {p.base_url}  key: {p.key_source}{label}")
    if last in config.profiles:
        _out(f"\n* last used ({last})")
    return EXIT_OK


def cmd_profile_show(args: argparse.Namespace) -> int:
    config, profile = _profile_named(args, args.name)
    row = _profile_row(profile, config)
    if args.json:
        _out(json_text=True, text=_json_text(row))
        return EXIT_OK
    for name, value in row.items():
        if name == "key":
            continue
        if name == "key_status":
            value = f"{row['key']} ({value})" if row["key"] else value
            name = "key"
        if value not in (None, ""):
            _out(f"{name.replace('_', ' ')}: {value}")
    return EXIT_OK


def _settings_in_effect_as_profile(args: argparse.Namespace, name: str, existing):
    """`profile save NAME` without value flags: what Claude Code uses now (so a hand-configured user starts with one)."""
    from optscale_tui.core.app_config import KeySource, Profile
    from optscale_tui.core.connection import InputError, parse_anthropic_base_url

    effective = _inspect(None)
    base = effective.get("ANTHROPIC_BASE_URL")
    if not base:
        raise UsageError("Claude Code has no gateway Base URL in effect to save: pass --base-url URL (and the "
                         "tier flags), or connect first with `optscale-tui apply`.")
    try:
        url = parse_anthropic_base_url(base)
    except InputError as exc:
        raise UsageError(f"The Base URL in effect: {exc.reason}") from None
    betas = effective.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS")
    return Profile(
        name=name, label=existing.label if existing else "",
        base_url=url.openai_base if url.anthropic_base.endswith("/anthropic") else url.anthropic_base,
        haiku=effective.get("ANTHROPIC_DEFAULT_HAIKU_MODEL") or None,
        sonnet=effective.get("ANTHROPIC_DEFAULT_SONNET_MODEL") or None,
        opus=effective.get("ANTHROPIC_DEFAULT_OPUS_MODEL") or None,
        main_model=effective.setting("model") or None,
        subagent_model=effective.get("CLAUDE_CODE_SUBAGENT_MODEL") or None,
        disable_experimental_betas=True if betas == "1" else None,
        key_source=existing.key_source if existing else KeySource(),
    )


def cmd_profile_save(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from optscale_tui.core.app_config import KeySource, Profile, ProfileError, check_profile_name, key_store
    from optscale_tui.core.connection import InputError, parse_base_url, parse_model_name

    try:
        name = check_profile_name(args.name)
        if args.api_key_env:
            KeySource.parse(f"env:{args.api_key_env}")
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    if args.api_key_stdin != args.store_key:
        raise UsageError("A key is stored only when you say so: --api-key-stdin --store-key together (or "
                         "--api-key-env VAR, which records the variable and stores nothing).")
    config = _app_config(args)
    existing = config.profiles.get(name)
    value_flags = ("base_url", "haiku", "sonnet", "opus", "main_model", "subagent_model",
                   "disable_experimental_betas")
    only_key_or_label = bool(args.api_key_env or args.api_key_stdin or args.label is not None)
    if all(getattr(args, flag) is None for flag in value_flags) and not (existing and only_key_or_label):
        # No value flags: the settings in effect (an existing profile given only a key source or label keeps its
        # values and changes just that).
        profile = _settings_in_effect_as_profile(args, name, existing)
        imported = True
    else:
        imported = False
        if existing is None and not args.base_url:
            raise UsageError(f"A new profile needs --base-url (or no value flags at all, to save the settings in "
                             f"effect as {name}).")
        profile = existing or Profile(name=name, base_url="")
        try:
            if args.base_url:
                parse_base_url(args.base_url)
                profile = replace(profile, base_url=args.base_url.strip())
            for flag in ("haiku", "sonnet", "opus", "main_model", "subagent_model"):
                if getattr(args, flag) is not None:
                    profile = replace(profile, **{flag: parse_model_name(getattr(args, flag))})
        except InputError as exc:
            raise UsageError(exc.reason) from None
        if args.disable_experimental_betas is not None:
            profile = replace(profile, disable_experimental_betas=args.disable_experimental_betas or None)
    if args.label is not None:
        profile = replace(profile, label=args.label)
    store_note = ""
    old_source = existing.key_source if existing else KeySource()
    if args.api_key_env:
        profile = replace(profile, key_source=KeySource("env", args.api_key_env))
    elif args.api_key_stdin:
        key = _read_key(args)
        store = key_store(config.path)
        store.set(name, key.value)  # type: ignore[union-attr]
        profile = replace(profile, key_source=KeySource("stored"))
        store_note = f"key: stored in {store.description} ({key.masked})"  # type: ignore[union-attr]
    if old_source.kind == "stored" and profile.key_source.kind != "stored":
        key_store(config.path).delete(name)
    config.profiles[name] = profile
    _save_app_config(config)
    _out(f"Saved profile {name} in {config.path}" + (" (from the settings in effect)" if imported else ""))
    if store_note:
        _out(f"  {store_note}")
    _out(f"  key source: {profile.key_source}")
    return EXIT_OK


def cmd_profile_use(args: argparse.Namespace) -> int:
    from dataclasses import replace

    ns = argparse.Namespace(
        profile=args.name, base_url=None, api_key_env=None, api_key_stdin=False, haiku=None, sonnet=None, opus=None,
        subagent_model=None, disable_experimental_betas=None, settings=args.settings, scope=args.scope,
        dry_run=args.dry_run, yes=args.yes, force=args.force, config=getattr(args, "config", None))
    status = cmd_apply(ns)
    if getattr(ns, "saved", False):
        config = _app_config(args)
        config.preferences = replace(config.preferences, last_profile=args.name)
        _save_app_config(config)
    return status


def cmd_profile_delete(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from optscale_tui.core.app_config import key_store

    config, profile = _profile_named(args, args.name)
    if not _confirm(f"Delete profile {profile.name}{' and its stored key' if profile.key_source.kind == 'stored' else ''}?",
                    args.yes):
        _out("Nothing was deleted.")
        return EXIT_OK
    if profile.key_source.kind == "stored":
        key_store(config.path).delete(profile.name)
    del config.profiles[profile.name]
    if config.preferences.last_profile == profile.name:
        config.preferences = replace(config.preferences, last_profile=None)
    _save_app_config(config)
    _out(f"Deleted profile {profile.name} from {config.path}. Claude Code's settings are unchanged.")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from optscale_tui.core.claude_cli import INSTALL_HINT, find_claude
    from optscale_tui.core.session_run import run_session, session_settings

    command = list(args.claude_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("Name the program after --: optscale-tui run --profile NAME -- claude [ARGS…]")
    if command[0] == "claude":  # as the user would run it: $OPTSCALE_TUI_CLAUDE_BIN, else PATH
        found = find_claude()
        if found is None:
            _err(f"optscale-tui: the claude CLI was not found. Install it: {INSTALL_HINT}")
            return EXIT_PROBLEM
        command[0] = str(found)
    _config, profile, values = _profile_connection(args, args.profile)
    if values.key is None:
        raise UsageError(f"Profile {profile.name} stores no key and none is in effect: save one with "
                         f"`optscale-tui profile save {profile.name} --api-key-env VAR` or --api-key-stdin --store-key.")
    effective = _inspect(None)
    settings = session_settings(values, {name: effective.get(name) for name in ("ANTHROPIC_API_KEY",)})
    _err(f"optscale-tui: Claude Code runs through profile {profile.name} ({values.url.host}); "
         "settings.json is not written.")
    try:
        return run_session(command, settings)
    except OSError as exc:
        _err(f"optscale-tui: could not start {command[0]}: {exc.strerror or exc}")
        return EXIT_PROBLEM


PROFILE_COMMANDS = {
    "list": cmd_profile_list,
    "show": cmd_profile_show,
    "save": cmd_profile_save,
    "use": cmd_profile_use,
    "delete": cmd_profile_delete,
}


# --- end of profiles ----------------------------------------------------------------------------------------------


COMMANDS = {
    "apply": cmd_apply,
    "verify": cmd_verify,
    "models": cmd_models,
    "doctor": cmd_doctor,
    "restore": cmd_restore,
    "remove": cmd_remove,
    "fix": cmd_fix,
    "desktop": cmd_desktop,
    "profile": lambda args: PROFILE_COMMANDS[args.profile_command](args),
    "run": cmd_run,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):  # the app and anything it starts read the same config file
        os.environ["OPTSCALE_TUI_CONFIG"] = str(args.config)
    try:
        if args.command is None:
            return run_tui(demo=args.demo, settings=args.tui_settings, scope=args.tui_scope,
                           ca_bundle=args.tui_ca_bundle)
        if args.demo:
            raise UsageError("--demo starts the full-screen app; use it without a command.")
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _err(f"optscale-tui: {_shown(str(exc), single_line=False)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("Interrupted; nothing more was written.")
        return 130
    except Exception as exc:  # the last resort: a short message, never a traceback with its locals (the key)
        _err(_crash_message(exc))
        return EXIT_PROBLEM


def _crash_message(exc: BaseException) -> str:
    """What an unexpected error prints: its type, its words and where it happened, masked and cleaned."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    words = _shown(str(exc))[:500]
    return (f"optscale-tui: unexpected error: {type(exc).__name__}{': ' + words if words else ''}{where}\n"
            "  Nothing more was written. Please report this (the message above holds no key).")


def run_tui(*, demo: bool, settings: Path | None = None, scope: str = "user", ca_bundle: Path | None = None) -> int:
    from optscale_tui.ui.startup import pause_collector

    pause_collector()  # until the first frame (see ui/startup.py); the app resumes it
    from optscale_tui.core.locations import Scope

    if demo:
        if settings is not None or scope != "user":
            raise UsageError("--demo uses its own sandbox settings; drop --settings / --scope.")
        from optscale_tui.demo.session import demo_session

        with demo_session() as session:
            from optscale_tui.ui.app import run_app

            return run_app(demo=session, ca_bundle=ca_bundle)
    from optscale_tui.ui.app import run_app

    return run_app(settings_path=settings, scope=Scope(scope), ca_bundle=ca_bundle)


if __name__ == "__main__":
    raise SystemExit(main())
