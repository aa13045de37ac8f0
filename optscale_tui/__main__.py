from optscale_tui.cli import main

raise SystemExit(main())
