"""The served dashboard in a real Chromium (Debian's package, driven by Playwright).

Loads the page with the token and reads the table as the browser received it, opens a sprite's
terminal in a new tab with ``a``, types a command there and sees its output; a page without
the token is refused; two tabs are two dashboards; and after the browser and the server stop,
nothing is left running.
"""

from __future__ import annotations

from tests.support.browser import (
    DashboardFrames,
    chromium,
    terminal_text,
    wait_in_browser,
)
from tests.support.processes import command_line
from tests.support.web_server import served, wait_for_no_descendants

FLEET = [
    {"name": "alpha", "state": "running", "url": "https://alpha.sprites.test"},
    {"name": "bravo", "state": "running"},
]
VIEWPORT = {"width": 1400, "height": 800}


def dashboards_of(server):
    """The dashboards serving a tab (not the spare that waits for the next one)."""
    return [p for p in server.working() if "wreckit_tui.web_app" in command_line(p)]


def test_the_dashboard_and_a_web_terminal_in_chromium(fake_wisp, tmp_path):
    fake_wisp.set_fleet(FLEET)
    with served(fake_wisp.path, tmp_path) as server, chromium() as browser:
        refused = browser.new_page().goto(server.base + "/")
        assert refused.status == 403
        assert refused.text() == "403: Forbidden"

        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        frames = DashboardFrames(page)
        assert page.goto(server.url).status == 200
        wait_in_browser(page, lambda: "bravo" in frames.text(), what="the table in the page")
        assert "alpha" in frames.text()
        page.screenshot(path=tmp_path / "dashboard.png")

        page.locator(".textual-terminal").click()
        with context.expect_page(timeout=15_000) as opened:
            page.keyboard.press("a")
        attach = opened.value
        attach.wait_for_function("() => window.wreckitTerminal !== undefined")
        assert attach.url.startswith(f"{server.base}/attach/alpha")
        wait_in_browser(attach, lambda: "connected to alpha" in terminal_text(attach))
        attach.keyboard.type("echo typed in chromium")
        attach.keyboard.press("Enter")
        wait_in_browser(attach, lambda: "alpha> echo typed in chromium" in terminal_text(attach))
        attach.screenshot(path=tmp_path / "attach.png")
        assert fake_wisp.alive_pids()
        attach.close()  # closing the tab hangs the attach up
        wait_in_browser(page, lambda: not fake_wisp.alive_pids(), what="the attach to end")

        second = context.new_page()
        second_frames = DashboardFrames(second)
        second.goto(server.url)
        wait_in_browser(second, lambda: "bravo" in second_frames.text(), what="a 2nd table")
        wait_in_browser(second, lambda: len(dashboards_of(server)) == 2, what="2 dashboards")
        context.close()
        wait_for_no_descendants(server)
        assert server.stop() == 0
        assert server.descendants() == []
    assert fake_wisp.alive_pids() == []
