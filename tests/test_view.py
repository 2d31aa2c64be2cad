"""What the dashboard shows, as data: rows, their diff, history, the pending overlay, the filter.

Pure functions on immutable data, so these run in milliseconds without an app.
"""

from __future__ import annotations

import json

from wreckit_tui.capacity import Host
from wreckit_tui.models import Fleet, Sprite, parse_fleet
from wreckit_tui.operations import Operations
from wreckit_tui.view import (
    HISTORY_LENGTH,
    RowFilter,
    Snapshot,
    build_row,
    diff_rows,
    matches,
    record_history,
    view_of,
    warning_note,
    with_pending,
)

HOST = Host(2, 4096.0)


def fleet_of(*sprites: dict) -> Fleet:
    return parse_fleet(json.dumps(list(sprites)).encode())


def state_of(rows, name: str) -> str:
    row = next(row for row in rows if row.key == name)
    return row.cells[1].text


ALPHA = {"name": "alpha", "state": "running", "cpu_percent": 5, "memory_used": 64}
BRAVO = {"name": "bravo", "state": "running", "cpu_percent": 7}
CHARLIE = {"name": "charlie", "state": "stopped"}


def test_history_keeps_only_the_last_polls_of_each_sprite():
    history = {}
    for cpu in range(HISTORY_LENGTH + 5):
        history = record_history(history, fleet_of({"name": "alpha", "cpu_percent": cpu}))
    cpu, memory = history["alpha"]
    assert cpu == tuple(float(n) for n in range(5, HISTORY_LENGTH + 5))
    assert memory == ()


def test_history_forgets_a_sprite_that_left_and_skips_unknown_figures():
    history = record_history({}, fleet_of(ALPHA, BRAVO))
    history = record_history(history, fleet_of({"name": "alpha"}))  # figures unknown this time
    assert "bravo" not in history
    assert history["alpha"] == ((5.0,), (64.0,))


def test_a_sprite_that_did_not_change_keeps_its_row_object():
    first = view_of(fleet_of(ALPHA, BRAVO), HOST, 8)
    second = view_of(fleet_of(ALPHA, {**BRAVO, "cpu_percent": 90}), HOST, 8, first)
    assert second.rows[0] is first.rows[0]
    assert second.rows[1] is not first.rows[1]
    assert [cell.text for cell in second.rows[1].cells][:2] == ["bravo", "running"]


def test_the_diff_names_what_was_added_removed_and_changed():
    before = view_of(fleet_of(ALPHA, BRAVO), HOST, 8)
    after = view_of(fleet_of({**ALPHA, "cpu_percent": 50}, CHARLIE), HOST, 8, before)
    delta = diff_rows({row.key: row for row in before.rows}, after.rows)
    assert delta.removed == ("bravo",)
    assert [row.key for row in delta.added] == ["charlie"]
    assert [row.key for row in delta.changed] == ["alpha"]


def test_the_diff_of_equal_rows_built_twice_is_empty():
    rows = tuple(map(build_row, fleet_of(ALPHA, BRAVO).sprites))
    again = tuple(map(build_row, fleet_of(ALPHA, BRAVO).sprites))
    assert diff_rows({row.key: row for row in rows}, again) == ((), (), ())


def test_pending_operations_are_laid_over_the_listed_rows():
    view = view_of(fleet_of(ALPHA, BRAVO, CHARLIE), HOST, 8)
    operations = Operations()
    operations.kill(["bravo"])
    operations.start(Sprite(name="charlie", state="starting"))  # started again
    operations.start(Sprite(name="delta", state="starting", cpus=2))  # not listed yet
    rows = with_pending(view, operations.pending)
    assert [row.key for row in rows] == ["alpha", "bravo", "charlie", "delta"]
    assert [state_of(rows, name) for name in ("alpha", "bravo", "charlie", "delta")] == [
        "running",
        "stopping",
        "starting",
        "starting",
    ]
    assert rows[0] is view.rows[0]


def test_a_start_ends_with_the_first_poll_begun_after_it():
    operations = Operations()
    operations.start(Sprite(name="delta", state="starting"))
    operations.ended(["delta"], polls_started=4)
    operations.settle(4)  # began before the start ended: it may not list delta yet
    assert "delta" in operations.pending.starting
    operations.settle(5)
    assert not operations.pending


def test_a_failed_operation_shows_the_sprite_as_listed_again():
    view = view_of(fleet_of(ALPHA), HOST, 8)
    operations = Operations()
    operations.kill(["alpha"])
    operations.failed("alpha")
    assert with_pending(view, operations.pending) is view.rows


def test_starts_in_flight_count_against_the_quota_once():
    fleet = fleet_of(ALPHA, CHARLIE)
    operations = Operations()
    operations.start(Sprite(name="delta", state="starting"))
    operations.start(Sprite(name="alpha", state="starting"))  # already counted as running
    assert operations.in_use(fleet) == 2
    assert operations.taken(fleet) == {"alpha", "charlie", "delta"}


def test_the_snapshot_finds_a_sprite_listed_or_being_started():
    view = view_of(fleet_of(ALPHA), HOST, 8)
    operations = Operations()
    operations.start(Sprite(name="delta", state="starting"))
    snapshot = Snapshot.of(view, operations.pending)
    assert snapshot.sprite("alpha").state == "running"
    assert snapshot.sprite("delta").state == "starting"
    assert snapshot.sprite("nobody") is None
    assert snapshot.series("alpha") == ((5.0,), (64.0,))
    assert snapshot.series("delta") == ((), ())


def test_the_filter_is_a_case_insensitive_part_of_the_name():
    assert matches("Agent-Alpha", "alpha")
    assert matches("agent-alpha", "NT-A")
    assert not matches("agent-alpha", "bravo")


def test_new_warnings_are_noted_once_and_summarised():
    entries = [{"name": f"w{n}", "cpus": -1} for n in range(5000)]
    fleet = fleet_of(*entries)
    note = warning_note(Fleet(), fleet)
    assert note.startswith(f"wisp list: {fleet.warning_count:,} warnings")
    assert len(note.splitlines()) == 4  # the count, then the first three
    assert warning_note(fleet, fleet) is None


def test_the_filter_narrows_incrementally_and_agrees_with_matches():
    rows = tuple(build_row(sprite) for sprite in fleet_of(ALPHA, BRAVO, CHARLIE).sprites)
    row_filter = RowFilter()
    for query in ("", "A", "al", "alp", "a", "", "r", "ra", "rav", "ch", "x", "LIE"):
        shown = row_filter(rows, query)
        assert shown == tuple(row for row in rows if matches(row.key, query)), query
    assert row_filter(rows, "a") is rows  # every row matches: the very same rows
    other = rows[:2]  # new rows: the last query's result is not reused
    row_filter(rows, "ha")
    assert row_filter(other, "har") == ()
    assert [row.key for row in row_filter(rows, "har")] == ["charlie"]
