"""Parsing ``wisp list --json`` into the typed models, and validating requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wreckit_tui.contract import size_to_mib
from wreckit_tui.errors import InvalidRequest, WispBadOutput
from wreckit_tui.fleet_json import fleet_items
from wreckit_tui.models import (
    DEFAULT_MAX_SPRITES,
    MAX_WARNINGS,
    PUBLIC_KEYS,
    parse_fleet,
    validate_request,
)

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
AGENT = {
    "name": "agent",
    "state": "stopped",
    "command": "claude --resume",
    "exit_code": 3,
    "activity_at": "2026-11-25T11:58:00Z",
    "title": "✳ done",
}


def parse(document: object):
    return parse_fleet(json.dumps(document).encode(), now=NOW)


def test_array_and_wrapped_object_give_the_same_fleet():
    sprites = [{"name": "alpha", "state": "running"}, {"name": "bravo", "state": "stopped"}]
    assert parse(sprites) == parse({"sprites": sprites, "count": 2})
    assert [s.name for s in parse(sprites).sprites] == ["alpha", "bravo"]


def test_empty_array_is_an_empty_fleet_but_empty_output_is_bad():
    assert parse([]).sprites == ()
    with pytest.raises(WispBadOutput, match="empty output"):
        parse_fleet(b"  \n")


@pytest.mark.parametrize(
    ("status", "state"), [("running", "running"), ("warm", "running"), ("cold", "stopped")]
)
def test_sprites_style_status_maps_to_state(status, state):
    assert parse([{"name": "a", "status": status}]).sprites[0].state == state


def test_state_wins_over_status_and_unknown_states_are_kept():
    fleet = parse([{"name": "a", "state": "paused", "status": "cold"}])
    assert fleet.sprites[0].state == "paused"


def test_sizes_are_normalized_to_mib():
    fleet = parse(
        [
            {"name": "a", "memory": "2GiB", "memory_used": "512MiB"},
            {"name": "b", "memory": 768, "memory_used": 100.5},
        ]
    )
    assert [(s.memory_mib, s.memory_used_mib) for s in fleet.sprites] == [(2048, 512), (768, 100.5)]


def test_uptime_is_derived_from_created_at_for_running_sprites_only():
    fleet = parse(
        [
            {"name": "up", "state": "running", "created_at": "2026-11-25T11:00:00Z"},
            {"name": "down", "state": "stopped", "created_at": "2026-11-25T11:00:00Z"},
            {"name": "given", "state": "running", "uptime_seconds": 5, "created_at": "2020-01-01"},
        ]
    )
    assert [s.uptime_seconds for s in fleet.sprites] == [3600.0, None, 5]


def test_unknown_fields_are_ignored():
    fleet = parse([{"name": "a", "colour": "blue", "nested": {"x": [1, 2]}}])
    assert fleet.sprites[0].name == "a"
    assert fleet.warnings == ()


def test_a_wrong_typed_field_becomes_null_with_a_warning_and_keeps_the_list():
    fleet = parse(
        [
            {"name": "a", "cpus": "lots", "memory": "1GiB", "state": "running"},
            {"name": "b", "cpus": 2},
        ]
    )
    first, second = fleet.sprites
    assert first.cpus is None
    assert first.memory_mib == 1024
    assert first.state == "running"
    assert second.cpus == 2
    assert fleet.warnings == ("sprite 'a': field 'cpus' has an invalid value, shown as unknown",)


def test_rows_without_a_name_or_not_objects_are_skipped_with_warnings():
    fleet = parse([{"state": "running"}, "junk", {"name": 7}, {"name": "ok"}])
    assert [s.name for s in fleet.sprites] == ["ok"]
    assert len(fleet.warnings) == 3


def test_only_the_first_warnings_are_kept_and_the_rest_counted():
    fleet = parse([{"name": f"s{index}", "cpus": "lots"} for index in range(MAX_WARNINGS + 250)])
    assert len(fleet.sprites) == MAX_WARNINGS + 250
    assert len(fleet.warnings) == MAX_WARNINGS
    assert fleet.warnings[-1].startswith(f"sprite 's{MAX_WARNINGS - 1}': field 'cpus'")
    assert (fleet.more_warnings, fleet.warning_count) == (250, MAX_WARNINGS + 250)


def test_a_list_longer_than_max_sprites_is_refused_before_any_model_is_built():
    sprites = [{"name": f"s{index}"} for index in range(4)]
    assert len(parse_fleet(json.dumps(sprites).encode(), max_sprites=4).sprites) == 4
    with pytest.raises(WispBadOutput) as caught:
        parse_fleet(json.dumps({"sprites": sprites}).encode(), max_sprites=3)
    assert caught.value.message == (
        "wisp gave bad output: too many sprites (4 > max_sprites 3). "
        "Raise max_sprites if the fleet is really that large."
    )
    entries = b"[" + b",".join([b'"not even an object"'] * (DEFAULT_MAX_SPRITES + 1)) + b"]"
    with pytest.raises(WispBadOutput, match=f"too many sprites \\({DEFAULT_MAX_SPRITES + 1} >"):
        parse_fleet(entries)


def test_duplicate_names_are_a_protocol_error():
    with pytest.raises(WispBadOutput, match="two sprites are named 'a'"):
        parse([{"name": "a"}, {"name": "a"}])


@pytest.mark.parametrize(
    "stdout",
    [b"not json", b'[{"name": "a"', b'{"name": "a"}', b"42", b"[NaN]", b"[" * 100_000],
)
def test_malformed_output_is_bad_output(stdout):
    with pytest.raises(WispBadOutput):
        parse_fleet(stdout)


def test_undecodable_bytes_are_replaced_not_fatal():
    fleet = parse_fleet(b'[{"name": "bad-\xff-bytes"}]')
    assert fleet.sprites[0].name == "bad-\ufffd-bytes"


def test_public_dict_has_exactly_the_documented_keys_and_wisp_data():
    sprite = parse([{"name": "evil[/b]-[red]x", "cpus": 2, "pid": 12, "extra": 1}]).sprites[0]
    public = sprite.public_dict()
    assert tuple(public) == PUBLIC_KEYS
    assert public["name"] == "evil[/b]-[red]x"
    assert public["cpus"] == 2 and isinstance(public["cpus"], int)


def test_the_v1_1_fields_are_read_and_public():
    sprite = parse([AGENT]).sprites[0]
    assert (sprite.command, sprite.exit_code) == ("claude --resume", 3)
    assert (sprite.activity_at, sprite.title) == ("2026-11-25T11:58:00Z", "✳ done")
    assert PUBLIC_KEYS[-7:-3] == ("command", "exit_code", "activity_at", "title")
    assert {key: sprite.public_dict()[key] for key in PUBLIC_KEYS[-7:-3]} == {
        key: AGENT[key] for key in PUBLIC_KEYS[-7:-3]
    }


def test_activity_is_told_by_the_dashboard_never_by_wisp():
    assert PUBLIC_KEYS[-3:] == ("activity", "activity_since", "attention")
    told = {"activity": "waiting", "activity_since": "2026-01-01T00:00:00Z", "attention": "x"}
    sprite = parse([{**AGENT, **told}]).sprites[0]
    assert [sprite.public_dict()[key] for key in PUBLIC_KEYS[-3:]] == [None] * 3


def test_a_v1_sprite_has_no_v1_1_fields():
    sprite = parse([{"name": "a", "state": "running"}]).sprites[0]
    assert (sprite.command, sprite.exit_code, sprite.activity_at, sprite.title) == (None,) * 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("command", ["claude"]),
        ("exit_code", "3"),
        ("exit_code", 1.5),
        ("exit_code", True),
        ("exit_code", 10**30),
        ("activity_at", 1764000000),
        ("activity_at", "yesterday"),
        ("title", {"text": "x"}),
    ],
)
def test_a_v1_1_field_of_the_wrong_type_is_unknown_with_a_warning(field, value):
    fleet = parse([{**AGENT, field: value}])
    sprite = fleet.sprites[0]
    assert getattr(sprite, field) is None
    assert sprite.command is not None or field == "command"
    assert len(fleet.warnings) == 1 and field in fleet.warnings[0]


@pytest.mark.parametrize(
    ("name", "memory", "cpus"),
    [
        ("Bad", "512MiB", 1),
        ("-rm", "512MiB", 1),
        ("a" * 64, "512MiB", 1),
        ("ok", "512MB", 1),
        ("ok", "0MiB", 1),
        ("ok", "1.5GiB", 1),
        ("ok", "512MiB", 0),
        ("ok", "512MiB", 65),
        ("ok", "512MiB", "two"),
        ("ok", "512MiB", "¹"),
        ("ok", "５１２MiB", 1),
    ],
)
def test_invalid_requests_are_refused(name, memory, cpus):
    with pytest.raises(InvalidRequest):
        validate_request(name, memory, cpus)


def test_valid_request_and_sizes():
    assert validate_request("a" + "-b" * 31, "2GiB", "64") == 64
    assert size_to_mib("2GiB") == 2048
    assert size_to_mib("512MiB") == 512


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
sprite_like = st.fixed_dictionaries(
    {"name": st.one_of(st.text(), st.integers(), st.none())},
    optional=dict.fromkeys(
        [
            *("state", "status", "cpus", "memory", "memory_used", "created_at", "pid"),
            *PUBLIC_KEYS[-7:],
        ],
        json_values,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.lists(sprite_like, max_size=6), st.binary(max_size=200)))
def test_no_input_makes_the_parser_raise_anything_but_bad_output(value):
    stdout = value if isinstance(value, bytes) else json.dumps(value).encode()
    try:
        fleet = parse_fleet(stdout, now=NOW)
    except WispBadOutput:
        return
    for sprite in fleet.sprites:
        json.dumps(sprite.public_dict(), allow_nan=False)


def _expected_items(document: object) -> list | None:
    """What ``json.loads`` makes of a fleet document: its list of entries, or None (refused)."""
    if isinstance(document, dict) and "sprites" in document:
        document = document["sprites"]
    return document if isinstance(document, list) else None


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(json_values, st.lists(json_values), st.dictionaries(st.text(), json_values)),
    st.sampled_from([None, 0, 2]),
    st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")]),
    st.integers(min_value=0, max_value=400),
)
def test_entry_by_entry_decoding_agrees_with_json_loads(document, indent, separators, cut):
    """Any JSON, however spaced, and any prefix of it: the same entries as ``json.loads``,
    or bad output exactly where ``json.loads`` (or the fleet's shape) refuses it."""
    text = json.dumps(document, indent=indent, separators=separators)
    for candidate in (text, text[:cut]):
        try:
            expected = _expected_items(json.loads(candidate))
        except ValueError:
            expected = None
        if expected is None:
            with pytest.raises(WispBadOutput):
                fleet_items(candidate.encode(), 10**6)
        else:
            assert fleet_items(candidate.encode(), 10**6) == (expected, len(expected))


def test_entries_past_the_limit_are_counted_not_kept():
    text = json.dumps({"count": 5, "sprites": [{"name": f"s{i}"} for i in range(5)], "x": []})
    assert fleet_items(text.encode(), 2) == ([{"name": "s0"}, {"name": "s1"}], 5)
