"""Attaching from the real dashboard, in a tmux pane, on the fake wisp.

The dashboard runs as ``python -m wreckit_tui --wisp FAKE`` in a terminal of its own; the tests
press keys and read the screen as a person would, and read the calls the fake wisp recorded.
"""

from __future__ import annotations

import time

from tests.conftest import FakeWisp
from tests.support.tmux_pane import TmuxPane
from tests.support.waiting import wait_until

ALPHA = {"name": "alpha", "state": "running"}
BETA = {"name": "beta", "state": "running"}


def list_calls(fake: FakeWisp) -> list[float]:
    """When each ``wisp list`` the fake received started (wall clock)."""
    return fake.call_times("list")


def attach_to_alpha(pane: TmuxPane) -> None:
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)
    pane.send("a")
    pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)


def test_no_poll_runs_while_attached_and_one_runs_on_coming_back(fake_wisp, open_dashboard):
    fake_wisp.set_fleet([ALPHA])
    pane = open_dashboard("poll_interval=0.5")
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)
    wait_until(lambda: len(list_calls(fake_wisp)) >= 3, timeout=10)  # it does poll every 0.5 s

    attach_to_alpha(pane)
    time.sleep(0.5)  # a poll started just before the attach has been recorded by now
    polls = len(list_calls(fake_wisp))
    fake_wisp.set_fleet([ALPHA, BETA])  # a change the next poll will show
    time.sleep(1.5)  # three polls' worth
    assert len(list_calls(fake_wisp)) == polls, "the dashboard polled while attached"
    pane.send("still attached", "Enter")
    pane.wait_for(lambda screen: "alpha> still attached" in screen)  # the session is intact

    detached = time.time()
    pane.send("C-]")
    pane.wait_for(lambda screen: "beta" in screen and "2 running" in screen, timeout=5)
    after = [started for started in list_calls(fake_wisp) if started > detached]
    assert after, "no poll after coming back"
    assert after[0] - detached < 0.5  # at once, not a poll interval later
    wait_until(
        lambda: len(list_calls(fake_wisp)) >= polls + 3, timeout=10
    )  # and it goes on polling


def test_coming_back_polls_at_once_however_long_the_interval(fake_wisp, open_dashboard):
    fake_wisp.set_fleet([ALPHA])
    pane = open_dashboard("poll_interval=60")
    attach_to_alpha(pane)
    polls = len(list_calls(fake_wisp))
    fake_wisp.set_fleet([ALPHA, BETA])

    pane.send("C-]")
    screen = pane.wait_for(lambda s: "beta" in s and "2 running" in s, timeout=5)
    assert "alpha" in screen
    assert len(list_calls(fake_wisp)) == polls + 1  # that one poll, not a timer's


def toast_text(screen: str) -> str:
    """The text of the notifications on ``screen``, their lines joined by spaces."""
    lines = [line.split("▌", 1)[1].strip() for line in screen.splitlines() if "▌" in line]
    return " ".join(line for line in lines if line)


def test_a_quick_failure_of_the_sprite_is_shown_as_an_error_after_coming_back(
    fake_wisp, open_dashboard
):
    fake_wisp.set_fleet([ALPHA])
    fake_wisp.set_scenario(attach="fail-fast")  # prints three lines and exits 7 at once
    pane = open_dashboard()
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)

    pane.send("a")
    screen = pane.wait_for(  # the dashboard is back, and says what happened
        lambda s: "status 7" in toast_text(s) and "NAME" in s and "alpha" in s, timeout=10
    )
    toast = toast_text(screen)
    assert toast.startswith("attach alpha ")  # its title
    assert "error: sprite is not answering" in toast
    assert "`wisp attach alpha` exited with status 7 after" in toast
    assert toast.endswith("hint: wisp kill alpha, then start it again")  # the last line printed
    assert "\x1b" not in toast and "[31m" not in toast
    assert ["attach", "alpha"] in fake_wisp.calls()
    assert toast.count("hint: wisp kill alpha, then start it again") == 1  # said once


def test_e_shows_an_attach_failure_in_full(fake_wisp, open_dashboard):
    fake_wisp.set_fleet([ALPHA])
    fake_wisp.set_scenario(attach="fail-fast")
    pane = open_dashboard()
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)
    pane.send("a")
    pane.wait_for(lambda s: "status 7" in toast_text(s), timeout=10)
    pane.send("e")
    screen = pane.wait_for(lambda s: "Last error" in s)
    assert "`wisp attach alpha` exited with status 7 after" in screen
    assert "what `wisp attach` printed last" in screen
    assert "error: sprite is not answering" in screen
    assert "no error so far" not in screen
