"""Plain words that must say the right thing: whose provider is refused, and where the request id for a 5xx is."""

from __future__ import annotations

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.verify import report
from optscale_tui.core.verify.engine import VerifyOptions, verify
from optscale_tui.core.verify.events import CheckStatus
from tests.core.verify_targets import make_target


def test_provider_not_allowed_names_the_models_provider_not_the_keys():
    message = describe(Cause.PROVIDER_NOT_ALLOWED).message
    assert "model's provider" in message
    assert "its provider" not in message  # "its" read as the key's provider


async def test_a_server_error_in_the_cli_text_shows_the_request_id_its_fix_asks_for(gateway):
    """The 5xx fix says to look the request id up in OptScale Traces: the lines under the failed check show it."""
    gateway.faults.force_kind = "server"
    done = await verify(make_target(gateway), VerifyOptions(check_timeout=10))
    failed = next(r for r in done.results if r.cause is Cause.SERVER_ERROR and r.status is CheckStatus.FAIL)
    assert failed.request_ids
    details = report.result_details(failed)
    request_id = next(iter(failed.request_ids.values()))
    assert any(line.strip() == f"request id: {request_id}" for line in details), details
    assert "request id" in describe(Cause.SERVER_ERROR).fix
