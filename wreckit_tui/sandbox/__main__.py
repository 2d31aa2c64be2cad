"""``python -m wreckit_tui.sandbox``: the same entry point as the ``wreckit-sandbox`` script."""

from wreckit_tui.sandbox.cli import main

raise SystemExit(main())
