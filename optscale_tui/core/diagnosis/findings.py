"""What the doctor reports: a Finding per problem (a cause id with a message and a fix), and notes beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from optscale_tui.core.causes import Cause, describe

Severity = Literal["warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    cause: Cause
    severity: Severity
    message: str
    fix: str
    detail: str = ""


class Findings:
    """Findings and notes in the order the checks make them (notes: facts worth showing that have no cause id)."""

    def __init__(self, notes: tuple[str, ...] = ()) -> None:
        self.findings: list[Finding] = []
        self.notes: list[str] = list(notes)

    def finding(self, cause: Cause, severity: Severity, message: str, fix: str | None = None, detail: str = "") -> None:
        """Add a finding; without `fix`, the cause's own fix (core/causes.py)."""
        self.findings.append(Finding(cause, severity, message, fix or describe(cause).fix, detail))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def in_order(self) -> tuple[Finding, ...]:
        """Failures first, then warnings, each in the order found."""
        order = {"fail": 0, "warn": 1}
        return tuple(sorted(self.findings, key=lambda f: order[f.severity]))
