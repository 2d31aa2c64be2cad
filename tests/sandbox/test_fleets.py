"""The built-in provider beside two fake wisps in one fleet (``[[backends]]``): one wisp behind
a wrapper standing in for ssh, the other failing; real sandboxes, real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.support.fake_wisp_handle import make_fake_wisp

SSH = '#!/bin/sh\n# stands in for ssh: HOST then the command, run here\nshift\nexec "$@"\n'


def test_sandboxes_and_remote_wisps_in_one_list_and_by_name(
    sandboxes, tmp_path: Path, isolated_config: Path
) -> None:
    sandboxes.start("alpha")
    ssh = tmp_path / "ssh"
    ssh.write_text(SSH)
    ssh.chmod(0o755)
    gpu, flaky = make_fake_wisp(tmp_path / "gpu"), make_fake_wisp(tmp_path / "flaky")
    gpu.set_fleet([{"name": "alpha", "state": "running"}, {"name": "bravo", "state": "running"}])
    flaky.set_scenario(list="fail")
    isolated_config.write_text(
        '[[backends]]\nname = "laptop"\nkind = "builtin"\nmax_vms = 1\n'
        f'[[backends]]\nname = "gpu"\nkind = "wisp"\nwisp_path = ["{ssh}", "gpu", "{gpu.path}"]\n'
        f'[[backends]]\nname = "flaky"\nkind = "wisp"\nwisp_path = "{flaky.path}"\n'
    )
    env = {"WRECKIT_SANDBOX_HOME": str(sandboxes.path)}
    try:
        listed = run_cli("list", "--json", env=env)
        assert listed.returncode == 4
        assert listed.stderr.startswith("wreckit-tui: error: flaky: ")
        rows = [(s["backend"], s["name"], s["state"]) for s in json.loads(listed.stdout)]
        assert rows == [
            ("laptop", "alpha", "running"),
            ("gpu", "alpha", "running"),
            ("gpu", "bravo", "running"),
        ]
        # two backends have alpha, and flaky cannot say: a bare name is refused
        assert run_cli("kill", "alpha", env=env).returncode == 2
        # the built-in provider's own quota: 1, and alpha runs there
        full = run_cli("start", "laptop/charlie", env=env)
        assert full.returncode == 2 and "laptop: quota reached" in full.stderr
        killed = run_cli("kill", "laptop/alpha", "--json", env=env)
        assert killed.returncode == 0, killed.stderr
        assert json.loads(killed.stdout) == {"name": "alpha", "backend": "laptop", "killed": True}
        assert not any(call[:1] == ["kill"] for call in gpu.calls())
        assert sandboxes.run("list", "--json").stdout.strip() == "[]"
    finally:
        gpu.kill_leftovers()
        flaky.kill_leftovers()
