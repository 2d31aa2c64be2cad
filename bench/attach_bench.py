"""Attach speed: time to the sprite's prompt, detach time, and passthrough throughput.

Run ``python bench/attach_bench.py`` from the repository root; :func:`run` returns the numbers.
The sprite is ``tests/support/fake_wisp.py`` on a real pty; the user's terminal is another real pty.

- ``attach_ms``: from calling :func:`wreckit_tui.attach.attach` to the first prompt byte of the
  child on the user's terminal (it includes starting the fake wisp, a Python program).
- ``detach_ms``: from typing the detach key to :func:`attach` returning.
- ``passthrough_mb_s``: a child writes ``flood_mb`` MiB to its pty, copied by :func:`attach` to
  ``/dev/null``; ``direct_pty_mb_s``: the same child read by a minimal loop straight from the
  pty master into ``/dev/null``. Both subtract their own time for a child that writes nothing.
  With ``--record`` (``run(record=True)``) every attach is also recorded (``record_dir``), so
  the cost of recording shows as the difference to a run without.

Every figure is the median over ``repeat`` runs.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.attach_pty import Terminal  # noqa: E402
from wreckit_tui.adapter import Wisp  # noqa: E402
from wreckit_tui.attach import attach  # noqa: E402
from wreckit_tui.backends import Backend  # noqa: E402
from wreckit_tui.detach_key import detach_byte  # noqa: E402

FAKE_WISP = REPO / "tests" / "support" / "fake_wisp.py"
NAME = "bench"
MIB = 1 << 20


def run(repeat: int = 15, flood_mb: int = 16, *, record: bool = False) -> dict[str, float]:
    """Medians over ``repeat`` runs of each measurement, in ms and MB/s (MB = 10**6 bytes);
    with ``record``, every attach is recorded too."""
    saved_home = os.environ.get("FAKE_WISP_HOME")
    try:
        with tempfile.TemporaryDirectory(prefix="attach-bench-") as home:
            fake = _FakeWisp(Path(home))
            if record:
                fake.options["record_dir"] = str(Path(home) / "casts")
            latencies = [_attach_and_detach(fake) for _ in range(repeat)]
            passthrough, direct = _throughput(fake, repeat, flood_mb * MIB)
    finally:
        if saved_home is None:
            os.environ.pop("FAKE_WISP_HOME", None)
        else:
            os.environ["FAKE_WISP_HOME"] = saved_home
    return {
        "attach_ms": statistics.median(a for a, _ in latencies),
        "detach_ms": statistics.median(d for _, d in latencies),
        "passthrough_mb_s": passthrough,
        "direct_pty_mb_s": direct,
    }


class _FakeWisp:
    """The fake wisp run by path, with its state in ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        (home / "fleet.json").write_text(json.dumps([{"name": NAME, "state": "running"}]))
        os.environ["FAKE_WISP_HOME"] = str(home)
        self.wisp = Wisp(Backend(argv=(sys.executable, "-I", str(FAKE_WISP)), label="fake"))
        self.options: dict[str, str] = {}
        """Keyword arguments of every :func:`attach` (``record_dir``)."""

    def scenario(self, behaviour: str, flood_bytes: int = 0) -> None:
        scenario = {"*": "ok", "attach": behaviour, "flood_bytes": flood_bytes}
        (self.home / "scenario.json").write_text(json.dumps(scenario))


def _attach_and_detach(fake: _FakeWisp) -> tuple[float, float]:
    """One attach: (ms to the prompt, ms from the detach key to the return)."""
    fake.scenario("ok")
    terminal = Terminal()
    marks: dict[str, float] = {}

    def user() -> None:
        terminal.expect(f"{NAME}$ ")
        marks["prompt"] = time.perf_counter()
        marks["key"] = time.perf_counter()
        terminal.type(detach_byte("ctrl+]"))

    thread = threading.Thread(target=user)
    try:
        thread.start()
        start = time.perf_counter()
        outcome = attach(
            fake.wisp, NAME, stdin_fd=terminal.slave, stdout_fd=terminal.slave, **fake.options
        )
        back = time.perf_counter()
        thread.join()
    finally:
        terminal.close()
    if outcome.error or not outcome.detached:
        raise RuntimeError(f"attach did not detach: {outcome}")
    return (marks["prompt"] - start) * 1000, (back - marks["key"]) * 1000


def _throughput(fake: _FakeWisp, repeat: int, size: int) -> tuple[float, float]:
    """Median MB/s through :func:`attach` and through a direct loop.

    The two run in turns, so that a machine busy with something else slows both alike; each
    takes off its own median time for a child that writes nothing (start-up and clean-up).
    """
    terminal = Terminal()
    sink = os.open(os.devnull, os.O_WRONLY)

    def passthrough() -> None:
        outcome = attach(fake.wisp, NAME, stdin_fd=terminal.slave, stdout_fd=sink, **fake.options)
        if outcome.error or outcome.status != 0:
            raise RuntimeError(f"flood through attach failed: {outcome}")

    def direct() -> None:
        _direct_copy(fake.wisp, sink)

    copies = {"passthrough": passthrough, "direct": direct}
    times: dict[tuple[str, int], list[float]] = {}
    try:
        for _ in range(repeat):
            for flood_bytes, label in itertools.product((0, size), copies):
                fake.scenario("flood", flood_bytes)
                start = time.perf_counter()
                copies[label]()
                times.setdefault((label, flood_bytes), []).append(time.perf_counter() - start)
    finally:
        os.close(sink)
        terminal.close()

    def rate(label: str) -> float:
        base = statistics.median(times[label, 0])
        return statistics.median(size / max(t - base, 1e-9) / 1e6 for t in times[label, size])

    return rate("passthrough"), rate("direct")


def _direct_copy(wisp: Wisp, sink: int) -> None:
    """The baseline: read the child's pty until it ends, write each chunk to ``sink``."""
    child = wisp.spawn_attach(NAME, (24, 80))
    try:
        while True:
            try:
                data = os.read(child.master_fd, 1 << 16)
            except OSError:
                break
            if not data:
                break
            os.write(sink, data)
    finally:
        os.close(child.master_fd)
        child.process.wait()


def main() -> None:
    results = run(record="--record" in sys.argv[1:])
    for key, value in results.items():
        print(f"{key:>18}: {value:8.1f}")
    ratio = results["passthrough_mb_s"] / results["direct_pty_mb_s"]
    print(f"{'passthrough/direct':>18}: {ratio:8.0%}")


if __name__ == "__main__":
    main()
