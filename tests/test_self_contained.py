"""A fresh clone is all a person has: nothing in the project may read files from beside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A sibling `shared` folder by a relative path (either separator), by name, or `REPO / ".."`: the ways code
# reaches out of the clone.
REACHING_OUT = re.compile(r"""\.\.[/\\]shared|["']shared["']|REPO(?:_ROOT)?\s*/\s*["']\.\.["']""")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / name for name in listed.splitlines() if name.endswith((".py", ".toml", ".cfg", ".sh", ".tcss"))
            or name in ("Makefile", ".ci/run")]


def test_no_project_file_reaches_outside_the_clone() -> None:
    files = tracked_files()
    assert len(files) > 50  # the listing worked: the package, its tests and the build files
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in files if path.exists() and path != Path(__file__)
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if REACHING_OUT.search(line)
    ]
    assert offenders == []


def test_the_settings_fixtures_are_part_of_the_clone(settings_fixtures: Path) -> None:
    assert settings_fixtures.resolve().is_relative_to(REPO)
    names = {p.name for p in settings_fixtures.glob("*.json")}
    assert {"rich-user-settings.json", "minimal.json", "bom-utf8.json"} <= names
    assert len(list((settings_fixtures / "invalid").glob("*.json"))) >= 5


def test_the_license_is_declared_in_the_spdx_form() -> None:
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    # The table form ({text = …}) makes every `pip install` print a deprecation warning, twice.
    assert meta["project"]["license"] == "Apache-2.0"
    assert any(req.replace(" ", "") == "setuptools>=77" for req in meta["build-system"]["requires"])
