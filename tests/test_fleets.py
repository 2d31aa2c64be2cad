"""Several backends in one fleet (``[[backends]]``) from the command line: two real fake wisps,
one of them behind an argv prefix (a wrapper standing in for ``ssh``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp

SSH = '#!/bin/sh\n# stands in for ssh: HOST then the command, run here\nshift\nexec "$@"\n'


@dataclass
class Two:
    """Two fake wisps: ``one`` run directly, ``two`` through ``ssh gpu-box WISP``."""

    one: FakeWisp
    two: FakeWisp
    config: Path

    def write(self, extra: str = "", two: str = "") -> None:
        self.config.write_text(
            f'{extra}\n[[backends]]\nname = "one"\nkind = "wisp"\n'
            f'wisp_path = "{self.one.path}"\n'
            f'[[backends]]\nname = "two"\nkind = "wisp"\n'
            f'wisp_path = ["{self.config.parent / "ssh"}", "gpu-box", "{self.two.path}"]\n'
            f"{two}\n"
        )


@pytest.fixture
def two(tmp_path: Path, isolated_config: Path) -> Iterator[Two]:
    ssh = tmp_path / "ssh"
    ssh.write_text(SSH)
    ssh.chmod(0o755)
    pair = Two(make_fake_wisp(tmp_path / "one"), make_fake_wisp(tmp_path / "two"), isolated_config)
    pair.one.set_fleet([{"name": "alpha", "state": "running"}, {"name": "dup", "state": "running"}])
    pair.two.set_fleet([{"name": "beta", "state": "running"}, {"name": "dup", "state": "stopped"}])
    pair.write()
    yield pair
    pair.one.kill_leftovers()
    pair.two.kill_leftovers()


def rows(stdout: str) -> list[tuple[str, str]]:
    return [(s["backend"], s["name"]) for s in json.loads(stdout)]


def test_the_list_shows_every_backend_with_a_backend_column_and_field(two) -> None:
    listed = run_cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert rows(listed.stdout) == [
        ("one", "alpha"),
        ("one", "dup"),
        ("two", "beta"),
        ("two", "dup"),
    ]
    assert list(json.loads(listed.stdout)[0])[:2] == ["name", "backend"]
    table = run_cli("--headless")
    header = table.stdout.splitlines()[0].split()
    assert header[:4] == ["NAME", "┃", "BACKEND", "┃"]
    assert "backends one, two · 4 sprites, 3 running · VMs 3/10" in table.stdout
    # the second one really ran through its argv prefix
    assert ["list", "--json"] in two.two.calls()


def test_one_backend_hides_the_column_and_the_json_still_names_it(two) -> None:
    two.config.write_text(
        f'[[backends]]\nname = "solo"\nkind = "wisp"\nwisp_path = "{two.one.path}"\n'
    )
    table = run_cli("list")
    assert "BACKEND" not in table.stdout and "alpha" in table.stdout
    assert rows(run_cli("list", "--json").stdout) == [("solo", "alpha"), ("solo", "dup")]


def test_a_failed_backend_is_named_on_stderr_its_rows_absent_exit_4(two) -> None:
    two.two.set_scenario(list="fail")
    for argv in (["list", "--json"], ["--headless"]):
        result = run_cli(*argv)
        assert result.returncode == 4
        assert result.stderr.startswith("wreckit-tui: error: two: `wisp list --json` failed")
        assert len(result.stderr.splitlines()) == 1
        assert "alpha" in result.stdout and "beta" not in result.stdout


def test_a_hung_backend_times_out_alone(two) -> None:
    two.two.set_scenario(list="hang")
    result = run_cli("list", "--json", "--set", "list_timeout=1", "--set", "kill_grace=0")
    assert result.returncode == 4
    assert "two: `wisp list --json` timed out after 1s" in result.stderr
    assert rows(result.stdout) == [("one", "alpha"), ("one", "dup")]


def test_every_backend_failing_is_exit_4_naming_both(two) -> None:
    two.one.set_scenario(list="fail")
    two.two.set_scenario(list="garbage")
    result = run_cli("list")
    assert result.returncode == 4 and result.stdout == ""
    assert "one: " in result.stderr and "two: " in result.stderr


def test_a_bare_name_works_where_unique_and_is_refused_naming_both_where_not(two) -> None:
    refused = run_cli("kill", "dup")
    assert refused.returncode == 2
    assert "sprite 'dup' is on 2 backends (one/dup, two/dup)" in refused.stderr
    assert not any(call[:1] == ["kill"] for call in two.one.calls() + two.two.calls())
    killed = run_cli("kill", "beta", "--json")
    assert killed.returncode == 0, killed.stderr
    assert json.loads(killed.stdout) == {"name": "beta", "backend": "two", "killed": True}
    assert ["kill", "beta"] in two.two.calls()
    qualified = run_cli("kill", "one/dup")
    assert qualified.returncode == 0 and ["kill", "dup"] in two.one.calls()
    assert run_cli("kill", "nothing").returncode == 5
    unknown = run_cli("kill", "three/alpha")
    assert unknown.returncode == 2 and "no backend named 'three'" in unknown.stderr


def test_start_goes_to_the_first_backend_or_the_one_named(two) -> None:
    assert run_cli("start", "gamma").returncode == 0
    assert any(call[:2] == ["start", "gamma"] for call in two.one.calls())
    started = run_cli("start", "delta", "--backend", "two", "--json")
    assert started.returncode == 0, started.stderr
    sprite = json.loads(started.stdout)
    assert (sprite["name"], sprite["backend"], sprite["state"]) == ("delta", "two", "running")
    assert run_cli("start", "two/eps").returncode == 0
    assert any(call[:2] == ["start", "eps"] for call in two.two.calls())
    assert run_cli("start", "x", "--backend", "nowhere").returncode == 2


def test_the_quota_is_each_backends_own(two) -> None:
    two.write(extra="max_vms = 2", two="max_vms = 5")
    full = run_cli("start", "one/gamma")
    assert full.returncode == 2
    assert full.stderr == (
        "wreckit-tui: error: one: quota reached: 2 of max_vms 2 sprites are not stopped; "
        "kill one or raise max_vms\n"
    )
    assert run_cli("start", "two/gamma").returncode == 0


def test_bad_backends_are_one_line_and_exit_2(two) -> None:
    cases = {
        '[[backends]]\nname = "Bad"\nkind = "builtin"\n': "invalid backend name 'Bad'",
        '[[backends]]\nname = "a"\nkind = "vm"\n': "must be 'wisp', 'sprites' or 'builtin'",
        '[[backends]]\nname = "a"\nkind = "builtin"\nwisp_path = "x"\n': "not a setting of kind",
        '[[backends]]\nname = "a"\nkind = "wisp"\nwisp_path = []\n': "a list of 1 to 64",
        '[[backends]]\nname = "a"\nkind = "wisp"\nmax_vms = 0\n': "must be at least 1",
        '[[backends]]\nname = "a"\nkind = "wisp"\n[[backends]]\nname = "a"\nkind = "builtin"\n': (
            "two backends are named 'a'"
        ),
        '[[backends]]\nname = "a"\nkind = "builtin"\n'
        '[[backends]]\nname = "b"\nkind = "builtin"\n': (
            "only one backend can be of kind 'builtin'"
        ),
    }
    for text, words in cases.items():
        two.config.write_text(text)
        result = run_cli("list")
        assert result.returncode == 2, text
        assert len(result.stderr.splitlines()) == 1 and words in result.stderr, result.stderr


def test_the_mcp_tools_follow_the_same_naming_rule(two, tmp_path) -> None:
    from tests.support.mcp_client import McpServer

    env = {"WRECKIT_TUI_CONFIG": str(two.config), "XDG_STATE_HOME": str(tmp_path / "state")}
    two.two.set_screen("beta", "hello from two\n")
    server = McpServer(tmp_path / "server", env)
    try:
        listed = server.ok("list_sprites")["sprites"]
        assert [(s["backend"], s["name"]) for s in listed] == [
            ("one", "alpha"),
            ("one", "dup"),
            ("two", "beta"),
            ("two", "dup"),
        ]
        refused = server.error("kill_sprite", {"name": "dup"})
        assert "sprite 'dup' is on 2 backends (one/dup, two/dup)" in refused
        assert (
            "hello from two"
            in server.ok("attach_sprite", {"name": "beta", "wait_seconds": 0})["result"]
        )
        spawned = server.ok("spawn_sprite", {"name": "two/gamma"})
        assert (spawned["name"], spawned["backend"], spawned["attach"]) == (
            "gamma",
            "two",
            "wreckit-tui attach two/gamma",
        )
        assert server.ok("kill_sprite", {"name": "one/dup"}) == {
            "name": "dup",
            "backend": "one",
            "killed": True,
        }
    finally:
        server.close()
    server.assert_clean()


def test_a_sprites_backend_beside_a_wisp(two, tmp_path) -> None:
    from tests.support.fake_sprites_api import FakeSprites, sprite

    api = FakeSprites.start()
    try:
        api.set(
            token="spr-fleet-0a1b2c3d", sprites=[sprite("alpha", "warm"), sprite("zulu", "cold")]
        )
        token_file = tmp_path / "token"
        token_file.write_text("spr-fleet-0a1b2c3d\n")
        two.config.write_text(
            f'[[backends]]\nname = "one"\nkind = "wisp"\nwisp_path = "{two.one.path}"\n'
            f'[[backends]]\nname = "fly"\nkind = "sprites"\nsprites_token_file = "{token_file}"\n'
        )
        env = {"SPRITES_API_URL": api.url}
        listed = run_cli("list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [(s["backend"], s["name"], s["state"]) for s in json.loads(listed.stdout)] == [
            ("one", "alpha", "running"),
            ("one", "dup", "running"),
            ("fly", "alpha", "running"),
            ("fly", "zulu", "stopped"),
        ]
        assert run_cli("kill", "alpha", env=env).returncode == 2
        killed = run_cli("kill", "fly/zulu", env=env)
        assert killed.returncode == 0, killed.stderr
        assert [r["method"] for r in api.requests() if r["path"] == "/v1/sprites/zulu"] == [
            "DELETE"
        ]
    finally:
        api.stop()
