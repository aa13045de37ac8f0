"""Verifying Claude Desktop's configuration: the shared probes on its values, and the Desktop-only findings."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from optscale_tui.core.causes import Cause
from optscale_tui.core.clients.claude_desktop import (
    DesktopValues,
    desktop_locations,
    desktop_models,
    load_library,
    plan_desktop_apply,
    save_desktop_plan,
)
from optscale_tui.core.clients.claude_desktop.managed import ManagedSource
from optscale_tui.core.clients.claude_desktop.verify import (
    desktop_target,
    discover_models,
    discovery_result,
    linux_desktop_processes,
    needs_discovery,
    read_desktop_log,
    static_checks,
)
from optscale_tui.core.connection import TierMapping, parse_api_key, parse_base_url
from optscale_tui.core.gateway.catalog import Catalog, ModelInfo
from optscale_tui.core.gateway.results import ProbeResult, ProbeTimings
from optscale_tui.core.verify.engine import VerifyOptions, verify
from optscale_tui.core.verify.events import CheckStatus
from optscale_tui.demo.server import DEMO_KEY, DemoGateway

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-desktop"
TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6")


def applied(tmp_path: Path, url: str, key: str = DEMO_KEY, tiers: TierMapping = TIERS):
    loc = desktop_locations(platform="linux", home=tmp_path, env={}, root=tmp_path / "root")
    values = DesktopValues(parse_base_url(url), parse_api_key(key), desktop_models(tiers))
    save_desktop_plan(plan_desktop_apply(load_library(loc), values))
    return load_library(loc)


def rows(library, **kwargs):
    """The Desktop-only checks with no OS query: nothing managed, nothing running unless a test says so."""
    return {r.id: r for r in static_checks(library, running=kwargs.pop("running", []),
                                           managed=kwargs.pop("managed", []), **kwargs)}


def test_the_shared_probes_run_on_desktops_values(tmp_path, gateway):
    library = applied(tmp_path, gateway.base_url)
    target = desktop_target(library)
    assert target.url.anthropic_base == gateway.anthropic_url and target.key.value == DEMO_KEY
    assert target.tiers == TIERS and "Claude Desktop configuration" in target.source
    done = asyncio.run(verify(target, VerifyOptions(beta_probe=False, count_tokens=False, tool_probe=False)))
    assert done.ok, [(r.id, r.message) for r in done.results]
    assert {"prompt.sonnet", "prompt.haiku", "catalog"} <= {r.id for r in done.results}
    asked = {r.body.get("model") for r in gateway.requests if r.body}
    assert {"anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"} <= asked


def test_a_wrong_key_fails_like_it_does_for_claude_code(tmp_path, gateway):
    library = applied(tmp_path, gateway.base_url, key="sk-bf-not-a-real-key-0000000000")
    done = asyncio.run(verify(desktop_target(library), VerifyOptions(beta_probe=False, count_tokens=False,
                                                                      tool_probe=False)))
    assert not done.ok and any(r.cause is Cause.AUTH_INVALID_KEY for r in done.results)


def test_nothing_applied_is_a_problem_before_any_probe(tmp_path):
    library = load_library(desktop_locations(platform="linux", home=tmp_path, env={}))
    target = desktop_target(library)
    assert [p.id for p in target.problems] == ["desktop.entry"]
    found = rows(library)
    assert found["desktop.mode"].status is CheckStatus.FAIL and "desktop apply" in found["desktop.mode"].fix


def test_static_checks_pass_on_a_fresh_apply(tmp_path):
    found = rows(applied(tmp_path, "https://my.optscale.ai/llm_proxy/org/v1", key="sk-bf-0000000000000000000000"))
    assert {k: r.status for k, r in found.items()} == {
        "desktop.mode": CheckStatus.PASS, "desktop.models": CheckStatus.PASS, "desktop.managed": CheckStatus.PASS,
        "desktop.running": CheckStatus.PASS, "desktop.log": CheckStatus.SKIP}


def test_a_model_name_desktop_rejects_is_reported_with_the_catalogs_nearest(tmp_path):
    loc = desktop_locations(platform="linux", home=tmp_path, env={})
    shutil.copytree(FIXTURES / "other-tools", loc.folder)
    entry = loc.entry("ccr-gateway")
    entry.write_text(entry.read_text().replace('"claude-sonnet-4-6"', '"openai/gpt-4.1"'))
    found = rows(load_library(loc), catalog=["openai/gpt-4.1", "anthropic/claude-sonnet-4-6"])
    models = found["desktop.models"]
    assert models.status is CheckStatus.FAIL and models.cause is Cause.DESKTOP_MODEL_REJECTED
    assert "openai/gpt-4.1" in models.message and "anthropic/claude-sonnet-4-6" in models.message


def test_managed_configuration_is_a_finding(tmp_path):
    library = applied(tmp_path, "https://my.optscale.ai/llm_proxy/org/v1", key="sk-bf-0000000000000000000000")
    managed = tmp_path / "root" / "etc" / "claude-desktop" / "managed-settings.json"
    managed.parent.mkdir(parents=True)
    managed.write_text('{"inferenceProvider": "gateway"}')
    row = {r.id: r for r in static_checks(library, running=[])}["desktop.managed"]  # found on the (fake) disk
    assert row.status is CheckStatus.WARN and row.cause is Cause.DESKTOP_MANAGED_OVERRIDE and str(managed) in row.message
    assert "inferenceProvider" in row.message
    windows = load_library(desktop_locations(platform="win32", env={"LOCALAPPDATA": str(tmp_path / "L")}))
    row = {r.id: r for r in static_checks(windows, running=[],
                                          managed=[ManagedSource("HKLM\\SOFTWARE\\Policies\\Claude")])}
    assert row["desktop.managed"].cause is Cause.DESKTOP_MANAGED_OVERRIDE


def test_a_running_desktop_must_be_quit_and_reopened(tmp_path):
    library = applied(tmp_path, "https://my.optscale.ai/llm_proxy/org/v1", key="sk-bf-0000000000000000000000")
    row = rows(library, running=["pid 42: /usr/bin/claude-desktop"])["desktop.running"]
    assert row.status is CheckStatus.WARN and row.cause is Cause.DESKTOP_RUNNING and "Quit" in row.fix


def test_linux_process_scan_reads_proc_cmdlines(tmp_path):
    proc = tmp_path / "proc"
    for pid, argv in {"10": [b"/opt/Claude/claude-desktop", b"--no-sandbox"], "11": [b"node", b"/usr/bin/claude"],
                      "12": [b"/usr/lib/claude-desktop/electron", b"app.asar"], "self": [b"x"]}.items():
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
    (proc / "13").mkdir()  # a process that ended: no cmdline
    assert sorted(linux_desktop_processes(proc)) == ["pid 10: /opt/Claude/claude-desktop",
                                                     "pid 12: /usr/lib/claude-desktop/electron"]


def test_the_log_read_back_shows_what_desktop_said_since_the_write(tmp_path):
    library = applied(tmp_path, "https://my.optscale.ai/llm_proxy/org/v1", key="sk-bf-0000000000000000000000")
    written = datetime(2026, 12, 4, 10, 0, 0)
    log = library.locations.log_file
    log.parent.mkdir(parents=True)
    log.write_text(
        "[2026-12-04 09:00:00.001] [info] [custom-3p] Gateway /v1/models returned 0 usable models\n"
        "[2026-12-04 10:05:00.123] [info] [main] window ready\n"
        "[2026-12-04 10:05:01.456] [info] [custom-3p] Loaded 2 models from inferenceModels "
        "(key sk-bf-secret-value-0000009999)\n")
    row = {r.id: r for r in static_checks(library, running=[], entry_written=written)}["desktop.log"]
    assert row.status is CheckStatus.PASS and "Loaded 2 models" in row.message
    assert "sk-bf-secret-value-0000009999" not in row.message and "sk-bf-…9999" in row.message
    with log.open("a") as fh:
        fh.write("[2026-12-04 10:06:00.000] [error] [custom-3p] Gateway /v1/models returned 0 usable models\n")
    row = {r.id: r for r in static_checks(library, running=[], entry_written=written)}["desktop.log"]
    assert row.status is CheckStatus.FAIL and row.cause is Cause.DESKTOP_LOG_ERROR and "0 usable" in row.message
    later = {r.id: r for r in static_checks(library, running=[], entry_written=written + timedelta(hours=1))}
    assert later["desktop.log"].status is CheckStatus.SKIP and "restart" in later["desktop.log"].message


def test_log_lines_without_stamps_count_when_the_log_changed_after_the_write(tmp_path):
    log = tmp_path / "main.log"
    log.write_text("[custom-3p] loaded 3 models\n")
    stamp = datetime(2026, 1, 1).timestamp()
    os.utime(log, (stamp, stamp))
    assert read_desktop_log(log, since=datetime(2025, 12, 31)).lines == ("[custom-3p] loaded 3 models",)
    assert read_desktop_log(log, since=datetime(2026, 1, 2)).lines == ()
    assert not read_desktop_log(tmp_path / "missing.log").exists


# --- Desktop's own model discovery and auth scheme -----------------------------------------------------------


def hand_written_entry(tmp_path: Path, url: str, key: str = DEMO_KEY, *, scheme: str = "x-api-key",
                       models: list[str] | None = None):
    """Desktop's own fixture (an entry without inferenceModels, auth scheme x-api-key) pointed at `url`."""
    loc = desktop_locations(platform="linux", home=tmp_path, env={}, root=tmp_path / "root")
    shutil.copytree(FIXTURES / "desktop-app", loc.folder)
    entry = loc.entry("3f9c2a1e-5b7d-4c1a-9e2f-8d6b4a0c1e77")
    data = json.loads(entry.read_text())
    data.update(inferenceGatewayBaseUrl=url, inferenceGatewayApiKey=key, inferenceGatewayAuthScheme=scheme)
    if models is not None:
        data["inferenceModels"] = models
    entry.write_text(json.dumps(data))
    return load_library(loc)


