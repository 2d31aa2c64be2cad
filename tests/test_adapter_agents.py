"""The adapter's v1.1 commands for agents (``exec``, ``capture``, ``send``, ``start -- CMD``)
against the real fake wisp: each asks the capabilities first, and a v1-only backend gets
:class:`NotSupported` with nothing run."""

from __future__ import annotations

import asyncio
import time

import pytest

from wreckit_tui.adapter import ExecResult, Wisp
from wreckit_tui.backends import Backend
from wreckit_tui.errors import InvalidRequest, NotSupported, SpriteNotFound, WispFailed, WispTimeout

RUNNING = {"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}


def client(fake, **options) -> Wisp:
    backend = Backend(argv=(str(fake.path),), label=f"wisp {fake.path}")
    return Wisp(backend, timeout=10, list_timeout=5, kill_grace=1, **options)


def run(coroutine):
    return asyncio.run(coroutine)


async def exec_in(wisp: Wisp, argv: list[str], **options) -> ExecResult:
    return await wisp.exec("alpha", argv, max_output=options.pop("max_output", 1024), **options)


def test_exec_passes_stdin_and_returns_status_and_both_outputs(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    script = "import sys; d = sys.stdin.read(); print(d.upper()); print('e', file=sys.stderr)"
    done = run(exec_in(client(fake_wisp), ["python3", "-c", script + "; sys.exit(3)"], stdin=b"hi"))
    assert done == ExecResult(3, b"HI\n", "e\n", False, False)
    assert fake_wisp.calls()[-1] == [
        "exec",
        "alpha",
        "--",
        "python3",
        "-c",
        script + "; sys.exit(3)",
    ]


def test_exec_cuts_each_output_at_the_cap_and_says_so(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    script = "import sys; sys.stdout.write('o' * 100000); sys.stderr.write('e' * 5)"
    done = run(exec_in(client(fake_wisp), ["python3", "-c", script], max_output=10))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"o" * 10, "eeeee")
    assert (done.stdout_truncated, done.stderr_truncated) == (True, False)


def test_a_hanging_exec_is_timed_out_and_its_process_group_killed(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    script = "import os, time; open('child', 'w').write(str(os.getpid())); time.sleep(60)"
    began = time.monotonic()
    with pytest.raises(WispTimeout, match=r"timed out after 0\.5s"):
        run(exec_in(client(fake_wisp), ["python3", "-c", script], timeout=0.5))
    assert time.monotonic() - began < 5
    assert fake_wisp.alive_pids() == []


def test_the_backends_own_failures_are_errors(fake_wisp):
    fake_wisp.set_fleet([{**RUNNING, "state": "stopped"}])
    with pytest.raises(WispFailed, match="exit code 125: error: cannot exec in alpha"):
        run(exec_in(client(fake_wisp), ["true"]))
    with pytest.raises(SpriteNotFound):
        run(client(fake_wisp).exec("ghost", ["true"], max_output=10))


def test_capture_sanitizes_and_keeps_colour_only_when_asked(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_screen("alpha", "one\n\x1b[31mred\x1b[0m\x1b]2;title\x07 \x1b[2Jdone\n")
    wisp = client(fake_wisp)
    assert run(wisp.capture("alpha")) == "one\nred done\n"
    assert run(wisp.capture("alpha", lines=1, ansi=True)) == "\x1b[31mred\x1b[0m done\n"
    assert fake_wisp.calls()[-1] == ["capture", "alpha", "--lines", "1", "--ansi"]


def test_send_types_text_then_capture_shows_it(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    wisp = client(fake_wisp)

    async def scenario() -> str:
        await wisp.send("alpha", "--not-an-option", enter=True)
        return await wisp.capture("alpha")

    assert run(scenario()) == "--not-an-option\n"
    assert fake_wisp.calls()[-2] == ["send", "alpha", "--enter", "--", "--not-an-option"]


def test_start_with_a_command_puts_it_after_a_double_dash(fake_wisp):
    run(client(fake_wisp).start("alpha", "512MiB", 1, max_vms=5, command=["claude", "-p", "x"]))
    assert fake_wisp.fleet()[0]["command"] == "claude -p x"
    assert fake_wisp.calls()[-1][-4:] == ["--", "claude", "-p", "x"]


@pytest.mark.parametrize(
    ("command", "call"),
    [
        ("exec", lambda wisp: wisp.exec("alpha", ["true"], max_output=10)),
        ("capture", lambda wisp: wisp.capture("alpha")),
        ("send", lambda wisp: wisp.send("alpha", "hi")),
        ("start with a command", lambda wisp: wisp.start("b", "1GiB", 1, max_vms=5, command=["x"])),
    ],
)
@pytest.mark.parametrize("v1_only", [True, False])
def test_without_the_capability_nothing_runs(fake_wisp, command, call, v1_only):
    fake_wisp.set_fleet([RUNNING])
    if v1_only:
        fake_wisp.set_scenario(capabilities="unknown")
    else:
        fake_wisp.set_scenario(announce=["resume"])
    wisp = client(fake_wisp)
    with pytest.raises(NotSupported) as caught:
        run(call(wisp))
    assert caught.value.exit_code == 6
    assert caught.value.message.startswith(
        f"{command} is not supported by this backend (wisp {fake_wisp.path})"
    )
    assert fake_wisp.calls() == [["capabilities", "--json"]]


def test_a_capabilities_call_that_timed_out_is_asked_again_next_time(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(capabilities="hang")
    wisp = Wisp(Backend(argv=(str(fake_wisp.path),), label="wisp"), timeout=10, list_timeout=0.3)

    async def scenario() -> ExecResult:
        with pytest.raises(NotSupported):
            await exec_in(wisp, ["true"])
        fake_wisp.set_scenario()
        return await exec_in(wisp, ["true"])

    assert run(scenario()).returncode == 0
    assert [call[0] for call in fake_wisp.calls()] == ["capabilities", "capabilities", "exec"]


def test_capabilities_are_asked_once_for_every_command(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    wisp = client(fake_wisp)

    async def scenario() -> None:
        await wisp.send("alpha", "a")
        await wisp.capture("alpha")
        await wisp.exec("alpha", ["true"], max_output=10)

    run(scenario())
    assert [call[0] for call in fake_wisp.calls()] == ["capabilities", "send", "capture", "exec"]


@pytest.mark.parametrize(
    "call",
    [
        lambda wisp: wisp.exec("Bad", ["true"], max_output=10),
        lambda wisp: wisp.exec("alpha", [], max_output=10),
        lambda wisp: wisp.capture("alpha", lines=0),
        lambda wisp: wisp.send("alpha", "a\0b"),
        lambda wisp: wisp.start("b", "lots", 1, max_vms=5, command=["x"]),
    ],
)
def test_invalid_requests_run_nothing(fake_wisp, call):
    with pytest.raises(InvalidRequest):
        run(call(client(fake_wisp)))
    assert fake_wisp.calls() == []
