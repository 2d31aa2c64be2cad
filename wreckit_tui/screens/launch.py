"""The launch form: name, memory, cpus and the command to run, validated as you type."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from wreckit_tui.capacity import Host
from wreckit_tui.command_line import command_problem, split_command
from wreckit_tui.contract import cpus_problem, name_problem, size_problem, size_to_mib
from wreckit_tui.screens.dialog import Dialog
from wreckit_tui.text import format_mib, sanitize
from wreckit_tui.widgets.form_input import FormInput

TITLE = "Launch sprite"
HOST_FIELDS = ("memory", "cpus")
FIELDS = ("name", "memory", "cpus", "command")


@dataclass(frozen=True)
class LaunchRequest:
    """What to start: ``command`` is the sprite's program, ``None`` for a shell."""

    name: str
    memory: str
    cpus: int
    command: list[str] | None = None
    backend: str | None = None
    """With several backends: the one to start it on."""

    @property
    def sprite_name(self) -> str:
        """``BACKEND/NAME`` with several backends, else the name."""
        return f"{self.backend}/{self.name}" if self.backend else self.name


class Problem(Validator):
    """A validator around a function that returns what is wrong, or None."""

    def __init__(self, problem: Callable[[str], str | None]) -> None:
        super().__init__()
        self.problem = problem

    def validate(self, value: str) -> ValidationResult:
        problem = self.problem(value.strip())
        return self.failure(problem) if problem else self.success()


def suggest_name(taken: Collection[str]) -> str:
    """The first free ``sprite-N``, counting from the size of the fleet."""
    number = len(taken) + 1
    while f"sprite-{number}" in taken:
        number += 1
    return f"sprite-{number}"


def host_warning(host: Host | None, memory: str, cpus: str) -> str:
    """On a local backend: what of the request goes beyond this machine (it may still run)."""
    if host is None:
        return ""
    warnings = []
    if not cpus_problem(cpus) and int(cpus) > host.cores:
        warnings.append(f"{cpus} vCPUs share this machine's {host.cores} cores")
    if not size_problem(memory) and size_to_mib(memory) > host.memory_mib:
        warnings.append(f"{memory} is more than this machine's {format_mib(host.memory_mib)}")
    return "; ".join(warnings)


class LaunchScreen(Dialog[LaunchRequest | None]):
    """Enter submits when every field is valid; escape cancels; nothing runs until then.

    ``host``: the machine a local backend runs sprites on; a request beyond it gets a warning.
    ``command``: the command line the form starts with (empty: a shell). ``backends``: with
    several, a field chooses one (the first at the start); ``taken`` names are then
    ``BACKEND/NAME``.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False, priority=True)]

    def __init__(
        self,
        taken: Collection[str],
        memory: str,
        cpus: int,
        host: Host | None = None,
        *,
        command: str = "",
        backends: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.taken = set(taken)
        self.host = host
        self.backends = backends
        self.backend = backends[0] if backends else None
        """The backend chosen so far."""
        first = f"{backends[0]}/" if backends else ""
        names = {name.removeprefix(first) for name in self.taken if name.startswith(first)}
        self.defaults = (suggest_name(names), memory, str(cpus), command)

    def compose(self) -> ComposeResult:
        name, memory, cpus, command = self.defaults
        with Vertical(id="launch-box", classes="dialog"):
            yield Static(TITLE, classes="dialog-title")
            if self.backends:
                yield from self._field("backend", self.backends[0], Problem(self._no_backend))
            yield from self._field("name", name, Problem(self._name_problem))
            with Horizontal(id="launch-sizes"):
                with Vertical():
                    yield from self._field("memory", memory, Problem(size_problem))
                with Vertical():
                    yield from self._field("cpus", cpus, Problem(cpus_problem))
            yield from self._field(
                "command", command, Problem(command_problem), placeholder="empty: a shell"
            )
            yield Static(host_warning(self.host, memory, cpus), id="host-warning", markup=False)
            yield Static("enter launches · esc cancels", classes="dialog-hint")

    def _field(
        self, key: str, value: str, validator: Validator, placeholder: str = ""
    ) -> ComposeResult:
        yield Label(key, classes="field-label")
        yield FormInput(
            value,
            placeholder,
            id=key,
            validators=[validator],
            validate_on=["changed", "submitted"],
        )
        yield Static("", id=f"{key}-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#name", Input))

    def update_taken(self, taken: Collection[str]) -> None:
        """The names a fresh poll shows as taken; the name typed so far is checked again."""
        taken = set(taken)
        if taken != self.taken:
            self.taken = taken
            self._check(self.query_one("#name", Input))

    def _no_backend(self, backend: str) -> str | None:
        if backend in self.backends:
            return None
        return f"no backend named {sanitize(backend)!r}: {', '.join(self.backends)}"

    def _name_problem(self, name: str) -> str | None:
        backend = self.backend
        if (f"{backend}/{name}" if backend else name) in self.taken:
            return f"a sprite named {sanitize(name)!r} already exists"
        return name_problem(name)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_problem(event.input, event.validation_result)
        if event.input.id == "backend":  # the name may be free on one backend, not another
            self.backend = event.value.strip()
            self._check(self.query_one("#name", Input))
        memory, cpus = (
            self.query_one(f"#{key}", Input).value.strip() for key in ("memory", "cpus")
        )
        self.query_one("#host-warning", Static).update(host_warning(self.host, memory, cpus))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        invalid = [field for field in self.query(Input) if not self._check(field)]
        if invalid:
            invalid[0].focus()
            return
        name, memory, cpus, command = (
            self.query_one(f"#{key}", Input).value.strip() for key in FIELDS
        )
        request = LaunchRequest(name, memory, int(cpus), split_command(command), self.backend)
        self.dismiss(request)

    def _check(self, field: Input) -> bool:
        result = field.validate(field.value)
        self._show_problem(field, result)
        return result is None or result.is_valid

    def _show_problem(self, field: Input, result: ValidationResult | None) -> None:
        message = "" if result is None or result.is_valid else result.failure_descriptions[0]
        self.query_one(f"#{field.id}-error", Static).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)