def test_discovery_makes_desktops_request_with_its_auth_scheme_and_counts_usable_models(tmp_path, gateway):
    library = hand_written_entry(tmp_path, gateway.anthropic_url)
    target = desktop_target(library)
    assert needs_discovery(library) and target.auth_scheme == "x-api-key"
    gateway.clear_requests()
    listing = asyncio.run(discover_models(target))
    [request] = gateway.requests  # one request, Desktop's: no /v1/models first
    assert (request.method, request.path) == ("GET", urlsplit(gateway.anthropic_url).path + "/v1/models")
    assert request.headers.get("x-api-key") == DEMO_KEY and "authorization" not in request.headers
    row = discovery_result(listing)
    usable = [m for m in listing.ids if "claude" in m]
    assert row.status is CheckStatus.PASS and f"returned {len(usable)} usable models (of {len(listing.ids)})" in row.message
    found = rows(library, discovery=listing)
    assert found["desktop.models"].status is CheckStatus.PASS and "usable" in found["desktop.models"].message


def test_discovery_that_finds_no_claude_model_is_the_0_usable_finding(tmp_path):
    with DemoGateway(models=["openai/gpt-5", "ollama/qwen3:32b"]) as gw:
        library = hand_written_entry(tmp_path, gw.anthropic_url)
        listing = asyncio.run(discover_models(desktop_target(library)))
    row = rows(library, discovery=listing)["desktop.models"]
    assert row.status is CheckStatus.FAIL and row.cause is Cause.DESKTOP_MODEL_REJECTED
    assert "returned 0 usable models (of 2)" in row.message


