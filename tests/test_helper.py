"""A backend's long-lived helper: used for the read-only calls, and never trusted to work.

The helpers here are real programs that break the protocol on purpose; the backend itself is the
fake wisp, which the adapter runs whenever the helper cannot answer.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.fake_wisp_handle import FakeWisp
from tests.support.processes import command_line
from wreckit_tui.adapter import Wisp
from wreckit_tui.backends import Backend
from wreckit_tui.errors import WispBadOutput, WispTimeout
from wreckit_tui.helper import MAX_FAILURES

HELPERS = {
    "hang": "import sys, time\nfor line in sys.stdin:\n    time.sleep(600)\n",
    "garbage": "import sys\nfor line in sys.stdin:\n    print('this is no answer', flush=True)\n",
    "exits": "import sys\nsys.stdin.readline()\n",
    "huge": (
        "import sys\nfor line in sys.stdin:\n"
        "    sys.stdout.buffer.write(b'0 999999999 0\\n'); sys.stdout.flush()\n"
    ),
    "echo": (
        "import json, sys\nfor line in sys.stdin:\n"
        "    out = json.dumps([{'name': 'from-helper', 'state': 'running'}]).encode()\n"
        "    sys.stdout.buffer.write(b'0 %d 0\\n' % len(out) + out); sys.stdout.flush()\n"
    ),
}


def wisp_with_helper(fake: FakeWisp, tmp_path: Path, kind: str, **settings: float) -> Wisp:
    script = tmp_path / f"helper-{kind}.py"
    script.write_text(HELPERS[kind])
    backend = Backend(
        argv=(str(fake.path),), label="fake", helper_argv=(sys.executable, str(script))
    )
    wisp = Wisp(backend=backend, list_timeout=settings.get("timeout", 5), kill_grace=0.2)
    wisp.keep_helper()
    return wisp


def helper_processes(script: str) -> list[psutil.Process]:
    me = psutil.Process()
    return [p for p in me.children(recursive=True) if script in " ".join(command_line(p))]


async def test_lists_come_from_the_helper_while_it_answers(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "from-wisp", "state": "running"}])
    wisp = wisp_with_helper(fake_wisp, tmp_path, "echo")
    try:
        for _ in range(3):
            assert (await wisp.list()).names() == {"from-helper"}
        assert wisp.helper is not None and wisp.helper.started == 1
        assert fake_wisp.calls() == []  # no new interpreter per list
    finally:
        wisp.close()
    assert helper_processes("helper-echo.py") == []


@pytest.mark.parametrize("kind", ["garbage", "exits"])
async def test_a_broken_helper_falls_back_to_the_program_then_is_given_up(
    fake_wisp, tmp_path, kind
):
    fake_wisp.set_fleet([{"name": "from-wisp", "state": "running"}])
    wisp = wisp_with_helper(fake_wisp, tmp_path, kind)
    try:
        for _ in range(MAX_FAILURES + 2):
            assert (await wisp.list()).names() == {"from-wisp"}
        assert wisp.helper is not None and wisp.helper.started == MAX_FAILURES
    finally:
        wisp.close()
    assert helper_processes(f"helper-{kind}.py") == []


async def test_a_hung_helper_times_out_like_the_call_and_is_ended(fake_wisp, tmp_path):
    wisp = wisp_with_helper(fake_wisp, tmp_path, "hang", timeout=0.5)
    began = time.monotonic()
    with pytest.raises(WispTimeout):
        await wisp.list()
    assert time.monotonic() - began < 3
    assert helper_processes("helper-hang.py") == []
    wisp.close()


async def test_an_answer_over_the_output_cap_is_refused(fake_wisp, tmp_path):
    wisp = wisp_with_helper(fake_wisp, tmp_path, "huge")
    with pytest.raises(WispBadOutput, match="printed more than"):
        await wisp.list()
    assert helper_processes("helper-huge.py") == []
    wisp.close()


async def test_without_keep_helper_every_call_runs_the_program(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "from-wisp", "state": "running"}])
    script = tmp_path / "helper-echo.py"
    script.write_text(HELPERS["echo"])
    helper = (sys.executable, str(script))
    backend = Backend(argv=(str(fake_wisp.path),), label="fake", helper_argv=helper)
    wisp = Wisp(backend=backend)
    assert (await wisp.list()).names() == {"from-wisp"}
    assert wisp.helper is None
