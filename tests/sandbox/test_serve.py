"""The provider's private ``serve``: the read-only commands from one long-lived process, with
the answers of the provider itself; and the dashboard's adapter keeping one such helper."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.support.processes import command_line
from tests.support.waiting import wait_until
from wreckit_tui.adapter import Wisp
from wreckit_tui.backends import BUILTIN_CAPABILITIES, builtin_backend
from wreckit_tui.errors import SpriteNotFound

METRICS = ("cpu_percent", "memory_used", "activity_at")
"""Fields that may move between two lists."""


class Server:
    """``wreckit-sandbox serve`` as a real process, asked one line at a time."""

    def __init__(self, sandboxes) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wreckit_tui.sandbox", "serve"],
            env=sandboxes.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def ask(self, line: bytes) -> tuple[int, str, str]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()
        status, out, err = (int(field) for field in self.process.stdout.readline().split())
        stdout = self.process.stdout
        return status, stdout.read(out).decode(), stdout.read(err).decode()

    def call(self, *args: str) -> tuple[int, str, str]:
        return self.ask(json.dumps(args).encode())

    def close(self) -> int:
        assert self.process.stdin
        self.process.stdin.close()
        return self.process.wait(10)


def steady(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k not in METRICS} for record in records]


def test_serve_answers_as_the_provider_itself(sandboxes):
    sandboxes.start("alpha", "--", "sh", "-c", "echo served-text; exec sleep 600")
    sandboxes.start("beta")
    wait_until(lambda: "served-text" in sandboxes.run("capture", "alpha").stdout)
    server = Server(sandboxes)
    try:
        for args in (["capabilities", "--json"], ["--version"], ["capture", "alpha"],
                     ["capture", "nobody"], ["capture", "alpha", "--lines", "x"]):  # fmt: skip
            direct = sandboxes.run(*args)
            assert server.call(*args) == (direct.returncode, direct.stdout, direct.stderr), args
        status, out, err = server.call("list", "--json")
        assert (status, err) == (0, "")
        assert steady(json.loads(out)) == steady(sandboxes.list())
    finally:
        assert server.close() == 0


def test_serve_refuses_what_changes_anything_and_goes_on(sandboxes):
    server = Server(sandboxes)
    try:
        status, out, err = server.call("start", "gamma")
        assert (status, out) == (2, "")
        assert err.startswith("wreckit-sandbox: serve: not a command it answers")
        assert server.ask(b"not json")[0] == 2
        assert server.ask(b'{"args": 1}')[0] == 2
        assert server.call("list", "--json") == (0, "[]\n", "")
    finally:
        assert server.close() == 0
    assert sandboxes.list() == []


def helpers() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if command_line(child)[-2:] == ["wreckit_tui.sandbox", "serve"]
    ]


async def test_the_adapter_keeps_one_helper_and_replaces_one_that_died(
    sandboxes, monkeypatch: pytest.MonkeyPatch
):
    sandboxes.start("alpha")
    monkeypatch.setenv("WRECKIT_SANDBOX_HOME", str(sandboxes.path))
    wisp = Wisp(builtin_backend())
    wisp.keep_helper()
    try:
        for _ in range(3):
            assert (await wisp.list()).names() == {"alpha"}
        assert await wisp.capabilities() == BUILTIN_CAPABILITIES
        (helper,) = helpers()
        assert "alpha" in await wisp.capture("alpha")
        with pytest.raises(SpriteNotFound):
            await wisp.capture("nobody")
        os.kill(helper.pid, signal.SIGKILL)
        helper.wait(5)
        assert (await wisp.list()).names() == {"alpha"}
        assert wisp.helper is not None and wisp.helper.started == 2
    finally:
        wisp.close()
    assert helpers() == []


async def test_the_builtin_capabilities_are_what_the_provider_announces(sandboxes):
    announced = json.loads(sandboxes.run("capabilities", "--json").stdout)["commands"]
    assert frozenset(announced) == BUILTIN_CAPABILITIES


def imported_modules(argv: list[str], env: dict[str, str]) -> set[str]:
    """The modules ``argv`` (a ``python -m`` run) imports, from ``-X importtime``."""
    command = [sys.executable, "-X", "importtime", *argv]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    return set(lines)


def test_capture_and_exec_start_lean(sandboxes):
    """What makes ``capture`` take longer to import than to run stays out of it."""
    sandboxes.start("alpha")
    heavy = {"argparse", "dataclasses", "typing", "shutil", "tempfile", "json", "psutil"}
    capture = imported_modules(["-m", "wreckit_tui.sandbox", "capture", "alpha"], sandboxes.env)
    assert "wreckit_tui.sandbox.terminal" in capture
    assert capture & heavy == set()
    exec_ = imported_modules(["-m", "wreckit_tui.sandbox", "exec", "alpha", "--", "true"],
                             sandboxes.env)  # fmt: skip
    assert "wreckit_tui.sandbox.execute" in exec_
    assert "argparse" not in exec_
