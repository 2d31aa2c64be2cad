#!/usr/bin/env python3
"""A fake ``wisp`` for tests and benchmarks: a real program that speaks the wisp CLI contract.

State lives in a home directory: ``$FAKE_WISP_HOME``, else the directory of the program that was
run (``argv[0]``), so a test can drop a launcher next to its own state.

- ``fleet.json``     the sprites ``list --json`` prints, raw (any JSON the test wants)
- ``scenario.json``  ``{"*": "ok", "list": "hang", ...}``: the behaviour of each command
- ``calls.jsonl``    one line per run: argv, pid, start time, what stdin is, own process group
- ``pids.txt``       every pid this fake started (itself and any grandchild), one per line
- ``sigterms.txt``   the pid of each run that received SIGTERM

- ``winches.txt``     one line per SIGWINCH an attach session received

Scenarios: ok, wrapped, hang, hang-ignore-term, hang-orphan (a grandchild ignoring SIGTERM with
no pipe), grandchild, garbage, truncated, empty, fail, fail-quiet (exit 3, nothing on stderr),
huge, slow (``slow_seconds`` in scenario.json), badbytes, vanish (kill: the sprite disappears and
the kill fails), ansi (stderr with escape sequences on failure), duplicate and wrong-type (list:
every sprite twice, or ``cpus`` spoiled), warnings (list: ``warning_sprites`` sprites, default
2,000, each with every field of the wrong type), multitude (list: ``multitude_sprites``
sprites, default 200,000, in about 15 MB), daemon (any command: first a daemon leaves the
call's session with ``setsid`` and starts a child of its own, both sleeping for ten minutes),
unknown (the command does not exist, as in an older wisp), linger (start: makes the sprite,
then hangs ignoring SIGTERM), finish-on-term (start: waits, and finishes when SIGTERM comes),
random (any of these, per call); for
attach also fail-fast, ignore-hup and flood (see ``cmd_attach``).

Contract v1.1: ``capabilities --json`` announces every optional command and field
(``"announce": [...]`` in scenario.json announces those instead; ``capabilities: "unknown"``
makes it a v1-only wisp, whose v1.1 commands do not exist either). ``start NAME`` alone starts a
stopped sprite again, keeping all its fields; ``start NAME ... -- CMD...`` records CMD as the
sprite's ``command``; ``exit N`` in its attach session then ends that program (``stopped``,
``exit_code`` N). ``exec NAME -- CMD...`` runs CMD here, in the home's ``exec/`` directory,
with this program's stdin (125 when the sprite is not running, 127/126 as a shell would).
``capture NAME [--lines N] [--ansi]`` prints ``screens/NAME`` (colour sequences only with
``--ansi``); ``send NAME [--enter] -- TEXT`` appends TEXT (and a newline with ``--enter``) to
that screen, so what was typed shows. Tests write a sprite's screen with ``set_screen``.

It starts quickly (the soak of ``bench/`` runs it thousands of times): what only some commands
need is imported where they need it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

HOME = os.environ.get("FAKE_WISP_HOME") or os.path.dirname(os.path.abspath(sys.argv[0]))
VERSION = "0.3.1"


def at_home(name: str) -> str:
    return os.path.join(HOME, name)


def main(argv: list[str]) -> int:
    record_call(argv)
    command = "version" if argv[:1] == ["--version"] else (argv[0] if argv else "")
    scenario = load_scenario()
    behaviour = scenario.get(command, scenario.get("*", "ok"))
    if behaviour == "random":
        import random

        behaviour = random.choice(RANDOM_BEHAVIOURS)
    special = run_fault(behaviour, command, scenario)
    if special is not None:
        return special
    handler = COMMANDS.get(command)
    if handler is None:
        print(f"wisp: unknown command {command!r}", file=sys.stderr)
        return 2
    return handler(argv[1:], behaviour)


# -- state --------------------------------------------------------------------------------------


def record_call(argv: list[str]) -> None:
    """Note the call, how it was started (stdin, process group) and any SIGTERM it gets."""
    call = {
        "argv": argv,
        "pid": os.getpid(),
        "t": time.time(),
        "stdin": os.path.realpath("/proc/self/fd/0"),
        "own_group": os.getpgid(0) == os.getpid(),
    }
    with open(at_home("calls.jsonl"), "a") as calls:
        calls.write(json.dumps(call) + "\n")
    record_pid(os.getpid())
    signal.signal(signal.SIGTERM, note_sigterm)


def note_sigterm(signum: int, _frame: object) -> None:
    """Record a SIGTERM, then die of it as a program without a handler would."""
    with open(at_home("sigterms.txt"), "a") as notes:
        notes.write(f"{os.getpid()}\n")
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def record_pid(pid: int) -> None:
    with open(at_home("pids.txt"), "a") as pids:
        pids.write(f"{pid}\n")


def load_scenario() -> dict:
    try:
        with open(at_home("scenario.json")) as scenario:
            return json.load(scenario)
    except FileNotFoundError:
        return {}


@contextlib.contextmanager
def locked_fleet(write: bool = False):
    """The raw fleet under an exclusive lock; yields a list the caller may change."""
    import fcntl

    with open(at_home("fleet.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = raw_fleet_text()
        try:
            fleet = json.loads(text)
        except ValueError:
            fleet = text  # a test stored raw text on purpose
        yield fleet
        if write:
            with open(at_home("fleet.tmp"), "w") as tmp:
                tmp.write(json.dumps(fleet))
            os.replace(at_home("fleet.tmp"), at_home("fleet.json"))


def raw_fleet_text() -> str:
    try:
        with open(at_home("fleet.json")) as fleet:
            return fleet.read()
    except FileNotFoundError:
        return "[]"


# -- faults -------------------------------------------------------------------------------------


def run_fault(behaviour: str, command: str, scenario: dict) -> int | None:
    """Act out a fault scenario; ``None`` means: behave normally."""
    if behaviour == "slow":
        time.sleep(float(scenario.get("slow_seconds", 1.5)))
        return None
    if behaviour == "daemon":
        start_daemon()
        return None
    fault = FAULTS.get(behaviour)
    return fault(command) if fault else None


def hang(_command: str) -> int:
    time.sleep(3600)
    return 0


def hang_ignoring_sigterm(command: str) -> int:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return hang(command)


def hang_leaving_a_stubborn_grandchild(command: str) -> int:
    """Hang (SIGTERM ends us) beside a grandchild that ignores SIGTERM and holds no pipe."""
    spawn_grandchild(hold_pipes=False)
    return hang(command)


def start_daemon() -> None:
    """Fork a daemon that leaves our session and process group (``setsid``), lets go of our
    pipes and starts a child of its own; both sleep ten minutes. Returns once both recorded
    their pids."""
    ready_read, ready_write = os.pipe()
    if os.fork() == 0:
        os.close(ready_read)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        record_pid(os.getpid())
        if os.fork() == 0:
            record_pid(os.getpid())
            os.close(ready_write)
            time.sleep(600)
            os._exit(0)
        os.close(ready_write)
        time.sleep(600)
        os._exit(0)
    os.close(ready_write)
    while os.read(ready_read, 1):  # both have closed their end once their pids are written
        pass
    os.close(ready_read)


def fail(command: str) -> int:
    sys.stderr.write(
        f"wisp: running {command}\n\nerror: sprites API unreachable (connection refused)\n\n"
    )
    return 3


def fail_quietly(_command: str) -> int:
    return 3


def unknown_command(command: str) -> int:
    print(f"wisp: unknown command {command!r}", file=sys.stderr)
    return 2


def fail_with_escapes(_command: str) -> int:
    sys.stderr.write("error: \x1b[31mred alert\x1b[0m [bold]not markup[/bold]\x07\n")
    return 1


def print_garbage(_command: str) -> int:
    sys.stdout.write("this is not JSON <<>> \x1b[2J\n")
    return 0


def print_nothing(_command: str) -> int:
    return 0


def write_forever(_command: str = "") -> int:
    chunk = ('{"name": "x", "state": "running", "url": "' + "a" * 4000 + '"},').encode()
    try:
        sys.stdout.buffer.write(b"[")
        for _ in range(100_000):  # ~400 MB at most, should nobody stop reading
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.write(b"{}]")
        sys.stdout.flush()
    except BrokenPipeError:
        return 1
    return 0


def spawn_grandchild(*, hold_pipes: bool = True) -> None:
    """A grandchild that ignores SIGTERM, like a careless daemon; by default it keeps our stdout
    and stderr open. A fork, not a new program: it starts in a millisecond."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not hold_pipes:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
        time.sleep(600)
        os._exit(0)
    record_pid(pid)


