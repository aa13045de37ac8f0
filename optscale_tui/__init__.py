"""optscale-tui: connect Claude Code and Claude Desktop to an OptScale AI gateway."""

# Kept literal (not importlib.metadata) so `optscale-tui --version` stays a ~20 ms start.
__version__ = "0.1.0"
