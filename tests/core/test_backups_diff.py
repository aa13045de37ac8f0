"""BackupStore.diff: what restoring a backup would change, as a unified diff with every secret masked."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from optscale_tui.core.clients.claude_code.schema import plan_apply
from optscale_tui.core.config.plan import load_settings
from optscale_tui.core.config.store import BackupStore, save_plan
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, mask_secret, parse_base_url

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")

URL = parse_base_url("https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1")
KEY_1 = "sk-bf-FIRST-SECRET-0123456789"
KEY_2 = "sk-bf-SECOND-SECRET-9876543210"
T0 = datetime(2026, 11, 25, 20, 49, 15, 123456, tzinfo=UTC)


def save(path: Path, key: str, model: str, now: datetime):
    plan = plan_apply(load_settings(path), ConnectionValues(URL, ApiKey(key), TierMapping(opus=model)))
    return save_plan(plan, now=now)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "settings.json"
    p.write_text('{\n  "theme": "dark"\n}\n')
    p.chmod(0o600)
    return p


def test_diff_shows_current_as_minus_and_backup_as_plus(path: Path) -> None:
    save(path, KEY_1, "a/one", T0)
    first = save(path, KEY_1, "a/two", T0 + timedelta(seconds=1))
    store = BackupStore(path)
    backup_id = first.backup.name.split(".")[2]
    diff = store.diff(backup_id)
    assert diff.startswith("--- a/settings.json (now)\n+++ b/settings.json (backup ")
    assert '-    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/two"' in diff
    assert '+    "ANTHROPIC_DEFAULT_OPUS_MODEL": "a/one"' in diff
    assert KEY_1 not in diff


def test_diff_against_the_original_masks_the_new_key_and_keeps_other_lines_as_context(path: Path) -> None:
    save(path, KEY_1, "a/one", T0)
    diff = BackupStore(path).diff("original")
    assert KEY_1 not in diff
    assert mask_secret(KEY_1) in diff
    assert any(line.startswith("-") and "ANTHROPIC_AUTH_TOKEN" in line for line in diff.splitlines())
    assert ' "theme": "dark"' in diff  # unchanged lines are context, not changes


def test_diff_marks_a_changed_key_whose_masked_form_is_the_same(path: Path) -> None:
    same_ends = "sk-bf-OTHER-SECRET-xxxxx6789"
    assert mask_secret(same_ends) == mask_secret(KEY_1)
    save(path, KEY_1, "a/one", T0)
    second = save(path, same_ends, "a/one", T0 + timedelta(seconds=1))
    diff = BackupStore(path).diff(second.backup.name.split(".")[2])
    assert "(changed)" in diff
    assert KEY_1 not in diff and same_ends not in diff


def test_no_difference_is_an_empty_string(path: Path) -> None:
    result = save(path, KEY_1, "a/one", T0)
    store = BackupStore(path)
    path.write_bytes(result.backup.read_bytes())
    assert store.diff(result.backup.name.split(".")[2]) == ""


def test_diff_masks_secrets_in_text_that_does_not_parse(path: Path) -> None:
    save(path, KEY_1, "a/one", T0)
    broken = path.read_text().replace('"theme": "dark"', '"theme": "dark",')  # trailing comma
    path.write_text(broken)
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken)
    diff = BackupStore(path).diff("original")
    assert KEY_1 not in diff
    assert mask_secret(KEY_1) in diff


def test_diff_when_the_settings_file_is_missing(path: Path) -> None:
    save(path, KEY_2, "a/one", T0)
    path.unlink()
    diff = BackupStore(path).diff("original")
    assert '+  "theme": "dark"' in diff
    assert not any(line.startswith("-") and not line.startswith("---") for line in diff.splitlines())


def test_unknown_backup_id_raises_file_not_found(path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BackupStore(path).diff("../../etc/passwd")
