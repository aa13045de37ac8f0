"""What a verification reports: the checks it plans, their results, and the events it yields while it runs, and
the target they are about (`targets.py` builds targets; the target lives here so this module imports no other of
the package). Both front ends render these (the TUI's checklist and log, the CLI's lines); `engine.py` yields them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from optscale_tui.core.causes import Cause

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
    from optscale_tui.core.connection import ApiKey, GatewayUrl, TierMapping


class CheckStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckSpec:
    id: str
    title: str
    tier: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    status: CheckStatus
    cause: Cause | None = None
    message: str = ""
    fix: str = ""
    timings: Mapping[str, float | int | None] = field(default_factory=dict)
    request_ids: Mapping[str, str] = field(default_factory=dict)
    tier: str | None = None
    model: str | None = None
    text: str = ""
    # The same fix as a CLI command, when there is one. `fix` stays in plain words that fit every front end (the
    # TUI says where in the app to do it; the CLI prints this command).
    fix_command: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "cause": self.cause.value if self.cause else None,
            "message": self.message,
            "fix": self.fix,
            "timings": {k: v for k, v in self.timings.items() if v is not None},
            "request_ids": dict(self.request_ids),
            "tier": self.tier,
            "model": self.model,
            **({"fix_command": self.fix_command} if self.fix_command else {}),
        }


@dataclass(frozen=True, slots=True)
class VerificationTarget:
    """What is verified: the URL, key and tier models as Claude Code would use them."""

    url: GatewayUrl | None
    key: ApiKey | None
    tiers: TierMapping
    source: str  # plain words: "settings in effect (~/.claude/settings.json)" or "unsaved plan"
    config: EffectiveConfig | None = None
    disable_experimental_betas: bool = False
    problems: tuple[CheckResult, ...] = ()  # what prevents probing at all (no URL, no key…)
    key_source: str = ""  # where the key came from when not from the env (e.g. "apiKeyHelper in ~/.claude/…")
    auth_scheme: str = "bearer"  # how the probes send the key: "bearer" (Claude Code) or "x-api-key" (a Desktop entry)

    @property
    def summary(self) -> dict[str, object]:
        return {
            "source": self.source,
            "anthropic_base_url": self.url.anthropic_base if self.url else None,
            "api_key": self.key.masked if self.key else None,
            "tiers": self.tiers.tiers(),
            **({"main_model": self.tiers.main_model} if self.tiers.main_model else {}),
            **({"subagent_model": self.tiers.subagent_model} if self.tiers.subagent_model else {}),
            **({"auth_scheme": self.auth_scheme} if self.auth_scheme != "bearer" else {}),
        }


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationPlanned:
    checks: tuple[CheckSpec, ...]
    target: VerificationTarget


@dataclass(frozen=True, slots=True)
class CheckStarted:
    check_id: str


@dataclass(frozen=True, slots=True)
class CheckProgress:
    check_id: str
    message: str


@dataclass(frozen=True, slots=True)
class TokenChunk:
    check_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CheckFinished:
    result: CheckResult

    @property
    def check_id(self) -> str:
        return self.result.id


@dataclass(frozen=True, slots=True)
class VerificationDone:
    results: tuple[CheckResult, ...]
    elapsed_ms: float  # the run that produced the results; after a partial re-run, the full run's
    # Set by `merge_results`: how many checks the latest partial re-run asked for, and how long it took.
    rerun_checks: int = 0
    rerun_ms: float | None = None
    # Whether the re-run also ran "connect" (it runs first for any network check) without being asked for it.
    rerun_connect: bool = False
    # The model ids of the key's catalog as this run fetched it (empty when it did not, or it failed): the fix-its
    # suggest models from it, not from a guess.
    catalog: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(r.status is CheckStatus.FAIL for r in self.results)


VerificationEvent = VerificationPlanned | CheckStarted | CheckProgress | TokenChunk | CheckFinished | VerificationDone
