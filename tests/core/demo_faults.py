"""The cause each of the demo gateway's forced faults must be diagnosed as, by a single probe or a whole
verification."""

from __future__ import annotations

from optscale_tui.core.causes import Cause

FAULT_KIND_CAUSES: list[tuple[str, Cause]] = [
    ("auth", Cause.AUTH_INVALID_KEY),
    ("provider", Cause.PROVIDER_NOT_ALLOWED),
    ("model_blocked", Cause.MODEL_NOT_ALLOWED),
    ("not_found", Cause.MODEL_UNKNOWN),
    ("path_not_found", Cause.PATH_NOT_FOUND),
    ("rate", Cause.RATE_LIMITED),
    ("budget", Cause.BUDGET_EXCEEDED),
    ("server", Cause.SERVER_ERROR),
    ("html_502", Cause.SERVER_ERROR),
]
