"""wreckit-tui: a terminal dashboard for fleets of sandboxed sprites managed by ``wisp``."""

__version__ = "0.1.0"