# -- commands -----------------------------------------------------------------------------------


def cmd_version(_args: list[str], _behaviour: str) -> int:
    print(f"wisp version {VERSION} (fake)")
    return 0


def cmd_list(args: list[str], behaviour: str) -> int:
    if args != ["--json"]:
        print("wisp: list needs --json here", file=sys.stderr)
        return 2
    text = raw_fleet_text()
    if behaviour == "wrapped":
        text = '{"sprites": ' + text + ', "count": 1}'
    elif behaviour == "truncated":
        text = text[: max(len(text) // 2, 1)]
    elif behaviour == "duplicate":
        text = json.dumps(json.loads(text) * 2)
    elif behaviour == "wrong-type":
        text = json.dumps([{**sprite, "cpus": "lots"} for sprite in json.loads(text)])
    elif behaviour == "warnings":
        count = int(load_scenario().get("warning_sprites", 2000))
        text = json.dumps([{"name": f"w{index}", **SPOILED} for index in range(count)])
    elif behaviour == "multitude":
        text = multitude(int(load_scenario().get("multitude_sprites", MULTITUDE)))
    elif behaviour == "badbytes":
        sys.stdout.buffer.write(b'[{"name": "bad-\xff\xfe-bytes", "state": "running"}]\n')
        return 0
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    if behaviour == "grandchild":
        spawn_grandchild()
    return 0


MULTITUDE = 200_000


def multitude(count: int) -> str:
    """``count`` small sprites as compact JSON: 200,000 of them in about 15 MB."""
    sprite = '{"name": "m%06d", "state": "running", "cpus": 1, "memory": "512MiB"}'
    return "[" + ", ".join(sprite % index for index in range(count)) + "]"


V11_COMMANDS = ["exec", "capture", "send", "resume", "start-command"]
V11_FIELDS = ["command", "exit_code", "activity_at", "title"]


def cmd_capabilities(args: list[str], _behaviour: str) -> int:
    if args != ["--json"]:
        print("wisp: capabilities needs --json here", file=sys.stderr)
        return 2
    commands = load_scenario().get("announce", V11_COMMANDS)
    print(json.dumps({"contract": "1.1", "commands": commands, "fields": V11_FIELDS}))
    return 0


def v1_only() -> bool:
    return load_scenario().get("capabilities") == "unknown"


def sprite_named(name: str) -> dict | None:
    with locked_fleet() as fleet:
        return next((sprite for sprite in fleet if sprite.get("name") == name), None)


def cmd_exec(args: list[str], _behaviour: str) -> int:
    """Run CMD here (a fake runs nothing anywhere else), with the caller's stdin."""
    if v1_only():
        return unknown_command("exec")
    name, command = args[0], args[args.index("--") + 1 :] if "--" in args else []
    sprite = sprite_named(name)
    if sprite is None or sprite.get("state") != "running" or not command:
        print(f"error: cannot exec in {name}: not running", file=sys.stderr)
        return 125
    workdir = at_home("exec")
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        print(f"error: {command[0]}: command not found", file=sys.stderr)
        return 127
    except OSError as exc:
        print(f"error: {command[0]}: {exc.strerror}", file=sys.stderr)
        return 126


def screen_path(name: str) -> str:
    os.makedirs(at_home("screens"), exist_ok=True)
    return os.path.join(at_home("screens"), name)


def cmd_capture(args: list[str], _behaviour: str) -> int:
    if v1_only():
        return unknown_command("capture")
    name = args[0]
    if sprite_named(name) is None:
        print(f"error: no sprite named {name}", file=sys.stderr)
        return 1
    try:
        with open(screen_path(name)) as screen:
            text = screen.read()
    except FileNotFoundError:
        text = ""
    if "--ansi" not in args:
        import re

        text = re.sub(r"\x1b\[[0-9;:]*m", "", text)
    lines = text.splitlines()
    if "--lines" in args:
        lines = lines[-int(option(args, "--lines")) :]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def cmd_send(args: list[str], _behaviour: str) -> int:
    if v1_only():
        return unknown_command("send")
    name = args[0]
    sprite = sprite_named(name)
    if sprite is None or sprite.get("state") != "running":
        print(f"error: cannot send to {name}: not running", file=sys.stderr)
        return 1
    text = " ".join(args[args.index("--") + 1 :]) if "--" in args else ""
    with open(screen_path(name), "a") as screen:
        screen.write(text + ("\n" if "--enter" in args else ""))
    return 0


def resume(name: str) -> int:
    """``start NAME`` of a stopped sprite: running again, everything else kept."""
    with locked_fleet(write=True) as fleet:
        found = [sprite for sprite in fleet if sprite.get("name") == name]
        if not found:
            print(f"error: no sprite named {name}", file=sys.stderr)
            return 1
        if found[0].get("state") != "stopped":
            print(f"error: sprite {name} is not stopped", file=sys.stderr)
            return 1
        found[0]["state"] = "running"
        found[0].pop("exit_code", None)  # its program runs again
    return 0


def cmd_start(args: list[str], behaviour: str) -> int:
    if behaviour == "finish-on-term":  # takes its time, until asked to stop: then it is done
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.sigtimedwait([signal.SIGTERM], 60)
    if len(args) == 1:
        return resume(args[0])
    command = args[args.index("--") + 1 :] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    name, memory, cpus = args[0], option(args, "--memory"), option(args, "--cpus")
    with locked_fleet(write=True) as fleet:
        if any(sprite.get("name") == name for sprite in fleet):
            print(f"error: sprite {name} already exists", file=sys.stderr)
            return 1
        sprite = {
            "name": name,
            "id": f"spr_{name}",
            "state": "running",
            "memory": memory,
            "cpus": int(cpus),
            "cpu_percent": 0,
            "memory_used": "0MiB",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "url": f"https://{name}.sprites.test",
        }
        if command:
            import shlex

            sprite["command"] = shlex.join(command)
        fleet.append(sprite)
    if behaviour == "linger":  # the sprite is there, but the start never says so
        hang_ignoring_sigterm("start")
    print(json.dumps(sprite))
    return 0


def cmd_kill(args: list[str], behaviour: str) -> int:
    name = args[0]
    with locked_fleet(write=True) as fleet:
        found = [sprite for sprite in fleet if sprite.get("name") == name]
        for sprite in found:
            fleet.remove(sprite)
    if not found or behaviour == "vanish":
        print(f"error: no sprite named {name}", file=sys.stderr)
        return 1
    return 0


def cmd_attach(args: list[str], behaviour: str) -> int:
    """An interactive session on the terminal it was given, like a shell in the sprite.

    Prints ``connected to NAME`` and a ``NAME$ `` prompt, then runs one command a line:
    ``exit [N]`` (for a sprite started with a program: the program ends with N); ``stty ARGS``
    (the real stty on this terminal); ``env VAR``; ``keys`` (says
    when it is in raw mode, then prints the bytes of each read as hex until a ``q``); ``lines N``
    (prints ``line 1`` to ``line N``); ``clear``; ``nap S`` (reads nothing for S seconds, then
    prints ``awake``); ``title TEXT`` (sets the terminal's title);
    anything else comes back as ``NAME> LINE``. Ctrl+C prints ``interrupted`` and a new prompt;
    each SIGWINCH is noted in ``winches.txt``.

    Scenarios: ``fail-fast`` prints a few lines and exits 7 at once; ``ignore-hup`` ignores
    SIGHUP and SIGTERM and never ends by itself; ``flood`` writes ``flood_bytes`` bytes
    (scenario.json) and exits 0.
    """
    name = args[0]
    with locked_fleet() as fleet:
        if not any(sprite.get("name") == name for sprite in fleet):
            print(f"error: no sprite named {name}", file=sys.stderr)
            return 1
    if behaviour == "fail-fast":
        return attach_fails_fast(name)
    if behaviour == "flood":
        return flood(int(load_scenario().get("flood_bytes", 8 << 20)))
    if behaviour == "ignore-hup":
        for signum in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    return attach_session(name, stubborn=behaviour == "ignore-hup")


def attach_session(name: str, *, stubborn: bool) -> int:
    prompt = f"{name}$ ".encode()

    def on_interrupt(_signum: int, _frame: object) -> None:
        os.write(1, b"\ninterrupted\n" + prompt)

    def on_resize(_signum: int, _frame: object) -> None:
        with open(at_home("winches.txt"), "a") as winches:
            winches.write(f"{os.getpid()}\n")

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGWINCH, on_resize)
    os.write(1, f"connected to {name}\n".encode() + prompt)
    while True:
        try:
            line = os.read(0, 4096).decode(errors="replace")
        except OSError:
            line = ""
        if not line:  # the terminal hung up
            if stubborn:
                time.sleep(3600)
            return 0
        words = line.split()
        if words[:1] == ["exit"]:
            status = int(words[1]) if len(words) > 1 else 0
            program_ended(name, status)
            return status
        attach_command(name, words, line.strip())
        os.write(1, prompt)


def program_ended(name: str, status: int) -> None:
    """A sprite started with a program: ``exit N`` in its terminal ends it, as ``stopped`` with
    ``exit_code`` N (its screen stays); a shell sprite stays running."""
    with locked_fleet(write=True) as fleet:
        for sprite in fleet:
            if sprite.get("name") == name and sprite.get("command"):
                sprite.update(state="stopped", exit_code=status)


def attach_command(name: str, words: list[str], line: str) -> None:
    if words[:1] == ["stty"]:
        import subprocess

        subprocess.run(["stty", *words[1:]], check=False)
    elif words[:1] == ["env"] and len(words) == 2:
        os.write(1, f"{words[1]}={os.environ.get(words[1], '(unset)')}\n".encode())
    elif words == ["keys"]:
        show_keys()
    elif words[:1] == ["lines"] and len(words) == 2:
        os.write(1, "".join(f"line {number}\n" for number in range(1, int(words[1]) + 1)).encode())
    elif words == ["clear"]:
        os.write(1, b"\x1b[H\x1b[2J")
    elif words[:1] == ["nap"] and len(words) == 2:  # reads nothing for a while
        time.sleep(float(words[1]))
        os.write(1, b"awake\n")
    elif words[:1] == ["title"]:
        os.write(1, f"\x1b]2;{line.removeprefix('title').strip()}\x07".encode())
    elif line:
        os.write(1, f"{name}> {line}\n".encode())


def show_keys() -> None:
    """Raw mode: print every read as hex until one holds ``q``."""
    import termios
    import tty

    saved = termios.tcgetattr(0)
    tty.setraw(0)
    os.write(1, b"keys: raw mode, q ends\r\n")
    try:
        while True:
            data = os.read(0, 1024)
            os.write(1, f"keys {data.hex(' ')}\r\n".encode())
            if not data or b"q" in data:
                return
    finally:
        termios.tcsetattr(0, termios.TCSANOW, saved)


def attach_fails_fast(name: str) -> int:
    os.write(1, f"connecting to {name} ...\n".encode())
    os.write(1, b"\x1b[31merror:\x1b[0m sprite is not answering\n")
    os.write(1, f"hint: wisp kill {name}, then start it again\n".encode())
    return 7


def flood(size: int) -> int:
    line = b"x" * 79 + b"\n"
    block = line * (65536 // len(line))
    sent = 0
    while sent < size:
        sent += os.write(1, block[: size - sent])
    return 0


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


FAULTS = {
    "hang": hang,
    "hang-ignore-term": hang_ignoring_sigterm,
    "hang-orphan": hang_leaving_a_stubborn_grandchild,
    "fail": fail,
    "fail-quiet": fail_quietly,
    "unknown": unknown_command,
    "ansi": fail_with_escapes,
    "garbage": print_garbage,
    "empty": print_nothing,
    "huge": write_forever,
}

RANDOM_BEHAVIOURS = (
    "ok", "wrapped", "hang", "hang-ignore-term", "hang-orphan", "grandchild", "garbage",
    "truncated", "empty", "fail", "fail-quiet", "ansi", "huge", "slow", "badbytes", "duplicate",
    "wrong-type", "warnings", "daemon",
)  # fmt: skip

SPOILED = {
    "id": 1, "state": 2, "status": 3, "pid": "x", "address": 4, "created_at": 5,
    "uptime_seconds": "x", "url": 6, "cpus": "lots", "memory": "lots", "cpu_percent": "x",
    "memory_used": "x", "isolation": 7,
}  # fmt: skip
"""Every field of a sprite with a value of the wrong type: a warning each."""

COMMANDS = {
    "version": cmd_version,
    "capabilities": cmd_capabilities,
    "list": cmd_list,
    "start": cmd_start,
    "kill": cmd_kill,
    "attach": cmd_attach,
    "exec": cmd_exec,
    "capture": cmd_capture,
    "send": cmd_send,
}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
