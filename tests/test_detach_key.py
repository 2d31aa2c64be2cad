"""The detach key's grammar: key names to bytes and labels, refused keys, the banner, a read cut
at the detach byte. Pure functions: no terminal, no pty."""

from __future__ import annotations

import string

import pytest

from wreckit_tui.detach_key import (
    DEFAULT_DETACH_KEY,
    banner,
    detach_byte,
    key_label,
    split_at_detach,
)
from wreckit_tui.errors import ConfigError

DETACH = b"\x1d"
BANNER = "Attached to alpha — detach with Ctrl+]"
REFUSED_BYTES = {b"\x03", b"\x09", b"\x0a", b"\x0d", b"\x1b"}
"""Ctrl+C, Tab, line feed, Enter and Escape: what a sprite needs."""


@pytest.mark.parametrize(
    ("key", "byte", "label"),
    [
        ("ctrl+]", b"\x1d", "Ctrl+]"),
        ("ctrl+a", b"\x01", "Ctrl+A"),
        ("Ctrl-A", b"\x01", "Ctrl+A"),
        ("ctrl+\\", b"\x1c", "Ctrl+\\"),
        ("ctrl+backslash", b"\x1c", "Ctrl+\\"),
        ("ctrl+right_square_bracket", b"\x1d", "Ctrl+]"),
        ("ctrl+_", b"\x1f", "Ctrl+_"),
        ("ctrl+^", b"\x1e", "Ctrl+^"),
        (" ctrl+z ", b"\x1a", "Ctrl+Z"),
    ],
)
def test_detach_key_names_turn_into_the_byte_a_terminal_sends(key, byte, label):
    assert detach_byte(key) == byte
    assert key_label(key) == label


@pytest.mark.parametrize(
    ("key", "byte", "label"),
    [
        ("CTRL+]", b"\x1d", "Ctrl+]"),
        ("CTRL+A", b"\x01", "Ctrl+A"),
        ("ctrl+A", b"\x01", "Ctrl+A"),
        ("Ctrl+Backslash", b"\x1c", "Ctrl+\\"),
        ("ctrl-]", b"\x1d", "Ctrl+]"),
        ("ctrl+@", b"\x00", "Ctrl+@"),
        ("ctrl+space", b"\x00", "Ctrl+@"),
        ("ctrl+at", b"\x00", "Ctrl+@"),
        ("ctrl+circumflex_accent", b"\x1e", "Ctrl+^"),
        ("ctrl+underscore", b"\x1f", "Ctrl+_"),
    ],
)
def test_case_and_textual_names_do_not_matter(key, byte, label):
    assert detach_byte(key) == byte
    assert key_label(key) == label


def test_the_default_key_is_ctrl_right_bracket():
    assert DEFAULT_DETACH_KEY == "ctrl+]"
    assert detach_byte(DEFAULT_DETACH_KEY) == DETACH


def test_every_accepted_letter_is_one_control_byte_a_sprite_can_spare():
    for letter in sorted(set(string.ascii_lowercase) - set("cijm")):
        byte = detach_byte(f"ctrl+{letter}")
        assert len(byte) == 1
        assert byte[0] == ord(letter) - ord("a") + 1
        assert byte not in REFUSED_BYTES


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("q", "not a control key"),
        ("", "not a control key"),
        ("alt+x", "not a control key"),
        ("ctrl+", "not a control key"),
        ("ctrl+1", "one byte"),
        ("ctrl+f1", "one byte"),
        ("ctrl+c", "Ctrl+C must reach the sprite"),
        ("ctrl+[", "Escape"),
        ("ctrl+m", "Enter"),
        ("ctrl+i", "Tab"),
    ],
)
def test_unusable_detach_keys_are_config_errors(key, reason):
    with pytest.raises(ConfigError, match="detach_key") as caught:
        detach_byte(key)
    assert reason in caught.value.message
    assert repr(key) in caught.value.message


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("CTRL+C", "Ctrl+C must reach the sprite"),
        ("ctrl+left_square_bracket", "Escape"),
        ("ctrl+j", "line feed"),
        ("shift+]", "not a control key"),
        ("ctrl]", "not a control key"),
        ("ctrl+ab", "one byte"),
        ("ctrl+ä", "one byte"),
    ],
)
def test_more_unusable_keys_are_refused_with_a_reason(key, reason):
    with pytest.raises(ConfigError, match="detach_key") as caught:
        detach_byte(key)
    assert reason in caught.value.message
    assert repr(key) in caught.value.message


def test_a_refused_key_has_no_label_either():
    with pytest.raises(ConfigError, match="Ctrl\\+C must reach the sprite"):
        key_label("ctrl+c")


def test_banner_names_the_sprite_and_the_configured_key():
    assert banner("alpha") == BANNER
    assert banner("alpha", "ctrl+a") == "Attached to alpha — detach with Ctrl+A"


def test_banner_shows_a_name_without_its_control_characters():
    assert banner("al\x1b[31mpha\n") == BANNER


def test_banner_refuses_an_unusable_key():
    with pytest.raises(ConfigError):
        banner("alpha", "ctrl+c")


def test_split_at_detach_forwards_the_bytes_before_the_key():
    assert split_at_detach(b"abc\x1ddef", DETACH) == (b"abc", True)
    assert split_at_detach(b"\x1d", DETACH) == (b"", True)
    assert split_at_detach(b"abc", DETACH) == (b"abc", False)
    assert split_at_detach(b"a\x1db\x1d", DETACH) == (b"a", True)


@pytest.mark.parametrize(
    ("keys", "forwarded", "detached"),
    [
        (b"", b"", False),  # an empty read
        (b"ls\r", b"ls\r", False),  # no detach byte: everything goes on
        (b"\x1dafter", b"", True),  # detach first: the keys after it are dropped
        (b"before\x1d", b"before", True),  # detach last: the keys before it go on
        (b"\x03\x1b[A\x1d\x03", b"\x03\x1b[A", True),  # Ctrl+C and arrows before it go on
    ],
)
def test_split_at_detach_keeps_the_keys_before_the_detach_byte_only(keys, forwarded, detached):
    assert split_at_detach(keys, DETACH) == (forwarded, detached)


def test_split_at_detach_looks_for_the_configured_byte_only():
    ctrl_a = detach_byte("ctrl+a")
    assert split_at_detach(b"x\x1dy", ctrl_a) == (b"x\x1dy", False)
    assert split_at_detach(b"x\x01y", ctrl_a) == (b"x", True)
