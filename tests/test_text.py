"""Text from wisp on a terminal: control characters removed, invisible ones shown as escapes."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from wreckit_tui.text import quoted, sanitize, sanitize_lines

INVISIBLE = {
    "zero-width space": ("zw\u200bp", "zw\\u200bp"),
    "zero-width non-joiner": ("a\u200cb", "a\\u200cb"),
    "zero-width joiner": ("a\u200db", "a\\u200db"),
    "word joiner": ("a\u2060b", "a\\u2060b"),
    "byte order mark": ("\ufeffalpha", "\\ufeffalpha"),
    "arabic letter mark": ("a\u061cb", "a\\u061cb"),
    "line separator": ("a\u2028b", "a\\u2028b"),
    "paragraph separator": ("a\u2029b", "a\\u2029b"),
    "soft hyphen": ("al\u00adpha", "al\\u00adpha"),
    "tag characters": ("a\U000e0041\U000e007fb", "a\\U000e0041\\U000e007fb"),
    "right-to-left override": ("a\u202eb", "a\\u202eb"),
    "hangul filler": ("a\u3164b", "a\\u3164b"),
}


@pytest.mark.parametrize(("text", "shown"), INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_shown_as_escapes(text, shown):
    assert sanitize(text) == shown
    assert sanitize(shown) == shown  # sanitizing twice changes nothing


def test_every_format_character_and_separator_of_unicode_is_shown():
    hidden = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in {"Cf", "Zl", "Zp"}
        and not sanitize(chr(code)).startswith(("\\u", "\\U"))
    ]
    assert [f"U+{ord(char):04X}" for char in hidden] == []


def test_look_alike_names_look_different():
    assert sanitize("zw\u200bp") != sanitize("zwp")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x07b\x00c\x7fd\x9be", "abcde"),
        ("\x1b]0;title\x07x", "x"),
        ("a\x1bPq#0;2;0;0;0\x1b\\b\x1b_apc\x1b\\c\x1b^pm\x07d", "abcd"),  # DCS, APC, PM
        ("s\ud800x", "sx"),
        ("évé ✓ 日本 🚀\ufe0f", "évé ✓ 日本 🚀\ufe0f"),  # visible text, emoji selector included
    ],
)
def test_control_characters_and_escape_sequences_are_removed_as_before(text, shown):
    assert sanitize(text) == shown


def test_lines_keep_their_breaks_but_unicode_separators_are_escaped():
    assert sanitize_lines("one\n\x1b[1mtwo\x1b[0m\u2028three\r\nfour") == (
        "one\ntwo\\u2028three\nfour"
    )


def test_quoted_names_show_one_backslash():
    assert quoted("zw\u200bp") == "'zw\\u200bp'"
