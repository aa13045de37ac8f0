"""Doctor findings (cause id, message, fix) and notes, as a stack of blocks.

Status is never colour alone: each block starts with ✗ (fail) or ! (warn) and the word, then the cause id, which is
the same id the CLI and the reports print. The left border carries the colour, through theme variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from optscale_tui.core.diagnosis.findings import Finding

MARKS = {"fail": "✗ fail", "warn": "! warn"}


def home_relative(text: str) -> str:
    """Paths under the home folder written as `~/…` inside free text (core messages carry absolute paths)."""
    try:
        home = str(Path.home())
    except RuntimeError:
        return text
    if len(home) <= 1:
        return text
    # The home folder itself too ("runs in /home/me."), not only paths under it; never a longer name (/home/me2).
    return re.sub(re.escape(home) + r"(?=[/\\\s.,;:)'\"]|$)", "~", text)


def finding_content(finding: Finding) -> Content:
    mark = MARKS.get(finding.severity, "! warn")
    return Content.assemble(
        (mark, "bold"), "  ", (str(finding.cause), "bold italic"), "\n",
        home_relative(finding.message), "\n",
        ("Fix: ", "bold"), home_relative(finding.fix),
    )


def finding_text(finding: Finding) -> str:
    """The same block as plain text (for copying and tests)."""
    return finding_content(finding).plain


class FindingsList(Vertical):
    """Findings first, then notes. `set_items` replaces what is shown; `empty_text` when there is nothing."""

    DEFAULT_CSS = """
    FindingsList { height: auto; }
    FindingsList > .finding { height: auto; padding: 0 1; margin-bottom: 1; border-left: outer $warning; }
    FindingsList > .finding.-fail { border-left: outer $error; }
    FindingsList > .finding.-note { border-left: outer $panel; color: $text-muted; }
    FindingsList > .finding.-empty { border-left: outer $success; margin-bottom: 0; }
    """

    def __init__(self, *, empty_text: str = "✓ Nothing found.", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.empty_text = empty_text
        self._shown: tuple | None = None
        self.texts: list[str] = []  # what each block says, as plain text (for copying and tests)

    def set_items(self, findings: Iterable[Finding], notes: Iterable[str] = ()) -> None:
        findings, notes = tuple(findings), tuple(notes)
        key = (findings, notes, self.empty_text)
        if key == self._shown:
            return
        self._shown = key
        blocks: list[Static] = [
            Static(finding_content(f), classes=f"finding -{f.severity}") for f in findings
        ]
        blocks += [Static(Content.assemble(("• note  ", "bold"), home_relative(n)), classes="finding -note")
                   for n in notes]
        if not blocks:
            blocks = [Static(self.empty_text, classes="finding -empty", markup=False)]
        self.texts = [finding_text(f) for f in findings] + [f"• note  {home_relative(n)}" for n in notes]
        if not (findings or notes):
            self.texts = [self.empty_text]
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(blocks)
