"""The leak scanner (tests/leak_scanner.py) fails a test for each way a key can get out, and passes masked output.

Each case runs a small test file in an inner pytest (pytester) with the scanner loaded, and reads its verdict.
The inner runs use --tb=no so the keys they print stay inside them.
"""

from __future__ import annotations

import textwrap

import pytest

from tests import leak_scanner

pytest_plugins = ["pytester"]

# Built, not written out, so this file itself is no example of a leak; 30 characters like the demo's keys.
KEY = "sk-" + "bf-" + "scanner-proof-0123456789"

# A headless Textual app (run_test) that shows `shown`: its screen is no captured output, the scanner reads it.
TUI_APP = """import asyncio
from textual.app import App
from textual.widgets import Static


class Shows(App):
    def compose(self):
        yield Static(f"API key: {shown}")


async def drive():
    async with Shows().run_test() as pilot:
        await pilot.pause()


asyncio.run(drive())"""

CASES = {
    "stdout": "print('your key is', KEY)",
    "stderr": "print('key:', KEY, file=sys.stderr)",
    "subprocess_stdout": "subprocess.run([sys.executable, '-c', f'print({KEY!r})'], capture_output=True, text=True)",
    "subprocess_stderr": "subprocess.run([sys.executable, '-c', f'import sys; sys.stderr.write({KEY!r})'], "
                         "capture_output=True)",
    "report_file": "(tmp_path / 'reports').mkdir(); (tmp_path / 'reports' / 'verify.md').write_text(f'key {KEY}')",
    "text_file": "(tmp_path / 'out.txt').write_text(KEY)",
    "json_report_quoting_it": "(tmp_path / 'models.json').write_text(json.dumps({'reply': f'your key is {KEY}'}))",
    "log_record": "logging.getLogger('optscale_tui.core.gateway').warning('sent %s', KEY)",
    "read_by_capsys": "print(KEY); assert KEY in capsys.readouterr().out",
    "key_of_another_shape_from_settings":
        "(tmp_path / 'settings.json').write_text(json.dumps({'env': {'ANTHROPIC_AUTH_TOKEN': 'gw-0123456789abcdef'}}));"
        " print('token gw-0123456789abcdef')",
    "app_config_file": "(tmp_path / 'config.toml').write_text(f'[profiles.p]\\nkey = \\x22{KEY}\\x22\\n')",
    "keys_file_inside_longer_text": "(tmp_path / 'keys.toml').write_text(f'# old key was {KEY}\\n')",
    "in_teardown": "request.addfinalizer(lambda: print(KEY))",
    "tui_screen": "shown = KEY\n" + TUI_APP,
}


CLEAN = {
    "masked_only": "print('API key: sk-bf-…6789 (masked)'); print('sk-bf-…', 'sk-…')",
    "settings_file_and_backup": "\n".join([
        "(tmp_path / 'settings.json').write_text(json.dumps({'env': {'ANTHROPIC_AUTH_TOKEN': KEY}}))",
        "(tmp_path / 'optscale-tui-backups').mkdir()",
        "(tmp_path / 'optscale-tui-backups' / 'settings.json.original').write_text(f'{{\"k\": \"{KEY}\"}}')",
        "(tmp_path / 'broken.json').write_text('{\"env\": {\"ANTHROPIC_AUTH_TOKEN\": \"' + KEY)",
        "(tmp_path / 'managed-settings.json').write_text(json.dumps({'env': {'H': f'X-Api-Key: {KEY}'}}))",
        "(tmp_path / '.claude.json').write_text(json.dumps({'primaryApiKey': KEY}))",
        "(tmp_path / 'keys.toml').write_text(f'[keys]\\nstaging = \\x22{KEY}\\x22\\n')",
        "(tmp_path / 'get-key.sh').write_text(f'#!/bin/sh\\necho {KEY}\\n')",
    ]),
    "short_words_that_start_like_a_key": "print('sk-bf-abc sk-ant- risk-free task-force-1234567890')",
    "tui_screen_masked": "shown = 'sk-bf-…6789'\n" + TUI_APP,
}


