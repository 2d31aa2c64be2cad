"""The Textual app: owns the backend, polling and the operations in flight.

It hands the dashboard screen one immutable snapshot per change and acts on the screen's
requests (launch, kill, attach, refresh); it never waits for the backend on the UI thread.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import SystemCommand
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import Screen

from wreckit_tui.app_attach import ERROR_TOAST, AttachingApp
from wreckit_tui.app_fleets import CARRIED, FleetsApp
from wreckit_tui.app_links import LinksApp
from wreckit_tui.attach_outcome import AttachFailed
from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.capacity import Host
from wreckit_tui.config import Config
from wreckit_tui.contract import size_to_mib
from wreckit_tui.driver import QuickSuspendDriver
from wreckit_tui.errors import SpriteNotFound, WispError, WispNotFound, WreckitError, describe
from wreckit_tui.headless import describe_backend
from wreckit_tui.models import Fleet, Sprite, quota_problem
from wreckit_tui.notify import notification
from wreckit_tui.operations import Operations
from wreckit_tui.poller import Poller
from wreckit_tui.screens.confirm import confirm_kill, confirm_resume
from wreckit_tui.screens.dashboard import DashboardScreen
from wreckit_tui.screens.error import ErrorScreen
from wreckit_tui.screens.launch import LaunchRequest, LaunchScreen
from wreckit_tui.screens.palette import dashboard_commands
from wreckit_tui.screens.requests import (
    KillRequested,
    LastErrorRequested,
    LaunchRequested,
    OpenRequested,
    RefreshRequested,
    Request,
)
from wreckit_tui.text import sanitize_lines
from wreckit_tui.textual_private import write_to_terminal
from wreckit_tui.view import FleetView, Snapshot, same_poll, view_again, view_of
from wreckit_tui.watching import Seen, Watch, rules_of, watch_fleet

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
SAID_KEPT = 100


def styles_dir() -> Path:
    """``styles/`` inside the installed package, or at the top of a source checkout."""
    packaged = Path(__file__).parent / "styles"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "styles"


class WreckitApp(AttachingApp, LinksApp, FleetsApp):
    """The dashboard. It owns the backend, polling and the operations in flight, and hands
    the dashboard screen one immutable :class:`Snapshot` per change; the screen's requests
    come back as messages. ``clock`` and ``host`` are injectable for deterministic tests."""

    CSS_PATH = str(styles_dir() / "app.tcss")
    TITLE = "wreckit"
    HOLDING_MESSAGES = (Request,)

    def __init__(
        self,
        config: Config,
        wisp: SpriteManager,
        *,
        clock: Callable[[], float] = time.time,
        host: Host | None = None,
        autopoll: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        self.wisp = wisp
        self.clock = clock
        self.host = host or Host.detect()
        self.backend_version: str | None = None
        self.poller = Poller(self, self._poll, config.poll_interval, automatic=autopoll)
        self.previewer = self.make_previewer()
        self.operations = Operations()
        self.watch = Watch(rules_of(config.activity.overrides()))
        self.snapshot = Snapshot(view=view_of(Fleet(), self.host, self.max_vms, self.first_view()))
        self.last_error: WreckitError | None = None
        self._back_from: str | None = None
        """The sprite just detached from: the next poll does not announce it."""
        self.said: deque[Notification] = deque(maxlen=SAID_KEPT)
        """The latest notifications, oldest first."""
        self._polled: tuple[Fleet, dict[str, Seen]] | None = None
        """What the last good poll listed and told, which its view shows."""

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, with a Linux driver that hands over the terminal at once."""
        driver_class = super().get_driver_class()
        return QuickSuspendDriver if driver_class is LinuxDriver else driver_class

    def get_default_screen(self) -> Screen:
        return self.with_columns(DashboardScreen(self.config.detach_key, self.clock))

    @property
    def dashboard(self) -> DashboardScreen:
        return self.screen_stack[0]

    def on_mount(self) -> None:
        self._exit_on_signals()
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        else:
            self.say(f"unknown theme {self.config.theme!r}", severity="warning")
        self.go_live()
        self.poller.resume()  # the version is asked after the first poll: rows come first

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A notification; its text (often from wisp) is shown literally, line by line, and
        kept in :attr:`said`."""
        timeout = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        text = sanitize_lines(message)
        notification = Notification(text, title, severity, timeout, markup=False)
        self.said.append(notification)
        self.post_message(Notify(notification))

    def _exit_on_signals(self) -> None:
        """SIGTERM or SIGHUP end the app like q does, so the terminal is always restored."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, partial(self.exit, return_code=128 + signum))

    def on_unmount(self) -> None:
        self.wisp.close()  # the backend's helper, if one runs
        if not self.is_headless:
            for signum in STOP_SIGNALS:
                asyncio.get_running_loop().remove_signal_handler(signum)

    def backend_description(self, view: FleetView) -> str:
        version = self.backend_version or ""
        return describe_backend(self.wisp.backend.label, version, view.fleet.isolations)

    def _publish(self, **changes: Any) -> None:
        """Hand the dashboard a new snapshot: the current one with ``changes`` and the
        operations in flight as they are now."""
        old = self.snapshot
        view = changes.pop("view", old.view)
        fields = {key: getattr(old, key) for key in CARRIED} | changes
        backend = self.backend_description(view)
        self.snapshot = Snapshot.of(view, self.operations.pending, backend=backend, **fields)
        self.dashboard.snapshot = self.snapshot

    async def _fetch_version(self) -> None:
        """The backend's version, and beside it what it offers beyond contract v1."""
        await asyncio.gather(self._read_version(), self.wisp.capabilities())

    async def _read_version(self) -> None:
        try:
            self.backend_version = await self.wisp.version()
        except WispError as exc:
            self.backend_version = "version unknown"
            if not isinstance(exc, WispNotFound):  # the header says that one already
                self.last_error = exc
                self.say(f"could not read the backend version: {exc.message}", severity="warning")
        self._publish()

    # -- polling ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        """One poll: list, tell activity, build the view off the UI thread (from immutable data
        only), hand it down. A failed poll keeps the last good view and says why."""
        number = self.poller.started
        try:
            fleet = await self.wisp.list()
            now = self.clock()
            seen = await watch_fleet(self.wisp, self.watch, fleet, now, wait=False)
            previous, build = self.snapshot.view, partial(view_of, activity=seen, now=now)
            if self._polled is not None and same_poll(self._polled, (fleet, seen)):
                view = await asyncio.to_thread(view_again, previous)
            else:
                view = await asyncio.to_thread(build, fleet, self.host, self.max_vms, previous)
            self._polled = (fleet, seen)
        except WispError as exc:
            self.last_error = exc
            self._publish(error=exc.message, poll=number, stale=())
        except Exception as exc:  # the dashboard outlives any bug in a poll
            self._publish(error=describe(exc), poll=number)
        else:
            if view.warning_note:  # said once; the header keeps the count
                self.say(view.warning_note, title="warning", severity="warning", timeout=8)
            self.operations.settle(number)
            first = self.snapshot.last_ok is None
            self._publish(view=view, last_ok=self.clock(), poll=number, **self.poll_outcome())
            self._announce(() if first else previous.attention, view, quiet=first)
            if isinstance(self.screen, LaunchScreen):
                self.screen.update_taken(self.taken_names())
        finally:
            if number == 1:  # asked now, so that the first rows never wait for these calls
                self.run_worker(self._fetch_version, group="version", exit_on_error=False)

    def _announce(self, before: tuple[str, ...], view: FleetView, *, quiet: bool) -> None:
        """Ring (or notify) once for the sprites that started to need you at this poll; not
        at the first poll, and not for the sprite just come back from."""
        new = [name for name in view.attention if name not in before and name != self._back_from]
        self._back_from = None
        if quiet or not new or self.config.notify == "off":
            return
        if self.config.notify == "bell":
            self.bell()
            return
        body = ", ".join(f"{name} ({view.by_name[name].attention})" for name in new)
        write_to_terminal(self, notification("desktop", "wreckit: a sprite needs you", body))

    def on_refresh_requested(self, _request: RefreshRequested) -> None:
        self.poller.now()

    # -- launch and kill --------------------------------------------------------------------

    def taken_names(self) -> set[str]:
        return self.operations.taken(self.snapshot.fleet)

    def on_launch_requested(self, _request: LaunchRequested) -> None:
        """Open the launch form, unless the quota is reached."""
        if self.screen is not self.dashboard:
            return
        problem = quota_problem(self.operations.in_use(self.snapshot.fleet), self.max_vms)
        if problem:
            self.say(problem, severity="warning", timeout=8)
            return
        host = self.host if self.wisp.backend.local else None
        config = self.config
        form = LaunchScreen(
            self.taken_names(),
            config.default_memory,
            config.default_cpus,
            host,
            command=config.default_command,
            backends=self.backend_names(),
        )
        self.push_screen(form, callback=self._launch)

    def _launch(self, request: LaunchRequest | None) -> None:
        if request is None:
            return
        memory_mib = size_to_mib(request.memory)
        command = shlex.join(request.command) if request.command else None
        sprite = Sprite(
            name=request.sprite_name,
            backend=request.backend,
            state="starting",
            cpus=request.cpus,
            memory_mib=memory_mib,
            command=command,
        )
        self.operations.start(sprite)
        self._publish()
        self.run_worker(self._start(request), group="start", exit_on_error=False)

    async def _start(self, request: LaunchRequest) -> None:
        name = request.sprite_name
        # the program only when one was asked for: a shell is the start of contract v1
        program = {"command": request.command} if request.command else {}
        try:
            await self.wisp.start(
                name, request.memory, request.cpus, max_vms=self.config.max_vms, **program
            )
        except WreckitError as exc:
            self._failed(name, f"could not launch {name}", exc)
        else:
            self.operations.ended([name], self.poller.started)
            self.say(f"launched {name}", timeout=4)
        self.poller.now()

    def _failed(self, name: str, what: str, error: BaseException) -> None:
        """The start or kill of ``name`` failed: say so, and show it as listed again."""
        if isinstance(error, WreckitError):
            self.last_error = error
        self.operations.failed(name)
        self.say(f"{what}: {describe(error)}", **ERROR_TOAST)
        self._publish()

    def on_kill_requested(self, request: KillRequested) -> None:
        """Ask, then kill the named sprites that are listed."""
        if self.screen is not self.dashboard:
            return
        listed = self.snapshot.by_name
        starting = [name for name in request.names if name not in listed]
        if starting:
            self.say(f"still starting: {', '.join(starting)}", severity="warning")
        names = [name for name in request.names if name in listed]
        if names:
            self.push_screen(confirm_kill(names), callback=partial(self._kill, names))

    def _kill(self, names: list[str], confirmed: bool | None) -> None:
        if not confirmed:
            return
        self.operations.kill(names)
        self._publish()
        self.run_worker(self._kill_all(names), group="kill", exit_on_error=False)

    async def _kill_all(self, names: list[str]) -> None:
        """Kill concurrently and report each result; a vanished sprite is not a failure."""
        results = await asyncio.gather(*(self.wisp.kill(n) for n in names), return_exceptions=True)
        done, gone = [], []
        for name, result in zip(names, results, strict=True):
            if result is None:
                done.append(name)
            elif isinstance(result, SpriteNotFound):
                gone.append(name)
            else:
                self._failed(name, f"could not kill {name}", result)
        if done:
            self.say(f"killed {', '.join(done)}", timeout=4)
        if gone:
            self.say(f"already gone: {', '.join(gone)}", severity="warning")
        self.operations.ended(done + gone, self.poller.started)
        self.dashboard.unmark(names)
        self.poller.now()

    # -- attach ------------------------------------------------------------------------------

    def on_open_requested(self, request: OpenRequested) -> None:
        """Attach to the sprite; one that is stopped is offered a start again."""
        if self.screen is not self.dashboard:
            return
        name = request.name
        sprite = self.snapshot.by_name.get(name)
        if sprite is None:
            self.say(f"{name} is not running yet", severity="warning")
        elif sprite.state == "stopped" and name not in self.operations.pending.stopping:
            self.push_screen(confirm_resume(name), callback=partial(self._resume, name))
        else:
            self.attach(name)

    def _resume(self, name: str, confirmed: bool | None) -> None:
        if not confirmed:
            return
        self.operations.start(self.snapshot.by_name[name].model_copy(update={"state": "starting"}))
        self._publish()
        self.run_worker(self._resume_now(name), group="start", exit_on_error=False)

    async def _resume_now(self, name: str) -> None:
        try:
            await self.wisp.resume(name, max_vms=self.config.max_vms)
        except WreckitError as exc:
            self._failed(name, f"could not start {name} again", exc)
        else:
            self.operations.ended([name], self.poller.started)
            self.say(f"started {name} again", timeout=4)
        self.poller.now()

    # -- the rest ----------------------------------------------------------------------------

    def on_last_error_requested(self, _request: LastErrorRequested) -> None:
        """The last error in full, with what the backend printed about it."""
        if self.screen is not self.dashboard:
            return
        error = self.last_error
        if error is None:
            self.say("no error so far", timeout=3)
            return
        if isinstance(error, AttachFailed):
            title = f"what `{self.wisp.backend.name} attach` printed last"
        else:
            title = f"what {self.wisp.backend.name} wrote on stderr"
        self.push_screen(ErrorScreen(error.message, getattr(error, "stderr", ""), title))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from dashboard_commands(self.dashboard)


def run_dashboard(config: Config, wisp: SpriteManager) -> int:
    """Run the dashboard until the user quits; returns the exit code."""
    wisp.keep_helper()  # one long-lived process of the built-in provider, not one per poll
    app = WreckitApp(config, wisp)
    app.run()  # its unmount ends the helper
    return app.return_code or 0
