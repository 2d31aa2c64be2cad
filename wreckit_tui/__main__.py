"""``python -m wreckit_tui``: the same entry point as the ``wreckit-tui`` script."""

from wreckit_tui.cli import main

raise SystemExit(main())
