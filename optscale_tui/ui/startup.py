"""The garbage collector is paused while the full-screen app starts (no Textual import here: the CLI calls this
before importing it).

Start-up creates many long-lived objects (modules, classes, widgets, CSS rules) and little garbage, so collecting
before the first frame only delays it: measured, the collector ran ~120 times (one full pass alone ~20 ms) before the
first frame. After the first frame everything alive is frozen, so later full collections do not scan it again
(which also keeps them short while replies stream), and collection resumes.
"""

from __future__ import annotations

import gc


def pause_collector() -> None:
    gc.disable()


def resume_collector() -> None:
    """Idempotent: called after the first frame, and again on exit in case the app ended before it."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