def test_discovery_with_a_wrong_key_fails_with_the_gateways_cause(tmp_path, gateway):
    library = hand_written_entry(tmp_path, gateway.anthropic_url, key="sk-bf-not-a-real-key-0000000000")
    row = discovery_result(asyncio.run(discover_models(desktop_target(library))))
    assert row.status is CheckStatus.FAIL and row.cause is Cause.AUTH_INVALID_KEY


def test_discovery_keeps_ids_marked_with_an_anthropic_family_tier():
    ok = ProbeResult("models", True, 200, None, "", {}, ProbeTimings(None, None, 1.0, None, None))
    listing = Catalog((ModelInfo("team-large", family_tier="opus"), ModelInfo("openai/gpt-5")), "u", ok)
    row = discovery_result(listing)
    assert row.status is CheckStatus.PASS and "1 usable model (of 2): team-large" in row.message
    assert discovery_result(None).status is CheckStatus.WARN  # nothing could be sent: untested, not passed


def test_listed_models_with_discovery_enabled_get_a_discovery_row_beside_the_names(tmp_path):
    library = hand_written_entry(tmp_path, "https://my.optscale.ai/llm_proxy/org/anthropic",
                                 models=["anthropic/claude-sonnet-4-6"])
    assert needs_discovery(library)  # modelDiscoveryEnabled is set in Desktop's fixture
    found = rows(library)
    assert found["desktop.models"].status is CheckStatus.PASS and "desktop.discovery" in found


def test_an_x_api_key_entry_is_probed_with_x_api_key_and_a_bearer_one_with_authorization(tmp_path, gateway):
    options = VerifyOptions(beta_probe=False, count_tokens=False, tool_probe=False)
    for scheme, header, absent in (("x-api-key", "x-api-key", "authorization"),
                                   ("bearer", "authorization", "x-api-key")):
        library = hand_written_entry(tmp_path / scheme, gateway.anthropic_url, scheme=scheme,
                                     models=["anthropic/claude-sonnet-4-6"])
        gateway.clear_requests()
        done = asyncio.run(verify(desktop_target(library), options))
        assert done.ok, [(r.id, r.message) for r in done.results]
        keyed = [r for r in gateway.requests if r.method != "HEAD"]  # the reachability preflight sends no key
        assert keyed and all(absent not in r.headers for r in keyed)
        assert all(r.headers[header] == (DEMO_KEY if scheme == "x-api-key" else f"Bearer {DEMO_KEY}") for r in keyed)
