"""Fixtures shared by the whole suite. Test data lives in tests/fixtures: a fresh clone needs nothing beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """`tests/fixtures`: the project's own test data (see each folder's README)."""
    return Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def settings_fixtures(fixtures_dir: Path) -> Path:
    """Realistic Claude Code settings.json files (see its README.md for what each must survive)."""
    return fixtures_dir / "claude-settings"


# The leak scanner (issue 9 §7): fails any test whose output, child processes, files or snapshots show a key in clear.
pytest_plugins = ["tests.leak_scanner"]
