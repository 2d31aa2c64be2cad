"""Speed of the dashboard in a browser: first rows after loading the page, and key echo.

Run ``python bench/web_bench.py [--quick]`` from the repository root; :func:`run` returns the
figures in ms, medians with their fastest and slowest (``<key>_min``, ``<key>_max``), or ``{}``
with a message on stderr when Chromium (``/usr/bin/chromium``) or Playwright is missing. It
serves ``wreckit-tui serve`` on a free loopback port over the test fake wisp with 20 sprites
and drives Debian's Chromium headless with Playwright.

- ``web_first_rows_ms``: from asking the browser to load the page (with the token) to the
  moment its dashboard websocket has delivered a screen showing every sprite (rendered through
  pyte as frames arrive); baseline ``web_page_load_ms``, the page's own ``load`` event;
- ``web_echo_ms``: a key typed into a sprite's web terminal (xterm.js ``input``, as a keyboard
  does) until its echo by the pty on the server is on the terminal's screen, timed in the page;
  baseline ``pty_echo_ms``, a byte written to a pty's master end until its echo is read back,
  here in Python, with no browser, websocket or server between.

Every run kills the server it started (and, with it, every dashboard and attach).
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SPRITES = 20
FULL = {"loads": 9, "keys": 60}
QUICK = {"loads": 3, "keys": 20}
CHROMIUM = "/usr/bin/chromium"
ECHO = """(key) => new Promise((resolve) => {
  const term = window.wreckitTerminal;
  const line = () => {
    const buffer = term.buffer.active;
    return buffer.getLine(buffer.baseY + buffer.cursorY).translateToString(true);
  };
  const before = line();
  const began = performance.now();
  const watch = term.onWriteParsed(() => {
    if (line() === before + key) { watch.dispose(); resolve(performance.now() - began); }
  });
  term.input(key, true);
})"""


def missing() -> str | None:
    """Why the benchmark cannot run here, or None."""
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
        import pyte  # noqa: F401
    except ImportError:
        return "no Playwright or pyte (pip install -e '.[test]')"
    return None


def run(loads: int, keys: int) -> dict[str, float]:
    """The figures, or {} (and why on stderr) without Chromium or Playwright."""
    why = missing()
    if why:
        print(f"web bench skipped: {why}", file=sys.stderr, flush=True)
        return {}
    from tests.support.browser import chromium
    from tests.support.fake_wisp_handle import make_fake_wisp
    from tests.support.web_server import served

    with tempfile.TemporaryDirectory(prefix="wreckit-web-bench-") as work:
        fake = make_fake_wisp(Path(work) / "fakewisp")
        fake.set_fleet([{"name": f"sprite-{n}", "state": "running"} for n in range(SPRITES)])
        try:
            with served(fake.path, Path(work)) as server, chromium() as browser:
                figures = _first_rows(browser, server, loads)
                figures |= _echo(browser, server, keys)
        finally:
            fake.kill_leftovers()
    figures |= _summary("pty_echo_ms", [_pty_echo_ms() for _ in range(keys)])
    return figures


def _first_rows(browser, server, loads: int) -> dict[str, float]:
    from tests.support.browser import DashboardFrames

    firsts, page_loads = [], []
    last = f"sprite-{SPRITES - 1}"
    for _ in range(loads):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        frames, seen = DashboardFrames(page), []
        original = frames._frame

        def frame(payload, original=original, frames=frames, seen=seen):
            original(payload)
            if not seen and last in frames.text() and "sprite-0" in frames.text():
                seen.append(time.perf_counter())

        frames._frame = frame
        began = time.perf_counter()
        page.goto(server.url, wait_until="load")
        page_loads.append((time.perf_counter() - began) * 1000)
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            page.wait_for_timeout(5)
        if not seen:
            raise RuntimeError("the dashboard showed no rows in the browser within 30 s")
        firsts.append((seen[0] - began) * 1000)
        page.close()
    return _summary("web_first_rows_ms", firsts) | _summary("web_page_load_ms", page_loads)


def _echo(browser, server, keys: int) -> dict[str, float]:
    page = browser.new_page()
    page.goto(server.url.replace("/?", "/attach/sprite-0?"))
    page.wait_for_function(
        "() => window.wreckitTerminal && window.wreckitTerminal.buffer.active"
        ".getLine(0).translateToString(true).includes('connected to')"
    )
    times = []
    for number in range(keys):
        if number and number % 40 == 0:
            page.evaluate("() => window.wreckitTerminal.input('\\r', true)")
            page.wait_for_timeout(100)
        times.append(page.evaluate(ECHO, "abcdefghij"[number % 10]))
    page.close()
    return _summary("web_echo_ms", times)


def _pty_echo_ms() -> float:
    """A byte into a pty (echo on) until its echo is read back, in ms."""
    master, slave = pty.openpty()
    try:
        began = time.perf_counter()
        os.write(master, b"x")
        while True:
            select.select([master], [], [], 5)
            if b"x" in os.read(master, 64):
                return (time.perf_counter() - began) * 1000
    finally:
        os.close(master)
        os.close(slave)


def _summary(key: str, values: list[float]) -> dict[str, float]:
    return {
        key: statistics.median(values),
        f"{key}_p95": sorted(values)[max(0, round(len(values) * 0.95) - 1)],
        f"{key}_min": min(values),
        f"{key}_max": max(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    figures = run(**(QUICK if args.quick else FULL))
    print(json.dumps({key: round(value, 2) for key, value in figures.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
