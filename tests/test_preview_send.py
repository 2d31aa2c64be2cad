"""The preview of the selected sprite's screen and sending a line without attaching, driven by
Pilot against the real fake wisp."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Input, Static

from tests.support.dashboard_harness import dashboard, screen_text
from tests.support.waiting import wait_until_async
from wreckit_tui.preview import CANNOT_CAPTURE
from wreckit_tui.screens.confirm import ConfirmScreen
from wreckit_tui.screens.send import SendScreen
from wreckit_tui.widgets.preview import screen_text as preview_text


def sprite(name: str, **fields: object) -> dict:
    return {"name": name, "state": "running", "cpus": 1, "memory": "512MiB", **fields}


FLEET = [sprite("alpha"), sprite("bravo"), sprite("charlie", state="stopped")]


def captures(fake_wisp, name: str | None = None) -> list[list[str]]:
    calls = [  # the preview's, not the short ones that tell an agent's activity
        call for call in fake_wisp.calls() if call[:1] == ["capture"] and "--lines" not in call
    ]
    return [call for call in calls if name is None or call[1] == name]


def shown_screen(app) -> Content:
    return app.dashboard.query_one("#preview-screen", Static).render()


async def until_shown(pilot, words: str) -> None:
    await wait_until_async(pilot, lambda: words in shown_screen(pilot.app).plain, timeout=10)


async def test_p_shows_the_selected_sprites_screen_with_colours_and_follows_it(fake_wisp):
    fake_wisp.set_screen("alpha", "alpha$ make\n\x1b[31mFAILED\x1b[0m 2 tests\nalpha$ \n\n")
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        assert not captures(fake_wisp)  # fields first: nothing captured
        await pilot.press("p")
        await until_shown(pilot, "FAILED 2 tests")
        text = shown_screen(app)
        assert text.plain == "alpha$ make\nFAILED 2 tests\nalpha$"
        failed = text.plain.index("FAILED")
        assert any(span.start == failed and "red" in str(span.style) for span in text.spans)
        assert "Screen of alpha" in screen_text(app)
        fake_wisp.set_screen("alpha", "alpha$ make\nall 12 tests passed\n")
        await until_shown(pilot, "all 12 tests passed")  # the next capture, a second later
        assert {call[1] for call in captures(fake_wisp)} == {"alpha"}
        assert all("--ansi" in call for call in captures(fake_wisp))


async def test_only_the_selected_sprite_is_captured_about_once_a_second(fake_wisp):
    fake_wisp.set_screen("alpha", "on alpha\n")
    fake_wisp.set_screen("bravo", "on bravo\n")
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("p")
        await until_shown(pilot, "on alpha")
        await pilot.press("down")
        await until_shown(pilot, "on bravo")
        seen = len(captures(fake_wisp, "alpha"))
        await pilot.pause(2.5)
        assert len(captures(fake_wisp, "alpha")) == seen  # only the selected one
        assert 2 <= len(captures(fake_wisp, "bravo")) <= 5


async def test_no_capture_while_the_pane_is_hidden_or_shows_fields(fake_wisp):
    fake_wisp.set_screen("alpha", "on alpha\n")
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("p")
        await until_shown(pilot, "on alpha")
        await pilot.press("v")  # the pane folds away
        await wait_until_async(pilot, lambda: not app.previewer.in_flight)
        before = len(captures(fake_wisp))
        await pilot.pause(2.2)
        assert len(captures(fake_wisp)) == before
        await pilot.press("v")
        await wait_until_async(pilot, lambda: len(captures(fake_wisp)) > before)
        await pilot.press("p")  # back to the fields
        await wait_until_async(pilot, lambda: not app.previewer.in_flight)
        before = len(captures(fake_wisp))
        await pilot.pause(2.2)
        assert len(captures(fake_wisp)) == before
        assert app.dashboard.query_one("#fields").region.height > 0


async def test_no_capture_while_attached(fake_wisp):
    fake_wisp.set_screen("alpha", "on alpha\n")
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("p")
        await until_shown(pilot, "on alpha")
        app.previewer.pause()  # what attaching does, around the whole attach
        await wait_until_async(pilot, lambda: not app.previewer.in_flight)
        before = len(captures(fake_wisp))
        await pilot.pause(2.2)
        assert len(captures(fake_wisp)) == before
        app.previewer.resume()
        await wait_until_async(pilot, lambda: len(captures(fake_wisp)) > before)


async def test_a_sprite_not_running_gets_a_sentence_and_no_capture(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("end", "p")
        await wait_until_async(pilot, lambda: "charlie is stopped" in screen_text(pilot.app))
        await pilot.pause(1.5)
        assert not captures(fake_wisp)


async def test_a_v1_only_backend_gets_a_sentence(fake_wisp):
    fake_wisp.set_scenario(capabilities="unknown")
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("p")
        await until_shown(pilot, "This backend cannot show a sprite's screen")
        assert shown_screen(pilot.app).plain == CANNOT_CAPTURE
        assert "This backend cannot show" in screen_text(pilot.app)
        assert not captures(fake_wisp)  # the missing capability is known: nothing run


HOSTILE = (
    "\x1b]0;pwned title\x07\x1b]52;c;ZXZpbA==\x07safe \x1b[2J\x1b[H\x1b[10;10Hstart"
    "\x1b[?1049h\x1b[?1000h\x1bPq#0;2;0;0;0\x1b\\ \x1b[32mgreen\x1b[0m [b]not markup[/b]"
    "\x1b[6n\x07\x1bc\x1b]8;;https://evil.test\x1b\\link\x1b]8;;\x1b\\ zw\u200bp\n"
)


async def test_hostile_escapes_in_a_screen_never_reach_the_terminal(fake_wisp):
    fake_wisp.set_screen("alpha", HOSTILE)
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("p")
        await until_shown(pilot, "green")
        text = shown_screen(app)
        assert text.plain == "safe start green [b]not markup[/b]link zw\\u200bp"
        assert all(ord(char) >= 32 for char in text.plain)
        green = text.plain.index("green")
        assert [str(span.style) for span in text.spans if span.start == green] == ["ansi_green"]
        assert "\x1b" not in app.export_screenshot()
        assert "pwned" not in screen_text(app)


def test_the_preview_text_keeps_only_colour():
    text = preview_text("\x1b[1;31mbold red\x1b[0m plain\n\n\n")
    assert text.plain == "bold red plain"
    assert "\x1b" not in text.plain


# -- send --------------------------------------------------------------------------------------


async def open_send(pilot) -> Input:
    await pilot.press("i")
    await wait_until_async(pilot, lambda: isinstance(pilot.app.screen, SendScreen))
    return pilot.app.screen.query_one(Input)


async def test_the_input_names_the_sprite_or_how_many_are_marked(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await open_send(pilot)
        assert "Type into alpha" in screen_text(app)
        await pilot.press("escape", "space", "space")
        line = await open_send(pilot)
        assert "Type into 2 marked sprites" in screen_text(app)
        assert line.has_focus


async def test_i_types_a_line_and_enter_into_the_selected_sprite(fake_wisp):
    fake_wisp.set_screen("alpha", "alpha$ ")
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("i", *"echo hi there", "enter")  # fast: no key lost
        await wait_until_async(pilot, lambda: fake_wisp.screen("alpha") != "alpha$ ")
        assert fake_wisp.screen("alpha") == "alpha$ echo hi there\n"
        assert app.screen is app.dashboard
        sends = [call for call in fake_wisp.calls() if call[:1] == ["send"]]
        assert sends == [["send", "alpha", "--enter", "--", "echo hi there"]]


async def test_the_line_shows_in_the_preview(fake_wisp):
    fake_wisp.set_screen("alpha", "alpha$ ")
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("p", "i", *"ls", "enter")
        await until_shown(pilot, "alpha$ ls")


async def test_marked_sprites_get_the_line_after_a_confirmation_naming_how_many(fake_wisp):
    fake_wisp.set_screen("alpha", "")
    fake_wisp.set_screen("bravo", "")
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("space", "space", "i", *"go on", "enter")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Type 'go on' and Enter into 2 sprites?" in screen_text(app)
        await pilot.press("y")
        await wait_until_async(pilot, lambda: fake_wisp.screen("bravo") == "go on\n")
        await wait_until_async(pilot, lambda: fake_wisp.screen("alpha") == "go on\n")


async def test_esc_or_no_sends_nothing(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("i", *"rm -rf", "escape")
        assert app.screen is app.dashboard
        await pilot.press("space", "space", "i", *"rm", "enter", "n")
        await wait_until_async(pilot, lambda: app.screen is app.dashboard)
        await pilot.pause(0.3)
        assert not [call for call in fake_wisp.calls() if call[:1] == ["send"]]


async def test_send_on_a_v1_only_backend_says_it_is_not_supported(fake_wisp):
    fake_wisp.set_scenario(capabilities="unknown")
    async with dashboard(fake_wisp, FLEET, notifications=True) as pilot:
        app = pilot.app
        await pilot.press("i", *"hello", "enter")
        await wait_until_async(pilot, lambda: app.last_error is not None)
        said = " ".join(str(note.message) for note in app.said)
        assert "could not type into alpha: send is not supported by this backend" in said
        await pilot.press("e")
        await wait_until_async(pilot, lambda: "send is not supported" in screen_text(app))


async def test_send_to_a_sprite_that_is_gone_says_so(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        fake_wisp.set_fleet(FLEET[1:])  # alpha went away since the last poll
        await pilot.press("i", *"hello", "enter")
        await wait_until_async(pilot, lambda: app.last_error is not None)
        said = " ".join(str(note.message) for note in app.said)
        assert "could not type into alpha: it is gone" in said


def test_a_hostile_screen_changes_nothing_on_a_real_terminal(fake_wisp, open_dashboard):
    """In tmux: the preview's title, clear, cursor moves and mode switches never act."""
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_screen("alpha", HOSTILE + "\x1b]2;pwned\x1b\\\x1b[?25l\x1b[1;1Hend of screen\n")
    pane = open_dashboard()
    pane.wait_for_text("alpha")
    title = pane.title()
    pane.send("p")
    screen = pane.wait_for_text("end of screen")
    assert "safe start green [b]not markup[/b]link zw\\u200bp" in screen
    assert "NAME" in screen  # nothing cleared the dashboard or moved its text
    assert pane.title() == title
    assert "pwned" not in pane.title()
