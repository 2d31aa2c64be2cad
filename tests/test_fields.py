"""The cells and detail lines of the v1.1 fields: an agent's command, exit status and title."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from wreckit_tui.fields import COLUMN_KEYS, COLUMNS, render_cell, sprite_fields, table_cells
from wreckit_tui.headless import fleet_table, table_lines
from wreckit_tui.models import Fleet, Sprite

COMMAND = COLUMNS[COLUMN_KEYS.index("command")]
STATE = COLUMNS[COLUMN_KEYS.index("state")]
AGENT = Sprite(
    name="agent",
    state="stopped",
    command="claude --dangerously-skip-permissions",
    exit_code=3,
    activity_at="2026-11-25T11:58:00Z",
    title="✳ done",
)


def cells(sprite: Sprite) -> dict[str, str]:
    return dict(zip(COLUMN_KEYS, table_cells(sprite), strict=True))


def test_a_long_command_ends_in_an_ellipsis_at_the_column_s_width():
    cell = render_cell(COMMAND, AGENT)
    assert cell.text == "claude --dangerously-sk…" and len(cell.text) == COMMAND.width
    assert cells(AGENT)["command"] == cell.text


def test_a_shell_has_no_command():
    assert render_cell(COMMAND, Sprite(name="a", state="running")).text == "—"
    assert render_cell(COMMAND, Sprite(name="a", command="")).text == "—"


def test_a_command_is_shown_literally_without_escape_sequences():
    sprite = Sprite(name="a", command="\x1b[2Jecho [bold]hi[/bold]\x07")
    assert render_cell(COMMAND, sprite).text == "echo [bold]hi[/bold]"


@pytest.mark.parametrize(
    ("exit_code", "text", "style"),
    [
        (3, "exit 3", "red"),
        (0, "exit 0", "dim"),
        (137, "exit 137", "red"),
        (None, "stopped", "dim"),
    ],
)
def test_a_stopped_sprite_whose_program_ended_shows_its_exit_status(exit_code, text, style):
    sprite = AGENT.model_copy(update={"exit_code": exit_code})
    assert tuple(render_cell(STATE, sprite)) == (text, style)
    assert cells(sprite)["state"] == text


def test_the_exit_status_shows_only_once_the_sprite_is_stopped():
    running = AGENT.model_copy(update={"state": "running"})
    assert tuple(render_cell(STATE, running)) == ("running", "green")


def test_the_state_still_sorts_as_stopped():
    assert STATE.sort_key(AGENT) == STATE.sort_key(Sprite(name="b", state="stopped"))


def test_the_detail_pane_lists_the_agent_fields_whole():
    fields = dict(sprite_fields(AGENT))
    assert fields["state"] == "stopped"
    assert fields["command"] == "claude --dangerously-skip-permissions"
    assert fields["exit code"] == "3"
    assert fields["title"] == "✳ done"
    assert fields["last output"] == "2026-11-25T11:58:00Z"


def test_the_detail_pane_of_a_v1_sprite_says_the_agent_fields_are_unknown():
    fields = dict(sprite_fields(Sprite(name="a")))
    assert [fields[key] for key in ("command", "exit code", "title", "last output")] == ["—"] * 4


def test_a_title_is_shown_without_control_characters():
    sprite = Sprite(name="a", title="\x1b]0;x\x07⠋ working\u200b")
    assert dict(sprite_fields(sprite))["title"] == "⠋ working\\u200b"


def test_the_headless_table_fits_80_columns_with_every_label_whole():
    working = AGENT.model_copy(update={"activity": "working", "activity_seconds": 725})
    long_one = AGENT.model_copy(
        update={"name": "n" + "a" * 60, "url": "https://" + "u" * 80, "activity": "exited"}
    )
    out = io.StringIO()
    Console(file=out, width=80).print(fleet_table(Fleet(sprites=(working, long_one))))
    lines = out.getvalue().splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    labels = [label.strip() for label in lines[0].split("┃")]
    assert labels == [column.label for column in COLUMNS]
    assert "exit 3" in lines[2] and "working 12m" in lines[2] and "claude" in lines[2]
    assert "exited 3" in lines[3]


def test_the_headless_table_written_line_by_line_is_rich_s_table_exactly():
    sprites = (
        AGENT,
        Sprite(name="n" + "a" * 100, state="running", url="https://" + "u" * 500, cpus=2),
        Sprite(name="zw\u200bp", state="o\u00adk"),
        Sprite(name="日本語の名前", state="stopped", exit_code=3, activity="exited"),
        Sprite(name="w", state="weird-state", activity="waiting", activity_seconds=5),
    )
    fleet = Fleet(sprites=sprites)
    for width in (1000, 200):
        out = io.StringIO()
        Console(file=out, width=width, highlight=False).print(fleet_table(fleet))
        assert "".join(line + "\n" for line in table_lines(fleet, width)) == out.getvalue()
    assert table_lines(fleet, 120) is None  # too narrow: rich's table shrinks the columns
