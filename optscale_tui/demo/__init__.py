"""The embedded demo gateway (OptScale AI / Bifrost layout on 127.0.0.1) used by `--demo`, the tests and benchmarks."""

from optscale_tui.demo import server as _server
from optscale_tui.demo.server import *  # noqa: F403  (the public names are server.__all__, listed once there)

__all__ = list(_server.__all__)
