"""`optscale-tui run --profile NAME -- claude …` (issue 13 §3) with a stand-in for Claude Code: what the temporary
settings file holds, its modes, the exit code, and that the file is gone after a normal exit, SIGTERM, SIGINT and a
SIGKILL of optscale-tui itself. The real Claude Code runs this way in tests/e2e/test_run_profile.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.core.session_run import session_settings
from optscale_tui.demo.server import DEMO_KEY

OPUS, HAIKU = "anthropic/claude-opus-4-6", "anthropic/claude-haiku-4-5"
BASE_URL = "http://127.0.0.1:9/llm_proxy/org/v1"

FAKE_CLAUDE = """#!{python}
import json, os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_DFL)  # die by the signal, as a program that does not catch it
i = sys.argv.index("--settings")
path = sys.argv[i + 1]
data = json.load(open(path))
env = data["env"]
info = {{"settings": path, "pid": os.getpid(), "args": sys.argv[1:i] + sys.argv[i + 2:],
        "mode": oct(os.stat(path).st_mode & 0o777), "dir_mode": oct(os.stat(os.path.dirname(path)).st_mode & 0o777),
        "names": sorted(env), "api_key": env.get("ANTHROPIC_API_KEY"), "url": env["ANTHROPIC_BASE_URL"],
        "token_is_profile_key": env.get("ANTHROPIC_AUTH_TOKEN") == os.environ.get("EXPECTED_KEY"),
        "model": data.get("model"), "blanked": sorted(k for k, v in env.items() if v == "")}}
with open(os.environ["FAKE_MARKER"] + ".tmp", "w") as f:
    json.dump(info, f)
os.replace(os.environ["FAKE_MARKER"] + ".tmp", os.environ["FAKE_MARKER"])
if os.environ.get("FAKE_SLEEP"):
    while True:
        time.sleep(0.05)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def runner(sandbox, tmp_path: Path):
    fake = tmp_path / "fake-claude"
    fake.write_text(FAKE_CLAUDE.format(python=sys.executable))
    fake.chmod(0o755)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    sandbox.env.update(OPTSCALE_TUI_KEY_STORE="file", OPTSCALE_TUI_CLAUDE_BIN=str(fake), TMPDIR=str(temp_root),
                       FAKE_MARKER=str(tmp_path / "fake-claude.json"), EXPECTED_KEY=DEMO_KEY)
    out = sandbox.run("profile", "save", "p", "--base-url", BASE_URL, "--opus", OPUS, "--haiku", HAIKU,
                      "--api-key-stdin", "--store-key", input=DEMO_KEY + "\n")
    assert out.returncode == 0, out.stderr
    sandbox.temp_root = temp_root
    sandbox.marker = tmp_path / "fake-claude.json"
    return sandbox


