"""What the dashboard costs: refresh work on the UI thread, key latency, idle CPU, memory, soak.

``bench/run.py`` runs these; each function returns its figures. The wisp is
``tests/support/fake_wisp.py``, run as a real process.

- ``refresh_ms_<n>_changed_<k>``: UI-thread CPU time to apply a poll of ``n`` sprites in which
  ``k`` changed (the table diff and the header, gauge and detail updates); ``paint_ms_...``:
  the frame that follows. ``rebuild_ms_<n>`` and ``rebuild_paint_ms_<n>``: the same for a
  naive ``clear()`` + ``add_rows()`` of every row into a plain DataTable.
- ``key_latency_ms_p95_hung_wisp``: a key press in a real terminal (a tmux pane) to the
  repainted screen, while a poll hangs on wisp.
- ``idle_cpu_percent_100_sprites`` and ``rss_mb_<n>_sprites``: the real ``wreckit-tui``
  process in a tmux pane, polling every 2 s (wisp's own processes not counted).
- ``attach_ms`` and ``detach_ms``: the real dashboard on the built-in provider, from ``a`` to
  the sandbox's prompt on screen, and from the detach key to the repainted dashboard.
- ``rss_peak_mb_*_at_cap`` and ``first_rows_s_at_cap``: a fleet of ``max_sprites`` sprites in
  about 15 MB of ``list --json`` output: the peak RSS of ``--headless --json`` and of the
  dashboard in a terminal (until a poll after the first is applied, when two fleets are held at
  once), and the time from starting the dashboard to its first rows on screen.
- ``refusal_s_*`` and ``rss_peak_mb_*_refusal``: 200,000 sprites in about 15 MB, past
  ``max_sprites``: the time to refuse them (headless: exit 4; the dashboard: the error on
  screen) and the peak RSS meanwhile.
- ``soak_*``: polls against a wisp that fails at random in every fault scenario (warning floods
  and daemons that leave the call's session included); a crash is the dashboard dying, or a poll
  ending in an error that is not a wisp error (a bug of the app). Then attach sessions under
  floods of SIGWINCH and SIGCONT; a crash is one that does not come back detached.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.text import Text  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from tests.support.attach_pty import Terminal  # noqa: E402
from tests.support.dashboard_harness import make_app  # noqa: E402
from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp  # noqa: E402
from tests.support.tmux_pane import TmuxPane  # noqa: E402
from wreckit_tui.adapter import Wisp  # noqa: E402
from wreckit_tui.app import WreckitApp  # noqa: E402
from wreckit_tui.attach import attach  # noqa: E402
from wreckit_tui.backends import Backend  # noqa: E402
from wreckit_tui.capacity import Host  # noqa: E402
from wreckit_tui.config import Config  # noqa: E402
from wreckit_tui.errors import WispError  # noqa: E402
from wreckit_tui.fields import COLUMNS  # noqa: E402
from wreckit_tui.models import DEFAULT_MAX_SPRITES, Fleet, Sprite  # noqa: E402
from wreckit_tui.operations import Pending  # noqa: E402
from wreckit_tui.processes import adopt_orphans  # noqa: E402
from wreckit_tui.view import Snapshot, build_row, view_of  # noqa: E402

SIZE = (120, 40)
HOST = Host(cores=2, memory_mib=4096)


# -- fleets ----------------------------------------------------------------------------------


def sprite_dicts(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "name": f"agent-{index:05d}",
            "id": f"spr_{index}",
            "state": rng.choice(["running"] * 8 + ["stopped", "starting"]),
            "cpus": rng.choice([1, 2, 4]),
            "memory": rng.choice(["512MiB", "1GiB", "2GiB"]),
            "cpu_percent": round(rng.uniform(0, 150), 1),
            "memory_used": rng.randint(50, 500),
            "uptime_seconds": rng.randint(4000, 900_000),
            "url": f"https://agent-{index:05d}.sprites.test",
        }
        for index in range(count)
    ]


def fleet_of(count: int) -> Fleet:
    return Fleet(sprites=tuple(Sprite(**_normalized(raw)) for raw in sprite_dicts(count)))


def _normalized(raw: dict) -> dict:
    sizes = {"512MiB": 512, "1GiB": 1024, "2GiB": 2048}
    fields = {key: value for key, value in raw.items() if key not in ("memory", "memory_used")}
    return {**fields, "memory_mib": sizes[raw["memory"]], "memory_used_mib": raw["memory_used"]}


def with_changes(fleet: Fleet, changed: int, round_number: int) -> Fleet:
    """``fleet`` with the CPU of ``changed`` sprites (picked anew each round) moved."""
    sprites = list(fleet.sprites)
    rng = random.Random(round_number)
    for index in rng.sample(range(len(sprites)), changed):
        cpu = (sprites[index].cpu_percent or 0) + 7 + round_number % 5
        sprites[index] = sprites[index].model_copy(update={"cpu_percent": cpu % 200})
    return Fleet(sprites=tuple(sprites))


# -- refresh cost ------------------------------------------------------------------------------


def offline_app(**settings: object) -> WreckitApp:
    """A dashboard that never polls by itself; the benchmark hands it fleets."""
    config = Config(**{"poll_interval": 3600, **settings})
    wisp = Wisp(Backend(argv=("/nonexistent/wisp",), label="bench"))
    app = WreckitApp(config, wisp, clock=lambda: 0.0, host=HOST, autopoll=False)
    app.animation_level = "none"
    return app


async def _apply(app: WreckitApp, pilot, fleet: Fleet) -> tuple[float, float]:
    """UI-thread CPU ms to apply ``fleet``, and to repaint after it.

    The view (rows, index, gauges) is built first, as the poll worker builds it off the UI
    thread; applying is the table diff and the widget updates; painting is the frame after.
    """
    shown = app.dashboard.snapshot.view  # the last view applied, as the app builds on it
    view = view_of(fleet, HOST, app.config.max_vms, previous=shown)
    began = time.thread_time()
    app.dashboard.snapshot = Snapshot.of(view, Pending(), last_ok=0.0)
    applied = time.thread_time()
    await pilot.pause()
    return (applied - began) * 1000, (time.thread_time() - applied) * 1000


async def _refresh_costs(size: int, repeat: int) -> dict[str, float]:
    base = fleet_of(size)
    app = offline_app()
    results: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _apply(app, pilot, base)
        for changed in sorted({min(10, size), size}):
            costs = []
            for round_number in range(repeat):
                costs.append(await _apply(app, pilot, with_changes(base, changed, round_number)))
                await _apply(app, pilot, base)
            results[f"refresh_ms_{size}_changed_{changed}"] = statistics.median(a for a, _ in costs)
            results[f"paint_ms_{size}_changed_{changed}"] = statistics.median(p for _, p in costs)
    rebuild, rebuild_paint = await _rebuild_cost(base, repeat)
    results[f"rebuild_ms_{size}"] = rebuild
    results[f"rebuild_paint_ms_{size}"] = rebuild_paint
    return results


class NaiveTable(App):
    """The baseline: one DataTable refreshed by clearing it and adding every row again."""

    def compose(self) -> ComposeResult:
        table = DataTable(cursor_type="row")
        table.add_columns(" ", *(column.label for column in COLUMNS))
        yield table


async def _rebuild_cost(fleet: Fleet, repeat: int) -> tuple[float, float]:
    """Apply and paint ms of ``clear()`` + ``add_rows()``, the same rows, the same terminal."""
    rows = [
        [Text(" "), *(Text(cell.text) for cell in row.cells)]
        for row in map(build_row, fleet.sprites)
    ]
    app = NaiveTable()
    costs = []
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        for _ in range(repeat + 1):
            began = time.thread_time()
            table.clear()
            table.add_rows(rows)
            applied = time.thread_time()
            await pilot.pause()
            costs.append(((applied - began) * 1000, (time.thread_time() - applied) * 1000))
    costs = costs[1:]
    return statistics.median(a for a, _ in costs), statistics.median(p for _, p in costs)


def refresh_costs(sizes: tuple[int, ...] = (10, 100, 1000, 5000), repeat: int = 7) -> dict:
    results: dict[str, float] = {}
    for size in sizes:
        results.update(asyncio.run(_refresh_costs(size, repeat)))
    return results


# -- the real dashboard in a terminal ------------------------------------------------------------


@contextmanager
def dashboard_pane(fake: FakeWisp, *settings: str) -> Iterator[TmuxPane]:
    """``wreckit-tui`` on ``fake`` in a tmux pane of its own (a real terminal)."""
    flags = [arg for setting in settings for arg in ("--set", setting)]
    command = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake.path), *flags]
    pane = TmuxPane(command, {"PYTHONPATH": str(REPO), "TERM": "xterm-256color"}, size=SIZE)
    dashboard = None
    try:
        dashboard = psutil.Process(pane.pid())
        yield pane
    finally:
        close_pane(pane, dashboard)


EXIT_GRACE = 1.0
"""Seconds a dashboard gets to exit once its terminal is gone."""


def close_pane(pane: TmuxPane, dashboard: psutil.Process | None) -> None:
    """Close ``pane``; a ``dashboard`` that outlives its terminal is reported, then stopped.

    ``dashboard`` was looked up while it ran, so psutil will not signal a reused pid.
    """
    pane.close()
    if dashboard is None:
        return
    deadline = time.monotonic() + EXIT_GRACE
    try:
        while dashboard.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                print(f"bench: the dashboard (pid {dashboard.pid}) outlived its terminal by "
                      f"{EXIT_GRACE:g} s; killing it", file=sys.stderr)  # fmt: skip
                for process in [dashboard, *dashboard.children(recursive=True)]:
                    process.kill()
                return
            time.sleep(0.02)
    except psutil.NoSuchProcess:
        return


def _detail_name(name: str):
    return lambda screen: f"name        {name}" in screen


def key_latency_hung_wisp(presses: int = 100) -> dict[str, float]:
    """Key press to repainted screen, in a real terminal, while a poll hangs on wisp."""
    with fake_wisp() as fake:
        fake.set_fleet(sprite_dicts(100))
        with dashboard_pane(fake, "list_timeout=600", "poll_interval=2") as pane:
            pane.wait_for(_detail_name("agent-00000"))
            fake.set_scenario(list="hang-ignore-term")
            pane.send("r")
            pane.wait_for(lambda _: len(fake.call_times("list")) >= 2)
            latencies = []
            for index in range(presses):
                key, row = ("Down", index % 10 + 1) if index % 20 < 10 else ("Up", 9 - index % 10)
                began = time.perf_counter()
                pane.send(key)
                pane.wait_for(_detail_name(f"agent-{row:05d}"), interval=0.001)
                latencies.append((time.perf_counter() - began) * 1000)
            if len(fake.call_times("list")) != 2 or not fake.alive_pids():
                raise RuntimeError("the poll was expected to hang during the key presses")
    latencies.sort()
    return {
        "key_latency_ms_p50_hung_wisp": statistics.median(latencies),
        "key_latency_ms_p95_hung_wisp": latencies[int(len(latencies) * 0.95) - 1],
    }


def idle_cpu_and_memory(seconds: float = 30.0, sizes: tuple[int, ...] = (1000, 5000)) -> dict:
    """CPU of an idle dashboard with 100 sprites polling every 2 s; RSS with bigger fleets."""
    results = {}
    with fake_wisp() as fake:
        fake.set_fleet(sprite_dicts(100))
        with dashboard_pane(fake, "poll_interval=2") as pane:
            pane.wait_for(_detail_name("agent-00000"))
            process = psutil.Process(pane.pid())
            time.sleep(3)
            before = process.cpu_times()
            time.sleep(seconds)
            after = process.cpu_times()
            used = (after.user + after.system) - (before.user + before.system)
            results["idle_cpu_percent_100_sprites"] = used / seconds * 100
        for count in sizes:
            fake.set_fleet(sprite_dicts(count))
            with dashboard_pane(fake, "poll_interval=2") as pane:
                pane.wait_for(_detail_name("agent-00000"), timeout=60)
                time.sleep(4.5)  # two more polls
                results[f"rss_mb_{count}_sprites"] = (
                    psutil.Process(pane.pid()).memory_info().rss / 1e6
                )
    return results


def attach_and_detach(repeat: int = 7) -> dict[str, float]:
    """The real dashboard on the built-in provider: ``a`` to the sandbox's prompt, and the
    detach key to a repainted dashboard."""
    home = tempfile.mkdtemp(prefix="wt-bench-sandbox-")
    env = {"WRECKIT_SANDBOX_HOME": home, "PATH": _path_without_wisp(), "TERM": "xterm-256color"}
    provider = [sys.executable, "-m", "wreckit_tui.sandbox"]
    subprocess.run([*provider, "start", "bench-one"], env={**os.environ, **env}, check=True,
                   capture_output=True)  # fmt: skip
    attaches, detaches = [], []
    pane = TmuxPane([sys.executable, "-m", "wreckit_tui"], {**env, "PYTHONPATH": str(REPO)}, SIZE)
    dashboard = None
    try:
        dashboard = psutil.Process(pane.pid())
        pane.wait_for(_detail_name("bench-one"))
        for _ in range(repeat):
            began = time.perf_counter()
            pane.send("a")
            pane.wait_for(lambda s: "@bench-one" in s, interval=0.001)
            attaches.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            pane.send("C-]")
            pane.wait_for(_detail_name("bench-one"), interval=0.001)
            detaches.append((time.perf_counter() - began) * 1000)
            time.sleep(0.3)
    finally:
        close_pane(pane, dashboard)
        subprocess.run([*provider, "kill", "bench-one"], env={**os.environ, **env},
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
    return {"attach_ms": statistics.median(attaches), "detach_ms": statistics.median(detaches)}


def _path_without_wisp() -> str:
    dirs = [os.path.dirname(path) for tool in ("tmux", "bwrap", "nsenter", "setpriv", "sh")
            if (path := shutil.which(tool))]  # fmt: skip
    return os.pathsep.join(dict.fromkeys(dirs))


# -- headless overhead ---------------------------------------------------------------------------


def headless_overhead(sizes: tuple[int, ...] = (10, 100, 1000, 5000), repeat: int = 9) -> dict:
    results = {}
    with fake_wisp() as fake:
        for size in sizes:
            fake.set_fleet(sprite_dicts(size))
            headless = [sys.executable, "-m", "wreckit_tui", "--headless", "--json"]
            results[f"headless_json_ms_{size}"] = _median_ms(
                [*headless, "--wisp", str(fake.path)], repeat
            )
            results[f"wisp_list_ms_{size}"] = _median_ms([str(fake.path), "list", "--json"], repeat)
    return results


def _median_ms(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):
        began = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, cwd=REPO, stdin=subprocess.DEVNULL)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times[1:])


# -- a fleet at the cap ----------------------------------------------------------------------------

OUTPUT_CAP_MB = 16 * 2**20 / 1e6
"""The default ``max_output_bytes`` in MB: memory goals at the cap are multiples of it."""


def fleet_at_cap(count: int = DEFAULT_MAX_SPRITES, padding: int = 270) -> str:
    """``count`` sprites whose ids and URLs carry ``padding`` more characters each: with the
    defaults, ``max_sprites`` sprites in about 15 MB of ``list --json`` output."""
    sprites = sprite_dicts(count)
    for sprite in sprites:
        sprite["id"] += "-" + "i" * padding
        sprite["url"] += "/" + "p" * padding
    return json.dumps(sprites)


def memory_at_cap() -> dict[str, float]:
    """Peak RSS of ``--headless --json`` and of the dashboard, and the dashboard's time to its
    first rows, with a fleet of ``max_sprites`` sprites in about 15 MB of output."""
    with fake_wisp() as fake:
        output = fleet_at_cap()
        fake.set_fleet(output)
        fake.set_scenario("ok", announce=[])  # memory and time, not 20,000 captures
        command = [sys.executable, "-m", "wreckit_tui", "--headless", "--json"]
        code, peak_mb, _ = _peak_rss([*command, "--wisp", str(fake.path)])
        if code != 0:
            raise RuntimeError(f"--headless --json at the cap exited {code}")
        results = {
            "output_mb_at_cap": len(output) / 1e6,
            "rss_peak_mb_headless_json_at_cap": peak_mb,
        }
        began = time.monotonic()
        with dashboard_pane(fake, "poll_interval=2") as pane:
            pane.wait_for(_detail_name("agent-00000"), timeout=300)
            results["first_rows_s_at_cap"] = time.monotonic() - began
            polls = len(fake.call_times("list"))
            deadline = time.monotonic() + 300
            while len(fake.call_times("list")) < polls + 2 and time.monotonic() < deadline:
                time.sleep(0.1)  # the second poll starts once the first one was applied
            dashboard = psutil.Process(pane.pid())
            results["rss_peak_mb_dashboard_at_cap"] = _peak_rss_mb(dashboard.pid)
            pane.send("q")  # it may be busy with a poll: let it quit before its pane closes
            with contextlib.suppress(psutil.TimeoutExpired):
                dashboard.wait(60)
    return results


def refusal_past_the_cap() -> dict[str, float]:
    """200,000 sprites in about 15 MB of output, past ``max_sprites``: the time and peak RSS
    of ``--headless --json`` to refuse them (exit 4), and of the dashboard to show why."""
    with fake_wisp() as fake:
        fake.set_scenario(list="multitude")
        command = [sys.executable, "-m", "wreckit_tui", "--headless", "--json"]
        code, peak_mb, seconds = _peak_rss([*command, "--wisp", str(fake.path)])
        if code != 4:
            raise RuntimeError(f"--headless --json past the cap exited {code}")
        results = {"refusal_s_headless": seconds, "rss_peak_mb_headless_refusal": peak_mb}
        began = time.monotonic()
        with dashboard_pane(fake, "poll_interval=60") as pane:
            pane.wait_for(lambda screen: "too many sprites" in " ".join(screen.split()), 120)
            results["refusal_s_dashboard"] = time.monotonic() - began
            results["rss_peak_mb_dashboard_refusal"] = _peak_rss_mb(pane.pid())
    return results


_MEASURE = (
    "import resource, subprocess, sys, time; began = time.monotonic(); "
    "code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL).returncode; seconds = time.monotonic() - began; "
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, seconds)"
)


def _peak_rss(argv: list[str]) -> tuple[int, float, float]:
    """Exit code, peak RSS (MB) and seconds of ``argv``, run by a small interpreter of its own:
    a child forked from this big benchmark would count its parent's pages until it execs."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                          text=True, cwd=REPO, check=True)  # fmt: skip
    code, peak_kb, seconds = done.stdout.split()
    return int(code), int(peak_kb) * 1024 / 1e6, float(seconds)


