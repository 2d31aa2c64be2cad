"""Splitting the command a person types for a new sprite."""

from __future__ import annotations

import pytest

from wreckit_tui.command_line import MAX_COMMAND_CHARS, command_problem, split_command


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("", None),
        ("   ", None),
        ("claude", ["claude"]),
        ("claude -p 'fix the bug'", ["claude", "-p", "fix the bug"]),
        ('codex "a \\"b\\""  --yes', ["codex", 'a "b"', "--yes"]),
        ("echo $HOME; rm -rf /", ["echo", "$HOME;", "rm", "-rf", "/"]),
    ],
)
def test_a_command_is_split_like_a_shell_line_and_never_expanded(text, argv):
    assert command_problem(text) is None
    assert split_command(text) == argv


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("claude 'open", "no closing quotation"),
        ("claude \\", "no escaped character"),
        ("a\0b", "NUL"),
        ("x" * (MAX_COMMAND_CHARS + 1), f"at most {MAX_COMMAND_CHARS}"),
        ('"" -x', "program name is empty"),
    ],
)
def test_a_line_that_is_no_command_says_why(text, words):
    problem = command_problem(text)
    assert problem is not None and words in problem
    with pytest.raises(ValueError, match=words):
        split_command(text)
