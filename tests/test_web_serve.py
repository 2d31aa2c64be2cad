"""``wreckit-tui serve``: the dashboard over textual-serve's websocket, rendered through pyte.

The server runs as a real subprocess on a free loopback port with the fake wisp; clients are
aiohttp's. What a user would notice: the URL on the first line, 403 without the token, one
dashboard per tab, read-only refusals, ``y`` copying a sprite's URL, and nothing left running
once the server is stopped.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import aiohttp
import pytest

from tests.support.processes import command_line
from tests.support.waiting import wait_until
from tests.support.web_server import (
    open_dashboard,
    serve_argv,
    served,
    wait_for_no_descendants,
)

FLEET = [
    {"name": "alpha", "state": "running", "url": "https://alpha.sprites.test", "cpus": 2},
    {"name": "bravo", "state": "running"},
]


@pytest.fixture
def fleet_wisp(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    return fake_wisp


def status_of(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_page_needs_the_token(fleet_wisp, tmp_path):
    with served(fleet_wisp.path, tmp_path) as server:
        assert server.url.startswith(f"{server.base}/?token=")
        assert len(server.token) >= 40
        for path in ("/", "/?token=wrong", "/static/js/textual.js", "/web/xterm/xterm.js",
                     "/attach/alpha", f"/?token={server.token[:-1]}"):  # fmt: skip
            assert status_of(server.base + path) == (403, "403: Forbidden"), path
        status, page = status_of(server.url)
        assert status == 200
        assert "textual-terminal" in page
        assert "googleapis" not in page  # nothing from another site
        cookie = {"Cookie": f"wreckit_token={server.token}"}
        assert status_of(server.base + "/web/xterm/xterm.js", cookie)[0] == 200
        other_site = {**cookie, "Origin": "http://evil.test"}
        assert status_of(server.base + "/", other_site) == (403, "403: Forbidden")


async def test_websockets_need_the_token(fleet_wisp, tmp_path):
    with served(fleet_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            for path in ("/ws", "/ws?token=wrong", "/attach/alpha/ws"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(server.base + path)
                assert refused.value.status == 403
        wait_for_no_descendants(server)  # no dashboard and no attach was started


async def test_each_tab_gets_a_dashboard_and_stop_ends_them(fleet_wisp, tmp_path):
    with served(fleet_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            first = await open_dashboard(session, server)
            second = await open_dashboard(session, server)
            for dashboard in (first, second):
                await dashboard.wait_for("alpha", "bravo", "https://alpha.sprites")
            await first.press("j")  # the cursor moves in the first tab only
            await first.wait_for("state       running", "name        bravo")
            await asyncio.sleep(0)  # the second tab is sent nothing new: its detail is alpha's
            assert "name        alpha" in second.text()

            def dashboards():
                every = [
                    p for p in server.descendants() if "wreckit_tui.web_app" in command_line(p)
                ]
                working = [p for p in server.working() if p in every]
                return len(every), len(working)

            wait_until(lambda: dashboards() == (3, 2), what="two dashboards and a spare")
            assert server.stop() == 0
            assert server.descendants() == []
    assert fleet_wisp.alive_pids() == []


async def test_closing_a_tab_or_q_ends_its_dashboard(fleet_wisp, tmp_path):
    with served(fleet_wisp.path, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            dashboard = await open_dashboard(session, server)
            await dashboard.wait_for("alpha")
            await dashboard.socket.close()
            wait_for_no_descendants(server)
            quitting = await open_dashboard(session, server)
            await quitting.wait_for("alpha")
            await quitting.press("q")
            await asyncio.wait_for(quitting.reader, 15)  # the server closes the websocket
            wait_for_no_descendants(server)


async def test_y_copies_the_url_and_read_only_refuses_changes(fleet_wisp, tmp_path):
    with served(fleet_wisp.path, tmp_path, "--read-only", "--set", "max_vms=7") as server:
        async with aiohttp.ClientSession() as session:
            dashboard = await open_dashboard(session, server)
            await dashboard.wait_for("alpha", "VMs 2/7")  # the settings serve was given
            await dashboard.press("y")
            await dashboard.wait_for("copied https://alpha.sprites.test")
            copied = base64.b64encode(b"https://alpha.sprites.test")
            assert b"\x1b]52;c;" + copied in dashboard.raw  # OSC 52, the browser's clipboard
            await dashboard.press("o")  # the page opens it in a new tab
            await dashboard.wait_for("opened https://alpha.sprites.test")
            opened = {"url": "https://alpha.sprites.test", "new_tab": True}
            assert ["open_url", opened] in dashboard.said
            for key in ("n", "d", "a", "i"):
                await dashboard.press(key)
                await dashboard.wait_for("read-only")
            assert "Launch" not in dashboard.text().split("read-only")[-1]
        assert status_of(server.url.replace("/?", "/attach/alpha?"))[0] == 403
    assert [call[0] for call in fleet_wisp.calls()].count("kill") == 0


def test_other_addresses_need_allow_remote(fleet_wisp):
    argv = serve_argv(fleet_wisp.path, "--host", "0.0.0.0")
    refused = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.count("\n") == 1
    assert "--allow-remote" in refused.stderr


def test_remote_serving_warns_and_a_taken_port_is_one_line(fleet_wisp):
    """Never listens beyond loopback: the port is taken on loopback, so the bind fails."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        argv = serve_argv(fleet_wisp.path, "--host", "0.0.0.0", "--allow-remote")
        argv[argv.index("--port") + 1] = port
        refused = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    assert (refused.returncode, refused.stdout) == (2, "")
    warning, error = refused.stderr.splitlines()
    assert "anyone who has the URL" in warning
    assert error.startswith(f"wreckit-tui: error: cannot listen on 0.0.0.0:{port}")


def test_serve_does_not_load_the_web_stack_for_the_dashboard():
    probe = (
        "import sys, wreckit_tui.cli as cli, wreckit_tui.app, wreckit_tui.headless;"
        "cli.build_parser();"
        "print([m for m in ('aiohttp', 'textual_serve', 'wreckit_tui.web_server') "
        "if m in sys.modules])"
    )
    argv = [sys.executable, "-c", probe]
    loaded = subprocess.run(argv, check=False, capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