def inner_reports(pytester: pytest.Pytester, body: str) -> list[pytest.TestReport]:
    header = f"import json, logging, subprocess, sys\nKEY = {KEY!r}\n\n\ndef test_it(tmp_path, capsys, request):\n"
    pytester.makepyfile(test_inner=header + textwrap.indent(body, "    ") + "\n")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    recorder = pytester.inline_run("--tb=no", "-q", "-p", "tests.leak_scanner", "-p", "no:cacheprovider",
                                  "-p", "no:textual-snapshot")  # its session state is global: one run at a time
    return recorder.getreports("pytest_runtest_logreport")


@pytest.mark.parametrize("case", list(CASES))
def test_a_key_in_clear_fails_the_test(pytester: pytest.Pytester, case: str) -> None:
    reports = inner_reports(pytester, CASES[case])
    failed = [r for r in reports if r.failed]
    assert len(failed) == 1, [(r.when, r.outcome) for r in reports]
    message = failed[0].longreprtext
    assert message.startswith("leak scanner: an API key in clear"), message
    assert "…6789" in message or "…cdef" in message  # names what it found, masked
    assert KEY not in message and "0123456789abcdef" not in message  # and does not leak it itself


@pytest.mark.parametrize("case", list(CLEAN))
def test_masked_output_and_settings_files_pass(pytester: pytest.Pytester, case: str) -> None:
    reports = inner_reports(pytester, CLEAN[case])
    assert [r.outcome for r in reports] == ["passed"] * 3, [r.longreprtext for r in reports if r.failed]


def test_a_test_that_already_failed_keeps_its_failure_and_gets_the_finding_added(pytester: pytest.Pytester) -> None:
    reports = inner_reports(pytester, "print(KEY); assert False, 'its own failure'")
    (call,) = [r for r in reports if r.when == "call"]
    assert call.failed and "its own failure" in call.longreprtext
    assert any(title == "leak scanner" for title, _ in call.sections)


def test_an_allowed_test_passes_only_on_its_channel(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leak_scanner, "ALLOWED",
                        (leak_scanner.Allowed("test_inner.py::test_it", "stdout", "prints its own key"),))
    assert [r.outcome for r in inner_reports(pytester, "print(KEY)")] == ["passed"] * 3
    assert any(r.failed for r in inner_reports(pytester, "print(KEY, file=sys.stderr)"))


def test_a_pty_read_is_scanned() -> None:
    """The pty tap sees what the app drew (PtyTerminal reads are not pytest's capture)."""
    import sys

    from optscale_tui.testing.pty_terminal import PtyTerminal

    record = leak_scanner.TestRecord(phase="call")
    outer, leak_scanner._current = leak_scanner._current, record
    try:
        with PtyTerminal([sys.executable, "-c", f"print({KEY[:3]!r} + {KEY[3:]!r})"], cols=80, rows=5) as term:
            term.wait_for("scanner-proof", timeout=20)
    finally:
        leak_scanner._current = outer
    assert any(leak_scanner.scan(channel, text, ()) for _, channel, text in record.seen)


@pytest.mark.parametrize("path", leak_scanner.artifacts(), ids=lambda p: str(p.relative_to(leak_scanner.REPO)))
def test_no_key_in_committed_snapshots_and_screenshots(path) -> None:
    assert leak_scanner.scan_artifact(path) == []


def test_the_findings_show_no_key_nor_a_piece_of_one() -> None:
    """Keys close together: the context of one must not show the tail of the other (a cut token is dropped)."""
    other = "sk-" + "bf-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    findings = leak_scanner.scan("stdout", f"{other} {KEY} and {other}", ())
    described = "\n".join(f.describe() for f in findings)
    assert len(findings) == 3 and "aaaaa" not in described and "scanner-proof" not in described, described
