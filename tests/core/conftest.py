"""Fixtures for the service-layer tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def gateway() -> Iterator[Any]:
    """A demo gateway on a free port."""
    # Imported here, not at the top: test_gateway.py must still collect (and skip its demo tests) without the demo.
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as gw:
        yield gw
