"""`python -m optscale_tui.cli`, as `python -m optscale_tui` (it ran before cli.py became a package)."""

from optscale_tui.cli import main

raise SystemExit(main())
