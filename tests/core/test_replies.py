"""ReplyOrder: streamed replies shown tier by tier in plan order, whatever order they arrive in."""

from __future__ import annotations

from optscale_tui.core.causes import Cause
from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckResult,
    CheckSpec,
    CheckStatus,
    TokenChunk,
    VerificationPlanned,
)
from optscale_tui.core.verify.replies import (
    NoReply,
    ReplyClosed,
    ReplyOpened,
    ReplyOrder,
    ReplyText,
    streamed_ids,
)
from tests.core.verify_targets import make_target

HAIKU, SONNET, OPUS = "prompt.haiku", "prompt.sonnet", "prompt.opus"


def result(check_id: str, status: CheckStatus = CheckStatus.PASS, cause: Cause | None = None) -> CheckResult:
    return CheckResult(check_id, check_id, status, cause)


def test_a_later_tier_that_answers_first_waits_until_the_one_before_it_has_finished():
    order = ReplyOrder([HAIKU, SONNET])
    order.add_text(SONNET, "Sonnet ")
    order.add_text(SONNET, "works.")
    order.finish(result(SONNET))
    assert order.take() == []  # Haiku has not said a word yet: nothing may be shown
    order.add_text(HAIKU, "Haiku")
    assert order.take() == [ReplyOpened(HAIKU), ReplyText(HAIKU, "Haiku")]
    assert order.open == HAIKU
    order.add_text(SONNET, "(late)")  # more of the waiting reply: still buffered, not shown inside Haiku's
    order.add_text(HAIKU, " works.")
    order.finish(result(HAIKU))
    assert order.take() == [
        ReplyText(HAIKU, " works."), ReplyClosed(result(HAIKU)),
        ReplyOpened(SONNET), ReplyText(SONNET, "Sonnet works.(late)"), ReplyClosed(result(SONNET)),
    ]
    assert order.open is None
    assert order.take() == []  # each piece is given once


def test_a_failed_tier_without_a_reply_is_one_line_and_does_not_hold_the_next():
    failed = result(HAIKU, CheckStatus.FAIL, Cause.MODEL_NOT_ALLOWED)
    order = ReplyOrder([HAIKU, SONNET])
    order.add_text(SONNET, "Sonnet works.")
    assert order.take() == []
    order.finish(failed)
    assert order.take() == [NoReply(failed), ReplyOpened(SONNET), ReplyText(SONNET, "Sonnet works.")]
    assert order.open == SONNET


def test_a_tier_that_fails_after_part_of_its_reply_closes_with_its_failure():
    cut = result(HAIKU, CheckStatus.FAIL, Cause.TIMEOUT)
    order = ReplyOrder([HAIKU])
    order.add_text(HAIKU, "Half a")
    assert order.take() == [ReplyOpened(HAIKU), ReplyText(HAIKU, "Half a")]
    order.finish(cut)
    assert order.take() == [ReplyClosed(cut)]


def test_a_passing_tier_without_text_still_gets_its_header_and_its_ending():
    order = ReplyOrder([HAIKU])
    order.finish(result(HAIKU))
    assert order.take() == [ReplyOpened(HAIKU), ReplyClosed(result(HAIKU))]


def test_a_rerun_starts_over_with_its_own_plan():
    order = ReplyOrder([HAIKU, SONNET])
    order.add_text(HAIKU, "first run")
    order.add_text(SONNET, "never shown")
    assert order.take() == [ReplyOpened(HAIKU), ReplyText(HAIKU, "first run")]
    order.plan([SONNET])  # the re-run asks for Sonnet only; what the first run left is dropped
    assert order.open is None and order.order == (SONNET,)
    assert order.take() == []
    order.add_text(SONNET, "second run")
    order.finish(result(SONNET))
    assert order.take() == [ReplyOpened(SONNET), ReplyText(SONNET, "second run"), ReplyClosed(result(SONNET))]


def test_a_reply_the_plan_did_not_list_joins_the_order_at_its_first_text():
    order = ReplyOrder([HAIKU])
    order.finish(result("claude.haiku", CheckStatus.FAIL))  # no text: never joins, never shown here
    order.add_text("claude.default", "Claude Code works.")
    order.finish(result("claude.default"))
    assert order.order == (HAIKU, "claude.default")
    assert order.take() == []  # after the planned Haiku reply
    order.finish(result(HAIKU, CheckStatus.SKIP))
    assert order.take() == [
        NoReply(result(HAIKU, CheckStatus.SKIP)),
        ReplyOpened("claude.default"), ReplyText("claude.default", "Claude Code works."),
        ReplyClosed(result("claude.default")),
    ]


def test_feed_takes_the_engines_events_and_a_new_plan_restarts():
    target = make_target(None, url="https://127.0.0.1:9/anthropic")  # no network: only the plan is read
    specs = (CheckSpec("config", "c"), CheckSpec("connect", "n"), CheckSpec(OPUS, "o", "opus"),
             CheckSpec(HAIKU, "h", "haiku"), CheckSpec("tools.opus", "t", "opus"))
    assert streamed_ids(specs) == [OPUS, HAIKU]
    order = ReplyOrder()
    order.feed(VerificationPlanned(specs, target))
    order.feed(TokenChunk(HAIKU, "Haiku works."))
    order.feed(CheckFinished(result(HAIKU)))
    order.feed(CheckFinished(result("tools.opus")))  # not streamed: never shown here
    assert order.take() == []
    order.feed(CheckFinished(result(OPUS, CheckStatus.FAIL)))
    assert order.take() == [NoReply(result(OPUS, CheckStatus.FAIL)), ReplyOpened(HAIKU),
                            ReplyText(HAIKU, "Haiku works."), ReplyClosed(result(HAIKU))]
    order.feed(VerificationPlanned(specs[:3], target))  # a re-run: its own plan, from the start
    assert order.order == (OPUS,) and order.take() == []
