"""A handle on one installed fake ``wisp``: its launcher, its state, the calls it received.

Shared by the tests and the benchmarks; needs nothing beyond the package's own dependencies.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

FAKE_WISP = Path(__file__).with_name("fake_wisp.py")


@dataclass
class FakeWisp:
    """A real fake-wisp executable in its own directory, with its state beside it."""

    home: Path

    @property
    def path(self) -> Path:
        return self.home / "wisp"

    def set_fleet(self, sprites: list | dict | str) -> None:
        text = sprites if isinstance(sprites, str) else json.dumps(sprites)
        (self.home / "fleet.json").write_text(text)

    def fleet(self) -> list:
        return json.loads((self.home / "fleet.json").read_text())

    def set_screen(self, name: str, text: str) -> None:
        """What ``capture NAME`` prints (``send`` adds to it)."""
        (self.home / "screens").mkdir(exist_ok=True)
        (self.home / "screens" / name).write_text(text)

    def screen(self, name: str) -> str:
        return (self.home / "screens" / name).read_text()

    def set_scenario(self, default: str = "ok", **per_command: object) -> None:
        """``default`` applies to every command not named in ``per_command``."""
        (self.home / "scenario.json").write_text(json.dumps({"*": default, **per_command}))

    def calls(self) -> list[list[str]]:
        """Every argv the fake received, in order (the program name left out)."""
        path = self.home / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()]

    def call_records(self) -> list[dict]:
        """Every call with how it was started: ``stdin`` and ``own_group`` besides ``argv``."""
        path = self.home / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def sigterms(self) -> int:
        """How many runs received SIGTERM."""
        path = self.home / "sigterms.txt"
        return len(path.read_text().split()) if path.exists() else 0

    def call_times(self, command: str) -> list[float]:
        """When each call of ``command`` (``list``, ``start``...) began."""
        path = self.home / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        calls = [json.loads(line) for line in lines]
        return [call["t"] for call in calls if call["argv"][:1] == [command]]

    def winches(self) -> int:
        """How many SIGWINCH the attach sessions received."""
        path = self.home / "winches.txt"
        return len(path.read_text().split()) if path.exists() else 0

    def forget_calls(self) -> None:
        (self.home / "calls.jsonl").unlink(missing_ok=True)

    def pids(self) -> list[int]:
        path = self.home / "pids.txt"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def alive_pids(self) -> list[int]:
        """Pids this fake started that still run (zombies count as gone)."""
        alive = []
        for pid in self.pids():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        return alive

    def kill_leftovers(self) -> None:
        for pid in self.alive_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


def make_fake_wisp(directory: Path) -> FakeWisp:
    """Install a launcher for the fake wisp into ``directory`` (run with this interpreter)."""
    directory.mkdir(parents=True, exist_ok=True)
    launcher = directory / "wisp"
    launcher.write_text(
        f"#!{sys.executable} -IS\n"
        "import os, sys\n"
        f"os.environ['FAKE_WISP_HOME'] = {str(directory)!r}\n"
        f"sys.path.insert(0, {str(FAKE_WISP.parent)!r})\n"
        "import fake_wisp\n"
        "sys.exit(fake_wisp.main(sys.argv[1:]))\n"
    )
    launcher.chmod(0o755)
    fake = FakeWisp(directory)
    fake.set_fleet([])
    return fake
