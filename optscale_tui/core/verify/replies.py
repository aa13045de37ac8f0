"""Streamed replies in plan order, tier by tier: what a front end may show now (pure: no I/O, no clock, no loop).

The prompt checks run concurrently, so their replies arrive interleaved and a later tier may answer first. A log
that printed pieces as they came would mix the replies; this keeps each one whole, in the plan's order: a reply is
shown once every reply before it has finished, and while it streams the later ones wait, buffered.

Use one `ReplyOrder` per run:

    order = ReplyOrder()
    for event in events:                 # the engine's VerificationEvents, as they come
        order.feed(event)                # cheap: buffers text, notes results
        for piece in order.take():       # now, or on a timer (the TUI flushes every few ms)
            ...                          # ReplyOpened: a header; ReplyText: more of it;
                                         # ReplyClosed: how it ended; NoReply: one line (failed, said nothing)

`feed` handles VerificationPlanned (restart with the plan's prompt checks: a re-run starts over), TokenChunk and
CheckFinished; `plan`, `add_text` and `finish` do the same one by one. A check the plan did not list for
streaming (the real client's `claude.*`) joins the order at its first piece of text, after those already in it.
`open` names the reply being shown, if any: a front end that prints other lines (the CLI's result lines) holds
them until it is None, so no reply is cut in half.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckResult,
    CheckSpec,
    CheckStatus,
    TokenChunk,
    VerificationEvent,
    VerificationPlanned,
)

STREAMED_PREFIX = "prompt."  # the plan's checks whose replies stream, in plan order


@dataclass(frozen=True, slots=True)
class ReplyOpened:
    """A reply starts: show its header (a check that passed without a word still gets one, then ReplyClosed)."""

    check_id: str


@dataclass(frozen=True, slots=True)
class ReplyText:
    """More of the open reply: the pieces that arrived since the last `take`, joined."""

    check_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ReplyClosed:
    """The open reply is complete: show how its check ended."""

    result: CheckResult


@dataclass(frozen=True, slots=True)
class NoReply:
    """A check that ended without passing and without a word of reply: one line, no header."""

    result: CheckResult


ReplyPiece = ReplyOpened | ReplyText | ReplyClosed | NoReply


def streamed_ids(checks: Iterable[CheckSpec]) -> list[str]:
    """The plan's checks whose replies stream, in plan order."""
    return [spec.id for spec in checks if spec.id.startswith(STREAMED_PREFIX)]


class ReplyOrder:
    """Orders the streamed replies of one run; see the module's docstring."""

    def __init__(self, check_ids: Iterable[str] = ()) -> None:
        self.plan(check_ids)

    def plan(self, check_ids: Iterable[str]) -> None:
        """Start over with these checks' replies, in this order (a new run or a re-run): nothing kept."""
        self._order: list[str] = list(dict.fromkeys(check_ids))
        self._buffers: dict[str, list[str]] = {}
        self._results: dict[str, CheckResult] = {}
        self._next = 0  # index in _order of the reply to show (or being shown)
        self._open: str | None = None

    @property
    def open(self) -> str | None:
        """The check whose reply is being shown (opened, not closed yet), if any."""
        return self._open

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(self._order)

    def add_text(self, check_id: str, text: str) -> None:
        buffer = self._buffers.get(check_id)
        if buffer is None:
            buffer = self._buffers[check_id] = []
            if check_id not in self._order:  # not planned for streaming (the real client's reply): it joins now
                self._order.append(check_id)
        buffer.append(text)

    def finish(self, result: CheckResult) -> None:
        self._results[result.id] = result

    def feed(self, event: VerificationEvent) -> None:
        """Take in one engine event (others than the three below are ignored)."""
        if isinstance(event, TokenChunk):
            self.add_text(event.check_id, event.text)
        elif isinstance(event, CheckFinished):
            self.finish(event.result)
        elif isinstance(event, VerificationPlanned):
            self.plan(streamed_ids(event.checks))

    def take(self) -> list[ReplyPiece]:
        """What may be shown now, in order; each piece is given once. A reply opens when the ones before it have
        closed; the first one still running stops the rest (its text so far is given)."""
        pieces: list[ReplyPiece] = []
        while self._next < len(self._order):
            check_id = self._order[self._next]
            buffer = self._buffers.get(check_id)
            result = self._results.get(check_id)
            if self._open is None and not buffer and result is not None and result.status is not CheckStatus.PASS:
                pieces.append(NoReply(result))
                self._next += 1
                continue
            if self._open is None and (buffer or result is not None):
                self._open = check_id
                pieces.append(ReplyOpened(check_id))
            if buffer:
                pieces.append(ReplyText(check_id, "".join(buffer)))
                buffer.clear()
            if result is None:
                break
            pieces.append(ReplyClosed(result))
            self._open = None
            self._next += 1
        return pieces
