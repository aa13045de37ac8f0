"""Shared test fixtures. The shared/ folder sits beside the repository (also in CI, where it is copied there)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """`<repo root>/../shared/fixtures`: fixture files shared by every engineer on the project."""
    path = REPO_ROOT / ".." / "shared" / "fixtures"
    assert path.is_dir(), f"shared fixtures not found at {path.resolve()} (shared/ must sit beside the repository)"
    return path


@pytest.fixture(scope="session")
def settings_fixtures(fixtures_dir: Path) -> Path:
    """Realistic Claude Code settings.json files (see its README.md for what each must survive)."""
    return fixtures_dir / "claude-settings"