def wait_for(predicate, what: str, limit: float = 60.0) -> None:
    """Poll until `predicate()` holds; the limit only bounds a hang, it is not what the test checks."""
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_session_settings_set_the_profile_and_blank_only_what_lower_layers_set() -> None:
    values = ConnectionValues(url=parse_base_url(BASE_URL), key=ApiKey(DEMO_KEY),
                              tiers=TierMapping(opus=OPUS, main_model=OPUS, subagent_model=HAIKU),
                              disable_experimental_betas=True)
    plain = session_settings(values, {})
    assert plain.env == {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/llm_proxy/org/anthropic",
                         "ANTHROPIC_AUTH_TOKEN": DEMO_KEY, "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS,
                         "CLAUDE_CODE_SUBAGENT_MODEL": HAIKU, "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}
    assert plain.top_level == {"model": OPUS}
    assert session_settings(values, {"ANTHROPIC_API_KEY": "sk-ant-" + "x" * 20}).env["ANTHROPIC_API_KEY"] == ""


def test_what_the_profile_leaves_unmapped_is_blanked_when_lower_layers_set_it() -> None:
    values = ConnectionValues(url=parse_base_url(BASE_URL), key=ApiKey(DEMO_KEY),
                              tiers=TierMapping(opus=OPUS, haiku=HAIKU))
    elsewhere = {"ANTHROPIC_DEFAULT_SONNET_MODEL": "other-gw/sonnet", "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME": "Other",
                 "ANTHROPIC_DEFAULT_OPUS_MODEL": "other-gw/opus", "ANTHROPIC_DEFAULT_OPUS_MODEL_DESCRIPTION": "x",
                 "ANTHROPIC_DEFAULT_HAIKU_MODEL": HAIKU, "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME": "Haiku here",
                 "ANTHROPIC_MODEL": "other-gw/main", "ANTHROPIC_SMALL_FAST_MODEL": "other-gw/fast",
                 "CLAUDE_CODE_SUBAGENT_MODEL": "other-gw/sub"}
    env = session_settings(values, elsewhere).env
    # Unmapped by the profile: blanked, or Claude Code would send another gateway's ids to this one.
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == env["ANTHROPIC_DEFAULT_SONNET_MODEL_NAME"] == ""
    assert env["ANTHROPIC_MODEL"] == env["ANTHROPIC_SMALL_FAST_MODEL"] == env["CLAUDE_CODE_SUBAGENT_MODEL"] == ""
    # Mapped: the profile's model, and a label written for another model is blanked; one for the same model stays.
    assert env["ANTHROPIC_DEFAULT_OPUS_MODEL"] == OPUS and env["ANTHROPIC_DEFAULT_OPUS_MODEL_DESCRIPTION"] == ""
    assert env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == HAIKU and "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME" not in env
    # Nothing set below: nothing blanked.
    assert "ANTHROPIC_DEFAULT_SONNET_MODEL" not in session_settings(values, {}).env


def test_a_lower_layers_fable_model_and_its_labels_are_blanked() -> None:
    values = ConnectionValues(url=parse_base_url(BASE_URL), key=ApiKey(DEMO_KEY), tiers=TierMapping(opus=OPUS))
    env = session_settings(values, {"ANTHROPIC_DEFAULT_FABLE_MODEL": "other-gw/fable",
                                    "ANTHROPIC_DEFAULT_FABLE_MODEL_NAME": "Fable elsewhere",
                                    "ANTHROPIC_DEFAULT_FABLE_MODEL_DESCRIPTION": "via the other gateway"}).env
    # A profile never maps Fable: another gateway's Fable id would be sent to this one (`--model fable`).
    assert env["ANTHROPIC_DEFAULT_FABLE_MODEL"] == env["ANTHROPIC_DEFAULT_FABLE_MODEL_NAME"] == ""
    assert env["ANTHROPIC_DEFAULT_FABLE_MODEL_DESCRIPTION"] == ""
    # A label for Claude Code's own Fable model (no Fable id anywhere) still describes it: kept.
    assert "ANTHROPIC_DEFAULT_FABLE_MODEL_NAME" not in session_settings(
        values, {"ANTHROPIC_DEFAULT_FABLE_MODEL_NAME": "Fable"}).env


def test_a_lower_layers_main_model_gives_way_to_the_profiles_gateway_models() -> None:
    def main(lower: str | None, **tiers: str) -> dict[str, str]:
        values = ConnectionValues(url=parse_base_url(BASE_URL), key=ApiKey(DEMO_KEY), tiers=TierMapping(**tiers))
        return session_settings(values, {"model": lower}).top_level

    # Another gateway's id below: "" (Claude Code then follows the profile's Opus tier, measured) ...
    assert main("other-gw/main", opus=OPUS, haiku=HAIKU) == {"model": ""}
    # ... without an Opus tier that default is Claude Code's built-in Opus: the alias of the best tier mapped.
    assert main("other-gw/main", sonnet="gw/sonnet", haiku=HAIKU) == {"model": "sonnet"}
    assert main("other-gw/main", haiku=HAIKU) == {"model": "haiku"}
    # An alias (what /model writes) that resolves to one of the profile's tiers stays; one that does not is replaced.
    assert main("haiku", opus=OPUS, haiku=HAIKU) == {}
    assert main("sonnet", opus=OPUS, haiku=HAIKU) == {"model": ""}
    # The profile's own main model wins; nothing below: nothing written.
    assert main("other-gw/main", opus=OPUS, main_model=HAIKU) == {"model": HAIKU}
    assert main(None, opus=OPUS) == {}


def test_run_replaces_the_main_model_and_blanks_the_fable_model_of_settings_json(runner):
    runner.config_dir.mkdir()
    runner.settings.write_text(json.dumps({"model": "other/main", "env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/anthropic", "ANTHROPIC_DEFAULT_FABLE_MODEL": "other/fable"}}))
    before = runner.settings.read_bytes()
    out = runner.run("run", "--profile", "p", "--", "claude")
    assert out.returncode == 0, out.stderr
    info = json.loads(runner.marker.read_text())
    assert info["model"] == ""  # the profile maps Opus and has no main model: Claude Code's default follows Opus
    assert info["blanked"] == ["ANTHROPIC_DEFAULT_FABLE_MODEL"]
    assert runner.settings.read_bytes() == before


