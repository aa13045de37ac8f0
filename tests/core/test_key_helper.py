"""apiKeyHelper as Claude Code runs it, and a stored key with spaces around it (issue: verify failed where Claude
Code 2.1.332 connects)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_code.key_helper import MAX_OUTPUT_BYTES, run_api_key_helper
from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.diagnosis.doctor import inspect_environment
from optscale_tui.core.diagnosis.fixes import fixes_for
from optscale_tui.core.verify.engine import VerifyOptions, verify
from optscale_tui.core.verify.events import CheckStatus
from optscale_tui.core.verify.targets import target_from_effective

KEY = "sk-bf-" + "HelperKey0123456789" * 2
URL_PATH = "/llm_proxy/00000000-0000-4000-8000-00000000d3e0/anthropic"


def helper_script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "get-key.sh"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o700)
    return shlex.quote(str(script))


def test_a_helper_that_prints_the_key_gives_it_trimmed(tmp_path):
    outcome = run_api_key_helper(helper_script(tmp_path, f"printf '  {KEY}\\n'"))
    assert outcome.key is not None and outcome.key.value == KEY and outcome.cause is None


@pytest.mark.parametrize(
    ("body", "cause", "phrase"),
    [
        ("exit 3", Cause.API_KEY_HELPER_FAILED, "exited with code 3"),
        (f"echo {KEY}; exit 1", Cause.API_KEY_HELPER_FAILED, "exited with code 1"),
        ("true", Cause.API_KEY_HELPER_EMPTY, "printed nothing"),
        ("printf '   \\n'", Cause.API_KEY_HELPER_EMPTY, "printed nothing"),
        (f"printf 'a b {KEY}'", Cause.API_KEY_HELPER_FAILED, "cannot be sent"),
        ("sleep 30", Cause.API_KEY_HELPER_FAILED, "did not finish within 0.5 s"),
        ("yes sk-bf-endless-output-000000000", Cause.API_KEY_HELPER_FAILED, "more than 64 KiB"),
    ],
    ids=["exit-3", "prints-then-fails", "prints-nothing", "prints-blanks", "spaces-inside", "too-slow", "endless"],
)
def test_a_helper_that_fails_gets_a_cause_and_never_shows_its_output(tmp_path, body, cause, phrase):
    outcome = run_api_key_helper(helper_script(tmp_path, body), timeout=0.5 if "sleep" in body else 10)
    assert outcome.key is None and outcome.cause is cause
    assert phrase in outcome.message
    assert KEY not in outcome.message and "sk-bf-endless" not in outcome.message
    assert MAX_OUTPUT_BYTES == 64 * 1024


def write_settings(home: Path, data: dict) -> Path:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def inspect(home: Path):
    return inspect_environment(cwd=home, env={"HOME": str(home)}, home=home, managed_paths=[])


async def test_verify_connects_with_the_key_a_helper_prints(tmp_path, gateway):
    from optscale_tui.demo.server import DEMO_KEY

    home = tmp_path / "home"
    write_settings(home, {"apiKeyHelper": helper_script(tmp_path, f"echo {DEMO_KEY}"),
                          "env": {"ANTHROPIC_BASE_URL": gateway.anthropic_url,
                                  "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic/claude-sonnet-4-6",
                                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-4-6",
                                  "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic/claude-haiku-4-5"}})
    target = target_from_effective(inspect(home), cwd=home)
    assert target.problems == () and target.key is not None and target.key.value == DEMO_KEY
    assert target.key_source.startswith("apiKeyHelper in ")
    done = await verify(target, VerifyOptions(check_timeout=10))
    assert done.ok, [(r.id, r.cause, r.message) for r in done.results if r.status is CheckStatus.FAIL]


def test_a_failing_helper_is_a_config_problem_with_its_cause(tmp_path):
    home = tmp_path / "home"
    write_settings(home, {"apiKeyHelper": helper_script(tmp_path, "exit 7"),
                          "env": {"ANTHROPIC_BASE_URL": "https://gw.example.com" + URL_PATH}})
    target = target_from_effective(inspect(home), cwd=home)
    problem = next(p for p in target.problems if p.id == "config.api_key")
    assert problem.cause is Cause.API_KEY_HELPER_FAILED and "exited with code 7" in problem.message
    assert str(home / ".claude" / "settings.json") in problem.message


def test_a_token_wins_over_the_helper_and_the_helper_is_not_run(tmp_path):
    home = tmp_path / "home"
    marker = tmp_path / "ran"
    write_settings(home, {"apiKeyHelper": helper_script(tmp_path, f"touch {marker}; echo {KEY}"),
                          "env": {"ANTHROPIC_BASE_URL": "https://gw.example.com" + URL_PATH,
                                  "ANTHROPIC_AUTH_TOKEN": "sk-bf-" + "T" * 40}})
    target = target_from_effective(inspect(home), cwd=home)
    assert target.key is not None and target.key.value == "sk-bf-" + "T" * 40 and target.key_source == ""
    assert not marker.exists()


def test_writing_a_token_over_a_working_helper_says_so(tmp_path):
    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url

    path = write_settings(tmp_path, {"apiKeyHelper": "~/bin/key", "env": {}})
    url = parse_base_url("https://gw.example.com/llm_proxy/00000000-0000-4000-8000-00000000d3e0/v1")
    tiers = TierMapping(opus="anthropic/claude-opus-4-6")
    shadowing = plan_apply(load_settings(path), ConnectionValues(url, ApiKey(KEY), tiers))
    assert any("takes precedence" in n and "apiKeyHelper" in n for n in shadowing.notices)
    kept = plan_apply(load_settings(path), ConnectionValues(url, None, tiers))
    assert "ANTHROPIC_AUTH_TOKEN" not in kept.new_text
    assert any("apiKeyHelper supplies it" in n for n in kept.notices)


@pytest.mark.parametrize("name", ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"])
def test_spaces_around_the_stored_key_are_a_warning_with_a_fix_and_verify_sends_it_trimmed(tmp_path, name):
    home = tmp_path / "home"
    path = write_settings(home, {"env": {"ANTHROPIC_BASE_URL": "https://gw.example.com" + URL_PATH,
                                         name: f" {KEY} \n", "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/o"}})
    config = inspect(home)
    finding = next(f for f in config.findings if f.cause is Cause.KEY_WHITESPACE)
    assert finding.severity == "warn" and name in finding.message and KEY not in finding.message
    target = target_from_effective(config, cwd=home)
    assert target.key is not None and target.key.value == KEY
    fix = next(f for f in fixes_for(config) if f.cause is Cause.KEY_WHITESPACE)
    assert fix.path == path
    assert fix.command == "optscale-tui fix key_whitespace --yes" and KEY not in fix.command
    plan = fix.plan()
    assert KEY not in plan.diff()
    assert json.loads(plan.new_text)["env"][name] == KEY


def test_the_whitespace_fix_runs_from_the_shell(tmp_path):
    import subprocess

    home = tmp_path / "home"
    path = write_settings(home, {"env": {"ANTHROPIC_AUTH_TOKEN": f"{KEY} ", "KEEP": "1"}})
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "optscale_tui", "fix", "key_whitespace", "--yes"], cwd=home,
                         capture_output=True, text=True, env={"HOME": str(home), "PATH": "/usr/bin:/bin",
                                                              "PYTHONPATH": str(repo)})
    assert out.returncode == 0, out.stderr
    assert json.loads(path.read_text())["env"] == {"ANTHROPIC_AUTH_TOKEN": KEY, "KEEP": "1"}
    assert KEY not in out.stdout + out.stderr
