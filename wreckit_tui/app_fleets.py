"""The app's side of several backends (``[[backends]]``): columns, live polling, staleness.

:class:`FleetsApp` is the part of the app that knows a :class:`~wreckit_tui.fleets.Fleets` may
stand behind ``wisp``: the table then has a BACKEND column (from two backends), each backend is
listed on its own (one that answers late wakes the poller), a failed backend's rows stay,
dimmed, while the header names it, the VMs gauge counts against the sum of the backends'
``max_vms``, and the gauges can show each backend's own.
"""

from __future__ import annotations

from typing import Any

from wreckit_tui.app_agents import AgentsApp
from wreckit_tui.capacity import Host
from wreckit_tui.config import Config
from wreckit_tui.fields import columns_for
from wreckit_tui.fleets import Fleets
from wreckit_tui.poller import Poller
from wreckit_tui.screens.dashboard import DashboardScreen
from wreckit_tui.view import FleetView, Snapshot

CARRIED = ("error", "last_ok", "poll", "stale")
"""What a new snapshot keeps of the last one unless told otherwise."""


class FleetsApp(AgentsApp):
    """Several backends, for an app that has a ``wisp``, a ``poller`` and a ``config``."""

    config: Config
    poller: Poller
    host: Host
    snapshot: Snapshot

    @property
    def fleets(self) -> Fleets | None:
        """The backends, when there are several (``[[backends]]``)."""
        return self.wisp if isinstance(self.wisp, Fleets) else None

    def first_view(self) -> FleetView:
        """The view before any poll: no rows, and the columns they will have."""
        fleets = self.fleets
        if fleets is None:
            return FleetView()
        quotas = tuple((m.name, m.max_vms) for m in fleets.members)
        return FleetView(columns=columns_for(len(quotas)), quotas=quotas if len(quotas) > 1 else ())

    @property
    def max_vms(self) -> int:
        """The quota the VMs gauge shows: the sum of each backend's ``max_vms``."""
        fleets = self.fleets
        return sum(m.max_vms for m in fleets.members) if fleets else self.config.max_vms

    def backend_names(self) -> tuple[str, ...]:
        """The backends the launch form offers (none with a lone backend)."""
        fleets = self.fleets
        return tuple(m.name for m in fleets.members) if fleets else ()

    def go_live(self) -> None:
        """List each backend on its own; one that answers late polls at once."""
        if self.fleets is not None:
            self.fleets.go_live(self.poller.now)

    def poll_outcome(self) -> dict[str, Any]:
        """A good poll's ``error`` and ``stale``: the backends that failed, and why."""
        fleets = self.fleets
        failures = fleets.failures if fleets else {}
        if not failures:
            return {"error": None, "stale": ()}
        self.last_error = next(iter(failures.values()))  # e shows it whole
        error = "; ".join(error.message for error in failures.values())
        return {"error": error, "stale": tuple(failures)}

    def with_columns(self, screen: DashboardScreen) -> DashboardScreen:
        """``screen`` with the table's columns, and each backend's quota for its gauges."""
        screen.columns = self.first_view().columns
        return screen
