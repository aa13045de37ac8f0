"""The command line: one builder per subcommand group. `--version` and `--help` import this module and output.py,
never a command's module."""

from __future__ import annotations

import argparse
import re
import sys
import typing
from pathlib import Path

from optscale_tui import __version__
from optscale_tui.cli.output import EXIT_USAGE, known_secrets, masked, shown

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

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Parser(argparse.ArgumentParser):
    """argparse quotes what it could not use ("unrecognized arguments: sk-bf-…"): a key typed in the wrong place,
    or an escape sequence, must not come back in clear."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {shown(message)}\n")

    def _print_message(self, message: str, file=None) -> None:
        # Only what could hold a key or a control character pays for the masking (and its import): --version and
        # --help must stay fast.
        risky = message and ("sk-" in message or _CONTROL.search(message) or any(k in message for k in known_secrets))
        super()._print_message(masked(message) if risky else message, file)


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
    _add_tui_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_apply, _add_verify, _add_models, _add_doctor, _add_restore, _add_fix, _add_remove,
                _add_desktop, _add_profile, _add_run):
        add(sub)
    _add_config_option(parser)
    return parser


# --- options several commands share -------------------------------------------------------------------------


def _add_tui_options(parser: argparse.ArgumentParser) -> None:
    tui = parser.add_argument_group("the full-screen app (no command)")
    target = tui.add_mutually_exclusive_group()
    target.add_argument("--settings", dest="tui_settings", type=Path, metavar="PATH",
                        help="settings file to edit (default: the one Claude Code reads)")
    target.add_argument("--scope", dest="tui_scope", choices=["user", "project", "local"],
                        help="user, project (.claude/settings.json here) or local (.claude/settings.local.json)")
    tui.add_argument("--ca-bundle", dest="tui_ca_bundle", type=Path, metavar="PATH",
                     help="extra CA certificates (PEM) to trust when talking to the gateway")


def _add_target(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--settings", type=Path, metavar="PATH", help="settings file to use (default: the user file)")
    group.add_argument("--scope", choices=["user", "project", "local"],
                       help="user (~/.claude/settings.json), project (.claude/settings.json) "
                            "or local (.claude/settings.local.json); default: the default_scope preference, "
                            "else user")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="rewrite the settings file even when it is read-only (e.g. 0444); it is left 0600")


def _add_key(p: argparse.ArgumentParser, required: bool) -> None:
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("--api-key-env", metavar="VAR", help="read the API key from environment variable VAR")
    group.add_argument("--api-key-stdin", action="store_true", help="read the API key from standard input")


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


# --- Claude Code's settings: apply, remove, restore, fix ----------------------------------------------------


def _add_apply(sub) -> None:
    apply = sub.add_parser("apply", help="write the gateway connection into Claude Code's settings",
                           description="Plan the change, print the masked diff, and write it (atomically, with a "
                                       "backup). Tier flags left out keep the file's current value; an empty value "
                                       "(--opus '') unmaps a tier.")
    apply.add_argument("--base-url", metavar="URL",
                       help="the Base URL from OptScale Chat (…/llm_proxy/<org>/v1; /anthropic is derived); "
                            "required unless --profile gives it")
    apply.add_argument("--profile", metavar="NAME", help="take the values (and key source) from this profile; "
                                                         "flags given too win")
    _add_key(apply, required=False)
    apply.add_argument("--haiku", metavar="MODEL", help="model for the Haiku tier")
    apply.add_argument("--sonnet", metavar="MODEL", help="model for the Sonnet tier")
    apply.add_argument("--opus", metavar="MODEL", help="model for the Opus tier (the default session uses it)")
    apply.add_argument("--subagent-model", metavar="MODEL", help="CLAUDE_CODE_SUBAGENT_MODEL")
    apply.add_argument("--disable-experimental-betas", action=argparse.BooleanOptionalAction, default=None,
                       help="set (or with --no-… remove) CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1")
    _add_target(apply)
    apply.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    apply.add_argument("--yes", "-y", action="store_true", help="write without asking")
    _add_force(apply)


def _add_restore(sub) -> None:
    restore = sub.add_parser("restore", help="list backups, or restore one (the current file is backed up first)")
    restore.add_argument("backup_id", nargs="?", metavar="BACKUP-ID")
    restore.add_argument("--list", action="store_true", help="list the backups (default when no id is given)")
    _add_target(restore)
    restore.add_argument("--yes", "-y", action="store_true")
    _add_force(restore)


def _add_fix(sub) -> None:
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
    _add_force(fix)


def _add_remove(sub) -> None:
    remove = sub.add_parser("remove", help="take the gateway keys out of the settings again")
    _add_target(remove)
    remove.add_argument("--dry-run", action="store_true")
    remove.add_argument("--yes", "-y", action="store_true")
    _add_force(remove)


# --- read-only checks: verify, models, doctor ---------------------------------------------------------------


def _add_verify(sub) -> None:
    verify = sub.add_parser("verify", help="prove the settings in effect work, the way Claude Code uses them")
    verify.add_argument("--settings", type=Path, metavar="PATH", help="user settings file (default: as Claude Code resolves it)")
    verify.add_argument("--json", action="store_true", help="print one JSON object (format in the README)")
    verify.add_argument("--no-claude-cli", action="store_true", help="skip the real-client check")
    verify.add_argument("--ca-bundle", type=Path, metavar="PATH", help="extra CA certificates (PEM) to trust")
    verify.add_argument("--timeout", type=_timeout_seconds, default=30.0, metavar="SECONDS",
                        help=f"per-check time limit, {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} (default 30)")
    verify.add_argument("--quiet", action="store_true", help="do not stream the model's replies")
    verify.add_argument("--profile", metavar="NAME", help="verify this profile's values instead (writes nothing)")


def _add_models(sub) -> None:
    models = sub.add_parser("models", help="list the models the gateway offers for this key")
    models.add_argument("--base-url", required=True, metavar="URL")
    _add_key(models, required=True)
    models.add_argument("--json", action="store_true")
    models.add_argument("--ca-bundle", type=Path, metavar="PATH")
    models.add_argument("--timeout", type=_timeout_seconds, default=30.0, metavar="SECONDS",
                        help=f"time limit for the whole listing, {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} (default 30)")


def _add_doctor(sub) -> None:
    doctor = sub.add_parser("doctor", help="show what Claude Code will really use, and what overrides what")
    doctor.add_argument("--settings", type=Path, metavar="PATH", help="user settings file (default: as resolved)")
    doctor.add_argument("--json", action="store_true")


# --- Claude Desktop (issue 12): `optscale-tui desktop apply|verify|export|remove` ---------------------------


def _add_desktop(sub) -> None:
    desktop = sub.add_parser("desktop", help="connect Claude Desktop: apply, verify, export for MDM, remove",
                             description="Claude Desktop's third-party inference configuration (the Claude-3p "
                                         "folder). Values left out are taken from what Claude Code uses now.")
    actions = desktop.add_subparsers(dest="desktop_command", metavar="ACTION", required=True)
    apply = actions.add_parser("apply", help="write Desktop's gateway configuration (masked diff, backup)")
    _add_desktop_values(apply)
    apply.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    apply.add_argument("--yes", "-y", action="store_true", help="write without asking")
    verify = actions.add_parser("verify", help="probe Desktop's configuration and read back what Desktop said")
    verify.add_argument("--json", action="store_true", help="machine-readable result")
    verify.add_argument("--ca-bundle", type=Path, metavar="PATH", help="extra CA certificates (PEM) to trust")
    export = actions.add_parser("export", help="the file an MDM tool deploys (key as a placeholder unless asked)")
    _add_desktop_values(export)
    export.add_argument("--os", required=True, choices=["macos", "windows", "linux"], dest="target_os")
    export.add_argument("--target", choices=["desktop", "code"], default="desktop",
                        help="desktop (default) or code: Claude Code's managed-settings.json")
    export.add_argument("--with-key", action="store_true", help="put the real API key in the file")
    export.add_argument("--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    remove = actions.add_parser("remove", help="switch Desktop back to Anthropic's service; other entries stay")
    remove.add_argument("--dry-run", action="store_true")
    remove.add_argument("--yes", "-y", action="store_true")


def _add_desktop_values(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", metavar="URL", help="the Base URL from OptScale Chat (default: Claude Code's)")
    _add_key(p, required=False)
    for tier in ("haiku", "sonnet", "opus"):
        p.add_argument(f"--{tier}", metavar="MODEL", help=f"model for the {tier.capitalize()} tier "
                                                          "(default: Claude Code's)")


# --- profiles (issue 13): `profile list|show|save|use|delete`, `run` ----------------------------------------


def _add_profile(sub) -> None:
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
    _add_profile_save(actions)
    use = actions.add_parser("use", help="write a profile into Claude Code's settings (diff, confirm, backup)")
    use.add_argument("name", metavar="NAME")
    _add_target(use)
    use.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    use.add_argument("--yes", "-y", action="store_true", help="write without asking")
    use.add_argument("--force", action="store_true", help="rewrite the settings file even when it is read-only")
    delete = actions.add_parser("delete", help="delete a profile (and its stored key); settings.json is untouched")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", "-y", action="store_true")


def _add_profile_save(actions) -> None:
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


def _add_run(sub) -> None:
    run = sub.add_parser("run", help="start Claude Code through a profile, without writing settings.json",
                         description="optscale-tui run --profile NAME -- claude [ARGS…]: Claude Code gets a "
                                     "temporary 0600 settings file with --settings (it wins over the user, project "
                                     "and local files); the file is removed when Claude Code exits. The exit code "
                                     "is Claude Code's.")
    run.add_argument("--profile", required=True, metavar="NAME")
    run.add_argument("claude_command", nargs=argparse.REMAINDER, metavar="-- claude [ARGS…]")
