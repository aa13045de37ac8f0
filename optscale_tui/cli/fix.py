"""`fix CAUSE`: redo the doctor's inspection and make the one fix-it change verify or doctor offered."""

from __future__ import annotations

import argparse
import os

from optscale_tui.cli.common import (
    confirm_and_save,
    inspect_settings,
    load_document,
    print_plan,
    same_path,
    save_settings,
)
from optscale_tui.cli.output import EXIT_OK, UsageError, out


def cmd_fix(args: argparse.Namespace) -> int:
    from optscale_tui.core.causes import Cause
    from optscale_tui.core.connection import InputError, parse_model_name
    from optscale_tui.core.diagnosis.fixes import fixes_for

    try:
        cause = Cause(args.cause)
    except ValueError:
        raise UsageError(f"Unknown cause id {args.cause!r}: use one that verify or doctor printed.") from None
    try:
        tiers = {t: parse_model_name(m) for t in ("haiku", "sonnet", "opus") if (m := getattr(args, t))}
    except InputError as exc:
        raise UsageError(exc.reason) from None
    if args.settings is not None and os.path.lexists(args.settings):
        load_document(args.settings)  # a file that does not parse (or is a FIFO, a loop, …) is an input error (exit 2)
    config = inspect_settings(args.settings)
    fixes = [f for f in fixes_for(config, [cause], tier_models=tiers or None)
             if f.cause is cause and (args.file is None or same_path(f.path, args.file))]
    if not fixes:
        out(f"No fix-it for {cause.value} applies to these settings now: nothing to change.")
        return EXIT_OK
    for fix in fixes:
        out(fix.title)
        doc = load_document(fix.path)
        plan = fix.plan()
        print_plan(plan)
        confirm_and_save(plan, f"Write {doc.path}?", lambda plan=plan: save_settings(plan, args.force),
                         dry_run=args.dry_run, assume_yes=args.yes)
    return EXIT_OK
