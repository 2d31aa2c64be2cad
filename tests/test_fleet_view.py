"""What the dashboard shows, built off the UI thread: the history of each sprite."""

from __future__ import annotations

import json

from wreckit_tui.fleet_view import History
from wreckit_tui.models import parse_fleet


def fleet_of(*sprites: dict):
    return parse_fleet(json.dumps(list(sprites)).encode())


def test_history_keeps_only_the_last_polls_of_each_sprite():
    history = History(length=3)
    for cpu in (10, 20, 30, 40, 50):
        history.record(fleet_of({"name": "alpha", "cpu_percent": cpu, "memory_used": cpu * 2}))
    assert history.series("alpha") == ([30.0, 40.0, 50.0], [60.0, 80.0, 100.0])


def test_history_forgets_a_sprite_that_left_and_skips_unknown_figures():
    history = History(length=3)
    history.record(
        fleet_of({"name": "alpha", "cpu_percent": 5}, {"name": "bravo", "cpu_percent": 7})
    )
    history.record(fleet_of({"name": "alpha"}))  # bravo gone; alpha's figures unknown this time
    assert history.series("bravo") == ([], [])
    assert history.series("alpha") == ([5.0], [])
