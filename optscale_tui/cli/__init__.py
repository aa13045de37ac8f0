"""The headless CLI twin. Nothing heavy is imported at module level, so `--version` and `--help` start fast: this
entry module imports only the parser (parser.py) and the output helpers (output.py); each command's module is
imported when the command runs, and imports the core pieces it needs; only the bare command imports Textual.

Exit codes: 0 ok · 1 verification failed or a problem diagnosed · 2 usage or input error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from optscale_tui.cli.output import EXIT_OK as EXIT_OK
from optscale_tui.cli.output import EXIT_PROBLEM as EXIT_PROBLEM
from optscale_tui.cli.output import EXIT_USAGE as EXIT_USAGE
from optscale_tui.cli.output import UsageError as UsageError
from optscale_tui.cli.output import err, shown
from optscale_tui.cli.output import known_secrets as _known_secrets  # noqa: F401  (tests clear it between runs)
from optscale_tui.cli.parser import build_parser as build_parser


def _command(module: str, name: str) -> Callable[..., int]:
    """The command `name` of cli/`module`.py, imported only when it runs."""

    def run(args) -> int:
        from importlib import import_module

        return getattr(import_module(f"optscale_tui.cli.{module}"), name)(args)

    run.__name__ = name
    return run


COMMANDS = {
    "apply": _command("apply", "cmd_apply"),
    "verify": _command("verify", "cmd_verify"),
    "models": _command("verify", "cmd_models"),
    "doctor": _command("verify", "cmd_doctor"),
    "restore": _command("apply", "cmd_restore"),
    "remove": _command("apply", "cmd_remove"),
    "fix": _command("fix", "cmd_fix"),
    "desktop": _command("desktop", "cmd_desktop"),
    "profile": _command("profiles", "cmd_profile"),
    "run": _command("profiles", "cmd_run"),
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
        err(f"optscale-tui: {shown(str(exc), single_line=False)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("Interrupted; nothing more was written.")
        return 130
    except Exception as exc:  # the last resort: a short message, never a traceback with its locals (the key)
        err(_crash_message(exc))
        return EXIT_PROBLEM


def _crash_message(exc: BaseException) -> str:
    """What an unexpected error prints: its type, its words and where it happened, masked and cleaned."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    words = shown(str(exc))[:500]
    return (f"optscale-tui: unexpected error: {type(exc).__name__}{': ' + words if words else ''}{where}\n"
            "  Nothing more was written. Please report this (the message above holds no key).")


def run_tui(*, demo: bool, settings: Path | None = None, scope: str | None = None,
            ca_bundle: Path | None = None) -> int:
    from optscale_tui.ui.startup import pause_collector

    pause_collector()  # until the first frame (see ui/startup.py); the app resumes it
    from optscale_tui.core.clients.claude_code.locations import Scope

    if demo:
        if settings is not None or scope is not None:
            raise UsageError("--demo uses its own sandbox settings; drop --settings / --scope.")
        from optscale_tui.demo.session import demo_session

        with demo_session() as session:
            from optscale_tui.ui.app import run_app

            return run_app(demo=session, ca_bundle=ca_bundle)
    from optscale_tui.ui.app import run_app

    if settings is None and scope is None:  # not given: the default_scope preference
        import argparse

        from optscale_tui.cli.profile_values import preferences
        from optscale_tui.core.app_config import preferred_scope

        scope = preferred_scope(None, preferences(argparse.Namespace()))  # --config is in the environment by now
    return run_app(settings_path=settings, scope=Scope(scope or "user"), ca_bundle=ca_bundle)
