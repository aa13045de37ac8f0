"""Verifying values before they are saved: the configuration check sees them as saved, over every other layer.

It used to look at the settings file as it is on disk, so a user who mapped the Opus tier but had not saved yet was
told to map the Opus tier.
"""

from __future__ import annotations

import json
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_anthropic_base_url
from optscale_tui.core.verify.engine import VerifyOptions, run_verification
from optscale_tui.core.verify.events import CheckStatus, VerificationDone
from optscale_tui.core.verify.targets import target_from_unsaved, target_from_values
from tests.core.test_doctor import BASE, HAIKU, OPUS, SONNET, TOKEN, Sandbox

SEED = {"theme": "dark", "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"}}  # no gateway yet, as in --demo
VALUES = ConnectionValues(url=parse_anthropic_base_url(BASE), key=ApiKey(TOKEN),
                          tiers=TierMapping(haiku=HAIKU, sonnet=SONNET, opus=OPUS))


def where(sb: Sandbox) -> dict[str, object]:
    return {"cwd": sb.cwd, "env": {"HOME": str(sb.home)}, "home": sb.home, "platform": "linux",
            "managed_paths": [sb.managed_file, sb.dropin_dir]}


async def config_check(target) -> tuple[VerificationDone, dict]:
    """Run only the network-free checks (no gateway needed): the "config" row and the doctor's rows."""
    only = frozenset({"config", *(f"doctor.{cause.value}" for cause in Cause)})
    events = [e async for e in run_verification(target, VerifyOptions(only=only))]
    done = events[-1]
    assert isinstance(done, VerificationDone)
    return done, {r.id: r for r in done.results}


async def test_unsaved_values_are_checked_as_saved(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path)
    sb.write(sb.user_file, SEED)
    before = sb.user_file.read_text()
    plan = plan_apply(load_settings(sb.user_file), VALUES)

    # What the engine was given before: the file as it is on disk, where no tier is mapped. (With no gateway there,
    # that is no finding: Claude Code talks to Anthropic. With the gateway URL alone, it is.)
    url_only = {**SEED, "env": {**SEED["env"], "ANTHROPIC_BASE_URL": BASE}}
    on_disk = target_from_values(VALUES, sb.inspect(**where(sb), pending={sb.user_file: url_only}))
    assert Cause.TIER_UNMAPPED in {f.cause for f in on_disk.config.findings}

    target = target_from_unsaved(VALUES, plan, **where(sb))
    assert target.config is not None and target.config.findings == ()
    assert target.config.get("ANTHROPIC_DEFAULT_OPUS_MODEL") == OPUS
    assert target.source == "unsaved values" and target.key == ApiKey(TOKEN) and target.tiers == VALUES.tiers
    done, rows = await config_check(target)
    assert rows["config"].status is CheckStatus.PASS
    assert not any(r.status is CheckStatus.WARN for r in done.results)
    assert sb.user_file.read_text() == before  # inspected as saved, never written


async def test_unsaved_values_still_see_what_another_layer_overrides(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path)
    sb.write(sb.user_file, SEED)
    sb.write(sb.project_file, {"env": {"ANTHROPIC_BASE_URL": "https://other.example/anthropic"}})
    target = target_from_unsaved(VALUES, plan_apply(load_settings(sb.user_file), VALUES), **where(sb))
    # The planned user file has the gateway underneath now, so the project file overrides it, and since its URL
    # goes to another host than the one the key is saved for, Claude Code would send the key there (a failure).
    assert [f.cause for f in target.config.findings] == [Cause.KEY_SENT_ELSEWHERE, Cause.PROJECT_OVERRIDE]
    _done, rows = await config_check(target)
    assert rows["config"].status is CheckStatus.FAIL and rows["config"].cause is Cause.KEY_SENT_ELSEWHERE


def test_pending_settings_replace_the_file_on_disk_only_for_that_file(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path)
    sb.write(sb.user_file, SEED)
    sb.write(sb.project_file, {"env": {"FOO": "project"}})
    planned = {**SEED, "env": {**SEED["env"], "ANTHROPIC_BASE_URL": BASE}}
    config = sb.inspect(**where(sb), pending={sb.user_file: planned})
    assert config.get("ANTHROPIC_BASE_URL") == BASE and config.get("FOO") == "project"
    assert json.loads(sb.user_file.read_text()) == SEED