def test_run_blanks_the_tier_models_settings_json_sets_and_the_profile_leaves_unmapped(runner):
    runner.config_dir.mkdir()
    runner.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": "https://elsewhere.example/anthropic", "ANTHROPIC_DEFAULT_SONNET_MODEL": "other/sonnet",
        "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME": "Sonnet elsewhere", "CLAUDE_CODE_SUBAGENT_MODEL": "other/sub"}}))
    before = runner.settings.read_bytes()
    out = runner.run("run", "--profile", "p", "--", "claude", env={"ANTHROPIC_MODEL": "other/main"})
    assert out.returncode == 0, out.stderr
    info = json.loads(runner.marker.read_text())
    assert info["blanked"] == ["ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME",
                               "ANTHROPIC_MODEL", "CLAUDE_CODE_SUBAGENT_MODEL"]
    assert runner.settings.read_bytes() == before


def test_run_passes_a_private_settings_file_returns_the_exit_code_and_removes_the_file(runner):
    out = runner.run("run", "--profile", "p", "--", "claude", "-p", "hi there", "--no-session-persistence",
                     env={"FAKE_EXIT": "7", "ANTHROPIC_API_KEY": "sk-ant-" + "y" * 24})
    assert out.returncode == 7, out.stderr
    info = json.loads(runner.marker.read_text())
    assert info["args"] == ["-p", "hi there", "--no-session-persistence"]
    assert (info["mode"], info["dir_mode"]) == ("0o600", "0o700")
    assert info["token_is_profile_key"] and info["url"].endswith("/llm_proxy/org/anthropic")
    assert info["api_key"] == ""  # the shell's ANTHROPIC_API_KEY is blanked: env merges key by key
    assert info["names"] == ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
                             "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL"]
    assert list(runner.temp_root.iterdir()) == []
    assert not runner.settings.exists()  # ~/.claude/settings.json was never written
    assert DEMO_KEY not in out.stdout + out.stderr


def test_run_without_a_program_or_with_an_unknown_profile_is_a_usage_error(runner):
    assert runner.run("run", "--profile", "p").returncode == 2
    assert runner.run("run", "--profile", "ghost", "--", "claude").returncode == 2
    assert list(runner.temp_root.iterdir()) == []


def start_sleeping(runner) -> tuple[subprocess.Popen, dict]:
    parent = subprocess.Popen([sys.executable, "-m", "optscale_tui", "run", "--profile", "p", "--", "claude"],
                              cwd=runner.cwd, env={**runner.env, "FAKE_SLEEP": "1"}, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(runner.marker.exists, "the stand-in for Claude Code to start")
    info = json.loads(runner.marker.read_text())
    assert Path(info["settings"]).exists()
    return parent, info


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 128 + signal.SIGTERM),
                                               (signal.SIGINT, 128 + signal.SIGINT)])
def test_a_signal_to_optscale_tui_reaches_claude_code_and_the_file_is_removed(runner, signum, code):
    parent, info = start_sleeping(runner)
    parent.send_signal(signum)
    assert parent.wait(timeout=60) == code  # Claude Code's exit: killed by the forwarded signal
    assert not alive(info["pid"])
    assert list(runner.temp_root.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux")
def test_when_optscale_tui_is_killed_outright_the_watchdog_removes_the_file_and_claude_code_stops(runner):
    parent, info = start_sleeping(runner)
    parent.kill()
    parent.wait(timeout=60)
    wait_for(lambda: not Path(info["settings"]).exists(), "the watchdog to remove the settings file")
    wait_for(lambda: not alive(info["pid"]), "Claude Code to stop (PR_SET_PDEATHSIG)")
    wait_for(lambda: list(runner.temp_root.iterdir()) == [], "the private directory to go")


def test_doctor_explains_the_precedence_run_relies_on(runner):
    out = runner.run("doctor")
    assert "--settings" in out.stdout and "key by key" in out.stdout
    report = json.loads(runner.run("doctor", "--json").stdout)
    assert "only managed settings win" in report["run_precedence"]
