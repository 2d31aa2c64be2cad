"""The wisp adapter against a real fake-wisp process, in every fault scenario."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.waiting import wait_until, wait_until_async
from wreckit_tui.adapter import Wisp
from wreckit_tui.backends import Backend, builtin_backend, resolve_backend
from wreckit_tui.errors import (
    InvalidRequest,
    SpriteNotFound,
    WispBadOutput,
    WispFailed,
    WispNotFound,
    WispTimeout,
)

RUNNING = {"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}


def client(fake, **limits) -> Wisp:
    settings = {"timeout": 10, "list_timeout": 5, "kill_grace": 0.5, **limits}
    return Wisp(Backend(argv=(str(fake.path),), label="fake"), **settings)


def run(coro):
    return asyncio.run(coro)


def wait_until_none_alive(fake, timeout: float = 1.0) -> None:
    """Assert that every process the fake started is gone within ``timeout`` seconds: one that
    was sent SIGKILL may take the kernel a moment to end."""
    wait_until(lambda: not fake.alive_pids(), timeout, what="every process of the fake to end")


def test_list_returns_the_fleet(fake_wisp):
    fake_wisp.set_fleet([RUNNING, {"name": "bravo", "status": "cold"}])
    fleet = run(client(fake_wisp).list())
    assert [(s.name, s.state) for s in fleet.sprites] == [
        ("alpha", "running"),
        ("bravo", "stopped"),
    ]
    assert fake_wisp.calls() == [["list", "--json"]]
    assert fake_wisp.alive_pids() == []


def test_wrapped_list(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(list="wrapped")
    assert run(client(fake_wisp).list()).sprites[0].name == "alpha"


def test_version_is_parsed(fake_wisp):
    assert run(client(fake_wisp).version()) == "0.3.1"
    assert fake_wisp.calls() == [["--version"]]


def test_missing_binary_says_which_path_and_what_to_do(tmp_path):
    missing = tmp_path / "no-such-wisp"
    wisp = Wisp(Backend(argv=(str(missing),), label="x"))
    with pytest.raises(WispNotFound) as caught:
        run(wisp.list())
    assert str(missing) in caught.value.message
    assert "wisp_path" in caught.value.message
    assert caught.value.exit_code == 3


def test_not_executable(fake_wisp):
    fake_wisp.path.chmod(0o644)
    with pytest.raises(WispNotFound, match="not executable"):
        run(client(fake_wisp).list())
    assert fake_wisp.calls() == []


def test_unset_wisp_path_falls_back_to_wisp_on_path(tmp_path, monkeypatch, fake_wisp):
    monkeypatch.setenv("PATH", str(fake_wisp.home))
    assert resolve_backend(None).argv == (str(fake_wisp.path),)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve_backend("wisp").argv == ("wisp",)


def test_a_hang_that_obeys_sigterm_ends_at_the_timeout(fake_wisp):
    fake_wisp.set_scenario(list="hang")
    started = time.monotonic()
    with pytest.raises(WispTimeout) as caught:
        run(client(fake_wisp, list_timeout=0.5, kill_grace=2.0).list())
    assert 0.5 <= time.monotonic() - started < 0.5 + 1.0  # SIGTERM did it; no wait for grace
    assert fake_wisp.sigterms() == 1
    assert "`wisp list --json` timed out after 0.5s" in caught.value.message
    assert fake_wisp.alive_pids() == []


def test_a_hang_that_ignores_sigterm_gets_sigkill_after_the_grace(fake_wisp):
    fake_wisp.set_scenario(list="hang-ignore-term")
    started = time.monotonic()
    with pytest.raises(WispTimeout):
        run(client(fake_wisp, list_timeout=0.5, kill_grace=1.0).list())
    assert 0.5 + 1.0 <= time.monotonic() - started < 0.5 + 1.0 + 1.0
    assert fake_wisp.alive_pids() == []


def test_a_timeout_kills_a_grandchild_that_ignores_sigterm_and_holds_no_pipe(fake_wisp):
    fake_wisp.set_scenario(list="hang-orphan")
    with pytest.raises(WispTimeout):
        run(client(fake_wisp, list_timeout=0.5, kill_grace=0.5).list())
    assert len(fake_wisp.pids()) == 2  # the fake and its grandchild
    wait_until_none_alive(fake_wisp)  # SIGKILL was sent; let the kernel finish it


def test_wisp_runs_with_stdin_from_dev_null_in_its_own_process_group(fake_wisp):
    run(client(fake_wisp).list())
    (call,) = fake_wisp.call_records()
    assert call["stdin"] == "/dev/null"
    assert call["own_group"] is True


def test_grandchild_holding_stdout_does_not_hold_the_caller(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(list="grandchild")
    started = time.monotonic()
    fleet = run(client(fake_wisp, list_timeout=5).list())
    assert time.monotonic() - started < 2.0
    assert fleet.sprites[0].name == "alpha"
    assert len(fake_wisp.pids()) == 2  # the fake and its grandchild
    wait_until_none_alive(fake_wisp)  # SIGKILL was sent; let the kernel finish it


@pytest.mark.parametrize(
    ("scenario", "problem"),
    [
        ("garbage", "not valid JSON"),
        ("truncated", "not valid JSON"),
        ("empty", "empty output"),
    ],
)
def test_malformed_output(fake_wisp, scenario, problem):
    fake_wisp.set_fleet([RUNNING, {"name": "bravo"}])
    fake_wisp.set_scenario(list=scenario)
    with pytest.raises(WispBadOutput, match=problem):
        run(client(fake_wisp).list())
    assert fake_wisp.alive_pids() == []


def test_duplicate_names(fake_wisp):
    fake_wisp.set_fleet([RUNNING, RUNNING])
    with pytest.raises(WispBadOutput, match="two sprites are named 'alpha'"):
        run(client(fake_wisp).list())


def test_wrong_typed_field_keeps_the_list(fake_wisp):
    fake_wisp.set_fleet([{**RUNNING, "cpus": "lots"}, {"name": "bravo"}])
    fleet = run(client(fake_wisp).list())
    assert [s.name for s in fleet.sprites] == ["alpha", "bravo"]
    assert fleet.sprites[0].cpus is None
    assert "cpus" in fleet.warnings[0]


def test_non_zero_exit_gives_code_and_last_stderr_line(fake_wisp):
    fake_wisp.set_scenario(list="fail")
    with pytest.raises(WispFailed) as caught:
        run(client(fake_wisp).list())
    assert caught.value.returncode == 3
    assert caught.value.summary == "error: sprites API unreachable (connection refused)"
    assert "exit code 3: error: sprites API unreachable" in caught.value.message
    assert "wisp: running list" in caught.value.stderr


def test_a_failure_without_a_message_says_how_to_see_more(fake_wisp):
    fake_wisp.set_scenario(list="fail-quiet")
    with pytest.raises(WispFailed) as caught:
        run(client(fake_wisp).list())
    assert caught.value.message == (
        "`wisp list --json` failed with exit code 3 and printed no message: "
        f"run `{fake_wisp.path} list --json` in a shell to see what it does"
    )


def test_the_built_in_provider_is_named_as_itself_in_messages():
    backend = builtin_backend()
    assert backend.name == "wreckit-sandbox" and backend.local
    failed = WispFailed("wreckit-sandbox list --json", 1, "", backend.shell_command(["list"]))
    assert "run `wreckit-sandbox list` in a shell" in failed.message


def test_stderr_summary_loses_escape_sequences(fake_wisp):
    fake_wisp.set_scenario(list="ansi")
    with pytest.raises(WispFailed) as caught:
        run(client(fake_wisp).list())
    assert caught.value.summary == "error: red alert [bold]not markup[/bold]"
    assert "\x1b" not in caught.value.message


def test_huge_output_is_cut_at_the_cap(fake_wisp):
    fake_wisp.set_scenario(list="huge")
    started = time.monotonic()
    with pytest.raises(WispBadOutput, match="more than 1048576 bytes"):
        run(client(fake_wisp, max_output_bytes=1 << 20).list())
    assert time.monotonic() - started < 3
    assert fake_wisp.alive_pids() == []


def test_slow_wisp_within_timeout_succeeds(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(list="slow", slow_seconds=0.8)
    assert run(client(fake_wisp, list_timeout=3).list()).sprites[0].name == "alpha"


def test_non_utf8_bytes_are_replaced(fake_wisp):
    fake_wisp.set_scenario(list="badbytes")
    assert run(client(fake_wisp).list()).sprites[0].name == "bad-\ufffd\ufffd-bytes"


def test_cancelled_call_kills_its_process(fake_wisp):
    fake_wisp.set_scenario(list="hang-ignore-term")

    async def cancel_mid_poll():
        task = asyncio.ensure_future(client(fake_wisp, list_timeout=30).list())
        await wait_until_async(  # the fake runs and hangs
            None, fake_wisp.pids, timeout=5, interval=0.01, what="the fake to run"
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    run(cancel_mid_poll())
    assert time.monotonic() - started < 5
    assert fake_wisp.pids()
    assert fake_wisp.alive_pids() == []


def test_start_runs_the_contract_argv(fake_wisp):
    run(client(fake_wisp).start("charlie", "1GiB", 2, max_vms=5))
    assert fake_wisp.calls() == [
        ["list", "--json"],
        ["start", "charlie", "--memory", "1GiB", "--cpus", "2"],
    ]
    assert fake_wisp.fleet()[0]["name"] == "charlie"


@pytest.mark.parametrize(
    ("name", "memory", "cpus", "problem"),
    [
        ("Bad_Name", "512MiB", 1, "invalid name"),
        ("--help", "512MiB", 1, "invalid name"),
        ("ok", "512", 1, "invalid memory size"),
        ("ok", "512MiB", 99, "invalid cpus"),
    ],
)
def test_invalid_start_never_runs_wisp(fake_wisp, name, memory, cpus, problem):
    with pytest.raises(InvalidRequest, match=problem):
        run(client(fake_wisp).start(name, memory, cpus, max_vms=5))
    assert fake_wisp.calls() == []


def test_quota_counts_sprites_not_stopped_and_refuses_before_start(fake_wisp):
    fake_wisp.set_fleet(
        [
            {"name": "a", "state": "running"},
            {"name": "b", "state": "error"},
            {"name": "c", "state": "stopped"},
        ]
    )
    with pytest.raises(InvalidRequest, match="quota reached: 2 of max_vms 2"):
        run(client(fake_wisp).start("d", "512MiB", 1, max_vms=2))
    assert fake_wisp.calls() == [["list", "--json"]]
    run(client(fake_wisp).start("d", "512MiB", 1, max_vms=3))
    assert fake_wisp.calls()[-1][0] == "start"


def test_two_quick_starts_cannot_pass_the_quota_together(fake_wisp):
    fake_wisp.set_fleet([{"name": "a", "state": "running"}])
    fake_wisp.set_scenario(start="slow", slow_seconds=0.5)
    wisp = client(fake_wisp)

    async def both():
        return await asyncio.gather(
            wisp.start("b", "512MiB", 1, max_vms=2),
            wisp.start("c", "512MiB", 1, max_vms=2),
            return_exceptions=True,
        )

    results = run(both())
    assert sum(isinstance(r, InvalidRequest) for r in results) == 1
    assert len([call for call in fake_wisp.calls() if call[0] == "start"]) == 1


def test_start_of_a_taken_name_is_refused(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    with pytest.raises(InvalidRequest, match="already exists"):
        run(client(fake_wisp).start("alpha", "512MiB", 1, max_vms=5))
    assert [call[0] for call in fake_wisp.calls()] == ["list"]


def test_failed_start_reports_wisps_reason(fake_wisp):
    fake_wisp.set_scenario(start="fail")
    with pytest.raises(WispFailed, match="sprites API unreachable"):
        run(client(fake_wisp).start("new", "512MiB", 1, max_vms=5))


def test_kill(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    run(client(fake_wisp).kill("alpha"))
    assert fake_wisp.calls() == [["kill", "alpha"]]
    assert fake_wisp.fleet() == []


def test_kill_of_a_vanished_sprite_is_sprite_not_found_decided_by_listing(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(kill="vanish")
    with pytest.raises(SpriteNotFound) as caught:
        run(client(fake_wisp).kill("alpha"))
    assert caught.value.exit_code == 5
    assert fake_wisp.calls() == [["kill", "alpha"], ["list", "--json"]]


def test_kill_failing_while_the_sprite_is_still_there_is_a_failure(fake_wisp):
    fake_wisp.set_fleet([RUNNING])
    fake_wisp.set_scenario(kill="fail")
    with pytest.raises(WispFailed):
        run(client(fake_wisp).kill("alpha"))


def test_attach_argv(fake_wisp):
    assert client(fake_wisp).attach_argv("alpha") == [str(fake_wisp.path), "attach", "alpha"]
    with pytest.raises(InvalidRequest):
        client(fake_wisp).attach_argv("-x")


def test_the_same_list_output_is_the_same_fleet_unless_its_uptime_counts_from_now(fake_wisp):
    wisp = client(fake_wisp)

    async def lists() -> tuple:
        return await wisp.list(), await wisp.list()

    fake_wisp.set_fleet([RUNNING])
    first, again = run(lists())
    assert again is first  # byte for byte the same output: not parsed again
    fake_wisp.set_fleet([{**RUNNING, "cpu_percent": 5}])
    changed = run(wisp.list())
    assert changed is not first and changed.sprites[0].cpu_percent == 5
    fake_wisp.set_fleet([{**RUNNING, "created_at": "2026-01-01T00:00:00Z"}])
    first, again = run(lists())
    assert again is not first  # its uptime is counted to the moment of each list
    assert again.sprites[0].uptime_seconds > first.sprites[0].uptime_seconds
