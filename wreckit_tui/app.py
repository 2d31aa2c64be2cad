"""The Textual dashboard: polls the fleet in the background and never waits for the backend."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.screen import Screen

from wreckit_tui.adapter import Wisp
from wreckit_tui.attach import attach
from wreckit_tui.attach_outcome import AttachOutcome
from wreckit_tui.config import Config
from wreckit_tui.contract import size_to_mib
from wreckit_tui.driver import QuickSuspendDriver
from wreckit_tui.errors import SpriteNotFound, WispError, WispNotFound, WreckitError
from wreckit_tui.fleet_view import FleetState, FleetView, Host, view_of
from wreckit_tui.headless import describe_backend
from wreckit_tui.models import Fleet, Sprite, quota_problem
from wreckit_tui.poller import Poller
from wreckit_tui.screens.confirm import confirm_kill, confirm_resume
from wreckit_tui.screens.dashboard import DashboardScreen
from wreckit_tui.screens.error import ErrorScreen
from wreckit_tui.screens.help import HelpScreen
from wreckit_tui.screens.launch import LaunchRequest, LaunchScreen
from wreckit_tui.text import sanitize, sanitize_lines

ERROR_TOAST = {"severity": "error", "timeout": 15}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
HOLD_LIMIT = 1.0
"""Seconds at most that keys wait for a dialog that is opening to take them."""


class AttachFailed(WreckitError):
    """``wisp attach`` failed soon after it started; ``stderr`` holds the last lines it printed."""

    def __init__(self, message: str, lines: Iterable[str]) -> None:
        super().__init__(message)
        self.stderr = "\n".join(lines)


def attach_report(outcome: AttachOutcome) -> str:
    """The lines an attach printed last, then the problem, each line once: the problem often
    ends with the last of those lines."""
    problem = outcome.problem or ""
    lines = [line for line in outcome.tail if line not in problem]
    return "\n".join([*lines, problem])


def describe(error: BaseException) -> str:
    """What went wrong, in words for a person."""
    if isinstance(error, WreckitError):
        return error.message
    return f"unexpected error: {error!r}"


def styles_dir() -> Path:
    """``styles/`` inside the installed package, or at the top of a source checkout."""
    packaged = Path(__file__).parent / "styles"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "styles"


class SpriteCommands(Provider):
    """Command palette entries that jump to a sprite by name."""

    app: WreckitApp

    def _names(self) -> list[str]:
        return [sprite.name for sprite in self.app.state.fleet.sprites]

    async def discover(self) -> Hits:
        for name in self._names()[:50]:
            yield DiscoveryHit(Text(f"Sprite {sanitize(name)}"), partial(self.app.select, name))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._names():
            score = matcher.match(f"sprite {name}")
            if score > 0:
                display = Text(f"Sprite {sanitize(name)}")
                text = f"sprite {sanitize(name)}"
                yield Hit(score, display, partial(self.app.select, name), text=text)


class WreckitApp(App[int]):
    """The dashboard. ``clock`` and ``host`` are injectable for deterministic tests."""

    CSS_PATH = str(styles_dir() / "app.tcss")
    TITLE = "wreckit"
    COMMANDS = App.COMMANDS | {SpriteCommands}

    def __init__(
        self,
        config: Config,
        wisp: Wisp,
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
        self.state = FleetState(view=view_of(Fleet(), self.host, config.max_vms))
        self.backend_version: str | None = None
        self.poller = Poller(self, self._poll, config.poll_interval, automatic=autopoll)
        self.starting: dict[str, Sprite] = {}
        self.stopping: set[str] = set()
        self.last_error: WreckitError | None = None
        self._settle: dict[str, int] = {}
        """Names whose start or kill ended, with the polls started by then."""
        self._held: list[events.Key] | None = None
        """Keys typed while a dialog opens, for it once it has its focus; None: none held."""
        self._holds = 0

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, with a Linux driver that hands over the terminal at once."""
        driver_class = super().get_driver_class()
        return QuickSuspendDriver if driver_class is LinuxDriver else driver_class

    def get_default_screen(self) -> Screen:
        return DashboardScreen(self.config.detach_key)

    # -- keys typed while a dialog opens ------------------------------------------------------

    def push_screen(self, screen: Screen | str, *args: Any, **kwargs: Any) -> Any:
        """Open a screen; keys typed from now until it has its focus wait for it.

        Textual sends a key to whatever has the focus when it reads the key: without this, keys
        typed right after the one that opens a dialog would reach the dashboard underneath.
        """
        self._held = self._held if self._held is not None else []
        self._holds += 1
        result = super().push_screen(screen, *args, **kwargs)
        hold = self._holds
        self.screen.call_later(self.call_later, self._release_keys, hold)
        self.set_timer(HOLD_LIMIT, partial(self._release_keys, hold))
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self._held is not None:
            self._held.append(event)
            return
        await super().on_event(event)

    async def _release_keys(self, hold: int) -> None:
        """Deliver the held keys, in order, now that the newest dialog can take them."""
        if hold != self._holds or self._held is None:
            return
        held, self._held = self._held, None
        for event in held:
            await self.on_event(event)  # one may open another dialog, which holds the rest

    @property
    def dashboard(self) -> DashboardScreen:
        return self.screen_stack[0]

    def on_mount(self) -> None:
        self._exit_on_signals()
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        else:
            self.say(f"unknown theme {self.config.theme!r}", severity="warning")
        self.run_worker(self._fetch_version(), group="version", exit_on_error=False)

    def say(self, message: str, **options: object) -> None:
        """A notification; its text (often from wisp) is shown literally, line by line."""
        self.notify(sanitize_lines(message), markup=False, **options)

    def _exit_on_signals(self) -> None:
        """SIGTERM or SIGHUP end the app like q does, so the terminal is always restored."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, partial(self.exit, return_code=128 + signum))

    def on_unmount(self) -> None:
        if not self.is_headless:
            for signum in STOP_SIGNALS:
                asyncio.get_running_loop().remove_signal_handler(signum)

    def backend_description(self) -> str:
        version = self.backend_version or ""
        return describe_backend(self.wisp.backend.label, version, self.state.view.isolations)

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
        self.dashboard.show_status()

    # -- polling ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        """One poll: list, build the view off the UI thread, apply it to the screen."""
        number = self.poller.started
        try:
            fleet = await self.wisp.list()
            view = await asyncio.to_thread(self._prepare, fleet)
        except WispError as exc:
            self.last_error = exc
            self.state.failed(exc.message)
        except Exception as exc:  # the dashboard outlives any bug in a poll
            self.state.failed(describe(exc))
        else:
            if view.warning_note:  # said once; the header keeps the count
                self.say(view.warning_note, title="warning", severity="warning", timeout=8)
            self.state.succeeded(view, self.clock())
            self._settle_pending(number)
            if isinstance(self.screen, LaunchScreen):
                self.screen.update_taken(self.taken_names())
        self.dashboard.show_state(self.state)

    def _prepare(self, fleet: Fleet) -> FleetView:
        """Off the UI thread: record the history and build everything the screen shows."""
        self.state.history.record(fleet)
        return view_of(fleet, self.host, self.config.max_vms, previous=self.state.view)

    # -- launch and kill --------------------------------------------------------------------

    def in_use(self) -> int:
        """Sprites counting against the quota: not stopped, plus starts not yet listed."""
        unlisted = self.starting.keys() - self.state.by_name.keys()
        return self.state.fleet.active_count + len(unlisted)

    def action_launch(self) -> None:
        """Open the launch form, unless the quota is reached."""
        if self.screen is not self.dashboard:
            return
        problem = quota_problem(self.in_use(), self.config.max_vms)
        if problem:
            self.say(problem, severity="warning", timeout=8)
            return
        host = self.host if self.wisp.backend.local else None
        form = LaunchScreen(
            self.taken_names(), self.config.default_memory, self.config.default_cpus, host
        )
        self.push_screen(form, callback=self._launch)

    def taken_names(self) -> set[str]:
        return set(self.state.by_name) | set(self.starting)

    def _launch(self, request: LaunchRequest | None) -> None:
        if request is None:
            return
        self.starting[request.name] = Sprite(
            name=request.name,
            state="starting",
            cpus=request.cpus,
            memory_mib=size_to_mib(request.memory),
        )
        self.dashboard.show_state(self.state)
        self.run_worker(self._start(request), group="start", exit_on_error=False)

    async def _start(self, request: LaunchRequest) -> None:
        name = request.name
        try:
            await self.wisp.start(name, request.memory, request.cpus, max_vms=self.config.max_vms)
        except WreckitError as exc:
            self.last_error = exc
            self.starting.pop(name, None)
            self.say(f"could not launch {name}: {exc.message}", **ERROR_TOAST)
            self.dashboard.show_state(self.state)
        else:
            self._settle[name] = self.poller.started
            self.say(f"launched {name}", timeout=4)
        self.poller.now()

    def action_kill(self) -> None:
        """Ask, then kill the marked sprites, or the one under the cursor."""
        if self.screen is not self.dashboard:
            return
        names = self.dashboard.kill_targets()
        starting = [name for name in names if name not in self.state.by_name]
        if starting:
            self.say(f"still starting: {', '.join(starting)}", severity="warning")
        names = [name for name in names if name in self.state.by_name]
        if names:
            self.push_screen(confirm_kill(names), callback=partial(self._kill, names))

    def _kill(self, names: list[str], confirmed: bool | None) -> None:
        if not confirmed:
            return
        self.stopping.update(names)
        self.dashboard.show_state(self.state)
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
                self.last_error = result if isinstance(result, WreckitError) else self.last_error
                self.stopping.discard(name)
                self.say(f"could not kill {name}: {describe(result)}", **ERROR_TOAST)
        if done:
            self.say(f"killed {', '.join(done)}", timeout=4)
        if gone:
            self.say(f"already gone: {', '.join(gone)}", severity="warning")
        self._settle.update(dict.fromkeys(done + gone, self.poller.started))
        self.dashboard.unmark(names)
        self.dashboard.show_state(self.state)
        self.poller.now()

    def _settle_pending(self, poll: int) -> None:
        """Drop the placeholders of starts and kills that ended before poll number ``poll``
        began: that poll shows their outcome."""
        for name, polls_by_then in list(self._settle.items()):
            if polls_by_then < poll:
                self.starting.pop(name, None)
                self.stopping.discard(name)
                del self._settle[name]

    # -- attach ------------------------------------------------------------------------------

    def action_open(self) -> None:
        """Attach to the selected sprite; one that is stopped is offered a start again."""
        if self.screen is not self.dashboard:
            return
        name = self.dashboard.table.selected_key
        sprite = self.state.by_name.get(name) if name else None
        if name is not None and sprite is None:
            self.say(f"{name} is not running yet", severity="warning")
        elif sprite is not None and sprite.state == "stopped" and name not in self.stopping:
            self.push_screen(confirm_resume(name), callback=partial(self._resume, name))
        elif name is not None:
            self.action_attach()

    def _resume(self, name: str, confirmed: bool | None) -> None:
        if not confirmed:
            return
        self.starting[name] = self.state.by_name[name].model_copy(update={"state": "starting"})
        self.dashboard.show_state(self.state)
        self.run_worker(self._resume_now(name), group="start", exit_on_error=False)

    async def _resume_now(self, name: str) -> None:
        try:
            await self.wisp.resume(name, max_vms=self.config.max_vms)
        except WreckitError as exc:
            self.last_error = exc
            self.starting.pop(name, None)
            self.say(f"could not start {name} again: {exc.message}", **ERROR_TOAST)
            self.dashboard.show_state(self.state)
        else:
            self._settle[name] = self.poller.started
            self.say(f"started {name} again", timeout=4)
        self.poller.now()

    def action_attach(self) -> None:
        """Hand the terminal to ``wisp attach`` for the selected sprite, then come back."""
        name = self.dashboard.table.selected_key
        if name is None:
            return
        if name not in self.state.by_name:
            self.say(f"{name} is not running yet", severity="warning")
            return
        self.poller.pause()
        try:
            outcome = self._attached(name)
        finally:
            self.poller.resume(now=True)
        if outcome is not None:
            self._report_attach(outcome)

    def _attached(self, name: str) -> AttachOutcome | None:
        """Run the passthrough inside ``suspend``; None where the terminal cannot be lent."""
        try:
            with self.suspend():
                return attach(self.wisp, name, detach_key=self.config.detach_key)
        except SuspendNotSupported:
            self.say(
                f"attach needs a real terminal: run `wreckit-tui attach {name}` from a shell",
                severity="warning",
                timeout=8,
            )
            return None

    def _report_attach(self, outcome: AttachOutcome) -> None:
        if outcome.stop_signal is not None:
            self.exit(return_code=128 + outcome.stop_signal)
        elif outcome.problem:
            self.last_error = outcome.error or AttachFailed(outcome.problem, outcome.tail)
            self.say(attach_report(outcome), title=f"attach {outcome.name}", **ERROR_TOAST)

    # -- actions ---------------------------------------------------------------------------

    def action_last_error(self) -> None:
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

    def select(self, name: str) -> None:
        self.dashboard.select(name)

    def action_help(self) -> None:
        if self.screen is self.dashboard:
            self.push_screen(HelpScreen(self._all_bindings(), self.dashboard.detach_key))

    def _all_bindings(self) -> list[Binding]:
        """The dashboard's bindings the help screen lists, in its order."""
        bindings = self.dashboard._bindings.key_to_bindings
        return [bindings[key][0] for key in DashboardScreen.LISTED_KEYS]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        dashboard = self.dashboard
        yield SystemCommand("Refresh", "Poll the backend now", self.poller.now)
        yield SystemCommand("Filter", "Filter sprites by name", dashboard.action_filter)
        yield SystemCommand("Sort", "Sort by the next column", dashboard.action_cycle_sort)
        yield SystemCommand("Reverse sort", "Reverse the sort order", dashboard.action_reverse_sort)
        yield SystemCommand("Launch", "Launch a new sprite", self.action_launch)
        yield SystemCommand(
            "Mark", "Mark or unmark the selected sprite", dashboard.action_toggle_mark
        )
        yield SystemCommand("Kill", "Kill the marked sprites or the selected one", self.action_kill)
        yield SystemCommand(
            "Attach",
            f"Attach this terminal to the selected sprite; {dashboard.detach_key} detaches",
            self.action_open,
        )
        yield SystemCommand(
            "Details", "Show or hide the detail pane", dashboard.action_toggle_detail
        )
        yield SystemCommand("Last error", "Show the last error in full", self.action_last_error)
        yield SystemCommand("Help", "Show every key binding", self.action_help)


def run_dashboard(config: Config, wisp: Wisp) -> int:
    """Run the dashboard until the user quits; returns the exit code."""
    app = WreckitApp(config, wisp)
    app.run()
    return app.return_code or 0