def _peak_rss_mb(pid: int) -> float:
    """The most memory ``pid`` has held resident so far (``VmHWM``), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmHWM for pid {pid}")


# -- soak ------------------------------------------------------------------------------------------

SOAK_FULL = {"polls": 10_000, "list_timeout": 0.1, "slow_seconds": 0.02, "attaches": 20}
SOAK_QUICK = {"polls": 1000, "list_timeout": 0.07, "slow_seconds": 0.005, "attaches": 5}
"""Arguments of :func:`soak`. ``list_timeout`` bounds the polls that hang (and the wait for a
grandchild's pipes), ``slow_seconds`` the slow ones: quick keeps every fault scenario, shorter.
"""
WARNING_SPRITES = 300
"""Sprites of the warnings scenario in the soak: 3,900 warnings a poll, within its output cap."""
STORM_SIGNALS = 200_000
"""SIGWINCH and SIGCONT sent to this process during each attach of the soak."""
STORM_SPRITE = "agent-00000"


def soak(
    polls: int = 10_000,
    *,
    list_timeout: float = 0.1,
    slow_seconds: float = 0.02,
    attaches: int = 20,
) -> dict[str, float]:
    """Poll ``polls`` times against a wisp that misbehaves at random, in one dashboard, then
    attach ``attaches`` times to it under a storm of signals.

    A crash is a dashboard that dies, a poll that ends in anything but a wisp error (an
    exception out of the poll, or a failure the app recorded without a :class:`WispError`), or
    an attach that does not come back detached. This process adopts orphans, as the
    ``wreckit-tui`` command does, so daemons the wisp calls leave are ended after each call:
    any fake-wisp process still alive at the end is a leak.
    """
    adopt_orphans()
    with fake_wisp() as fake:
        fake.set_fleet(sprite_dicts(20))
        fake.set_scenario(list="random", slow_seconds=slow_seconds, warning_sprites=WARNING_SPRITES)
        watch = _SoakWatch()
        try:
            result = asyncio.run(_soak(fake, polls, list_timeout, watch))
        except Exception as exc:  # a crash of the dashboard is what the soak counts
            print(f"soak: the dashboard crashed: {exc!r}", file=sys.stderr)
            watch.crashes += 1
            result = {"soak_polls": watch.judged, "soak_rss_growth_mb": 0.0}
        fake.set_scenario()
        storm = _attach_storm(fake, attaches)
        result["soak_attaches"] = attaches
        result["soak_attach_rss_growth_mb"] = storm.growth_mb
        result["soak_crashes"] = watch.crashes + storm.crashes
        time.sleep(0.2)
        result["soak_leaked_processes"] = len(fake.alive_pids())
        fake.kill_leftovers()
    return result


class _Storm:
    """How the attaches under a storm of signals went."""

    crashes = 0
    growth_mb = 0.0


def _attach_storm(fake: FakeWisp, attaches: int) -> _Storm:
    """``attaches`` attaches to the fake wisp on a real pty, each while another process sends
    :data:`STORM_SIGNALS` SIGWINCH and SIGCONT to this one; memory after the first against the
    last."""
    storm = _Storm()
    wisp = Wisp(Backend(argv=(str(fake.path),), label="soak"))
    me = psutil.Process()
    baseline = 0
    for number in range(attaches + 1):  # the first one warms up
        problem = _attach_in_a_storm(wisp)
        if problem:
            storm.crashes += 1
            print(f"soak: attach {number} under a storm of signals: {problem}", file=sys.stderr)
        gc.collect()
        if number == 0:
            baseline = me.memory_info().rss
    storm.growth_mb = (me.memory_info().rss - baseline) / 1e6
    return storm


def _attach_in_a_storm(wisp: Wisp) -> str | None:
    """One attach under a storm: the user waits for the prompt, runs a command once the storm
    is over, and detaches. What went wrong, or ``None``."""
    sender = (
        "import os, signal, sys\nkill, pid = os.kill, int(sys.argv[1])\n"
        f"for n in range({STORM_SIGNALS}):\n"
        "    kill(pid, signal.SIGCONT if n % 16 == 0 else signal.SIGWINCH)\n"
    )
    terminal = Terminal(rows=30, cols=100)
    failures: list[str] = []

    def user() -> None:
        try:
            terminal.expect(f"{STORM_SPRITE}$ ")
            storm = subprocess.run([sys.executable, "-c", sender, str(os.getpid())], check=False)
            if storm.returncode != 0:
                failures.append(f"the signal sender exited {storm.returncode}")
            terminal.type("still here\r")
            terminal.expect(f"{STORM_SPRITE}> still here")
        except AssertionError as exc:
            failures.append(str(exc)[:200])
        terminal.type(b"\x1d")

    thread = threading.Thread(target=user, daemon=True)
    thread.start()
    try:
        outcome = attach(wisp, STORM_SPRITE, stdin_fd=terminal.slave, stdout_fd=terminal.slave)
    finally:
        thread.join(60)
        terminal.close()
    if not outcome.detached or outcome.error is not None:
        failures.append(f"the attach ended without a detach: {outcome.problem or outcome}")
    return "; ".join(failures) or None


async def _soak(
    fake: FakeWisp, polls: int, list_timeout: float, watch: _SoakWatch
) -> dict[str, float]:
    """Poll back to back: while poll N runs, poll N+1 is asked for, as a key press would, so the
    poller starts it the moment N ends (still never two at once). Each poll is asked for
    exactly once, however fast wisp answers; none is queued behind the warm-up poll, so memory
    is measured with no poll running, like at the end."""
    app = make_app(
        fake,
        poll_interval=3600,
        list_timeout=list_timeout,
        kill_grace=0.01,
        max_output_bytes=256 * 1024,
    )
    watch.attach(app)
    me = psutil.Process()
    warm_up = max(polls // 10, 1)
    rss_after_warm_up = 0
    async with app.run_test(size=SIZE):
        for number in range(1, polls + 1):  # the first poll starts when the app mounts
            _ask_for_poll(app, number)
            if number not in (warm_up, polls) and app.poller.running:
                _ask_for_poll(app, number + 1)
            await watch.wait_for(number)
            if number == warm_up:
                gc.collect()
                rss_after_warm_up = me.memory_info().rss
            fake.forget_calls()
        gc.collect()
        growth = (me.memory_info().rss - rss_after_warm_up) / 1e6
    return {"soak_polls": app.snapshot.poll, "soak_rss_growth_mb": growth}


def _ask_for_poll(app: WreckitApp, number: int) -> None:
    """Make sure poll ``number`` runs or will: ask for it unless it started or is queued."""
    poller = app.poller
    if poller.started + poller._due < number:
        poller.now()


class _SoakWatch:
    """Judges every poll of a dashboard the moment it ends, and counts those ending in a bug.

    ``WreckitApp._poll`` records every exception as a failed poll: a :class:`WispError` also
    becomes ``app.last_error``, anything else (a bug) only ``state.error``. So a poll whose
    ``state.error`` came without a new ``WispError`` in ``last_error`` is a crash, and so is a
    poll that raised, or one that did not record itself exactly once.
    """

    SHOWN = 5
    """Distinct crash descriptions printed to stderr."""

    def __init__(self) -> None:
        self.app: WreckitApp | None = None
        self.judged = 0
        self.crashes = 0
        self.seen: set[str] = set()
        self._judged = asyncio.Event()

    def attach(self, app: WreckitApp) -> None:
        """Wrap the poll ``app``'s poller runs, from the first one on."""
        self.app = app
        poll = app.poller._poll

        async def judged_poll() -> None:
            before = app.last_error, app.snapshot.poll
            try:
                await poll()
            except Exception as exc:
                self._verdict(f"the poll raised {exc!r}")
                raise
            self._verdict(self.problem(*before))

        app.poller._poll = judged_poll

    async def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` polls were judged; a poll that takes ``timeout`` s is an error."""
        while self.judged < count:
            self._judged.clear()
            await asyncio.wait_for(self._judged.wait(), timeout)

    def problem(self, error_before: BaseException | None, polls_before: int) -> str | None:
        """What is wrong with the poll that just ended, given ``app.last_error`` and
        ``app.snapshot.poll`` before it; ``None`` for a success or a wisp failure."""
        app = self.app
        recorded = app.snapshot.poll - polls_before
        if recorded != 1:
            return f"the poll recorded {recorded} polls, not 1"
        if app.snapshot.error is None:
            return None
        error = app.last_error
        if error is error_before or not isinstance(error, WispError):
            return f"the poll failed with no wisp error: {app.snapshot.error}"
        return None

    def _verdict(self, problem: str | None) -> None:
        self.judged += 1
        self._judged.set()
        if problem is None:
            return
        self.crashes += 1
        if problem not in self.seen and len(self.seen) < self.SHOWN:
            self.seen.add(problem)
            print(f"soak: crash at poll {self.judged}: {problem}", file=sys.stderr)


# -- plumbing --------------------------------------------------------------------------------------


@contextmanager
def fake_wisp() -> Iterator[FakeWisp]:
    home = Path(tempfile.mkdtemp(prefix="wt-bench-wisp-"))
    fake = make_fake_wisp(home)
    try:
        yield fake
    finally:
        fake.kill_leftovers()
        shutil.rmtree(home, ignore_errors=True)
