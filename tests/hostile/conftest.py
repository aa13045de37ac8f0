"""The hostile-gateway corpus runs the real CLI in the same sandbox as the CLI tests."""

from tests.cli.conftest import sandbox  # noqa: F401  (a fixture, used by name)
