"""Speed of agents in sprites: ``exec``, ``capture``, MCP ``list_sprites``, the v1.1 list fields.

Run ``python bench/agents_bench.py [--quick]`` from the repository root (as root for cgroup
limits, with tmux and bubblewrap installed); :func:`run` returns the figures. Each is the median
of ``repeat`` runs in ms, with its fastest and slowest beside it (``<key>_min``, ``<key>_max``);
a figure and its baseline are timed in turns, so that both see the same load.

- ``exec_ms``: the whole ``wreckit-tui exec NAME -- true`` on the built-in provider (no ``wisp``
  on PATH, an empty config); baselines ``sandbox_exec_ms``, ``wreckit-sandbox exec NAME -- true``
  itself, and ``interpreter_ms``, this interpreter running ``-c pass``;
- ``capture_ms``: the whole ``wreckit-sandbox capture NAME``; ``capture_over_interpreter_ms``
  is that less ``interpreter_ms``;
- ``mcp_list_sprites_ms_<sprites>``: a ``tools/call`` of ``list_sprites``, timed in the MCP SDK's
  own stdio client, on one long-lived ``wreckit-tui mcp`` server whose backend is the test fake
  wisp with ``sprites`` sprites; baseline ``mcp_wisp_list_ms_<sprites>``, the whole
  ``list --json`` of that fake; ``mcp_list_overhead_ms_<sprites>`` is the one less the other;
- ``sandbox_list_v11_ms_<sandboxes>`` and ``sandbox_list_v1_ms_<sandboxes>``: the whole
  ``wreckit-sandbox list --json`` with ``sandboxes`` running, with the v1.1 fields (``command``,
  ``exit_code``, ``activity_at``, ``title``) and without them. The provider has a private switch
  for this benchmark only (``_WRECKIT_SANDBOX_BENCH_V1_LIST=1``): it leaves those fields out and
  does not ask tmux for them (the one tmux call every ``list`` makes for the states still runs,
  without the two fields in its format). ``v11_fields_ms_<sandboxes>`` is the median of the
  differences of the runs taken in pairs, one with and one without.

Every run uses homes of its own in temporary directories and kills every sandbox, server and
fake wisp it started, even when interrupted. The programs run as installed: bytecode caching on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fake_wisp_handle import make_fake_wisp  # noqa: E402
from wreckit_tui.sandbox.listing import V1_ONLY_VARIABLE  # noqa: E402

if TYPE_CHECKING:
    from mcp.types import CallToolResult

    from tests.support.mcp_client import McpServer

GOALS_MS = {
    "exec_ms": 100.0,
    "capture_over_interpreter_ms": 30.0,
    "mcp_list_overhead_ms_100": 50.0,
    "v11_fields_ms_100": 15.0,
}
"""Issue 16's speed goals, in ms: at most this much."""
QUICK = {"sandboxes": 100, "sprites": 100, "repeat": 5}
FULL = {"sandboxes": 100, "sprites": 100, "repeat": 15}
V11_FIELDS = ("command", "exit_code", "activity_at", "title")


def run(
    sandboxes: int = 100, sprites: int = 100, repeat: int = 15, work: Path | None = None
) -> dict[str, float]:
    """Every figure of this module, in ms. Its homes go in ``work`` (made here, which must
    not exist yet, and removed after; a temporary directory when ``None``)."""
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="agents-bench-"))
    else:
        work.mkdir()
    try:
        os.chmod(work, 0o755)  # sandboxes run as users of their own: they pass through it
        results = _built_in_provider(work, sandboxes, repeat)
        results.update(_mcp_list(work, sprites, repeat))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the built-in provider -------------------------------------------------------------------


def _built_in_provider(work: Path, sandboxes: int, repeat: int) -> dict[str, float]:
    """exec, capture and list with and without the v1.1 fields, on a fleet of its own."""
    home = work / "sandboxes"
    home.mkdir(mode=0o755)
    config = work / "config.toml"
    config.touch()
    env = _environment(
        WRECKIT_SANDBOX_HOME=str(home),
        WRECKIT_TUI_CONFIG=str(config),
        XDG_STATE_HOME=str(work / "state"),
        PATH=_path_without_wisp(),
    )
    provider = _script("wreckit-sandbox", "wreckit_tui.sandbox")
    names = [f"bench-{index}" for index in range(sandboxes)]
    started: list[str] = []
    try:
        for name in names:
            started.append(name)
            _call([*provider, "start", name], env)
        first = names[0]
        _call([*_script("wreckit-tui", "wreckit_tui"), "exec", first, "--", "true"], env)  # warm
        results = _alternated(
            {
                "exec_ms": [*_script("wreckit-tui", "wreckit_tui"), "exec", first, "--", "true"],
                "sandbox_exec_ms": [*provider, "exec", first, "--", "true"],
                "capture_ms": [*provider, "capture", first],
                "interpreter_ms": [sys.executable, "-c", "pass"],
            },
            env,
            repeat,
        )
        results["capture_over_interpreter_ms"] = results["capture_ms"] - results["interpreter_ms"]
        results.update(_list_fields(provider, env, sandboxes, repeat))
        return results
    finally:
        for name in reversed(started):
            _call([*provider, "kill", name], env, check=False)


def _list_fields(
    provider: list[str], env: dict[str, str], sandboxes: int, repeat: int
) -> dict[str, float]:
    """``list --json`` with and without the v1.1 fields, in pairs."""
    without = {**env, V1_ONLY_VARIABLE: "1"}
    pairs = [
        (
            _timed_list(provider, env, sandboxes, True),
            _timed_list(provider, without, sandboxes, False),
        )
        for _ in range(repeat)
    ]
    return {
        **_summary(f"sandbox_list_v11_ms_{sandboxes}", [with_ for with_, _ in pairs]),
        **_summary(f"sandbox_list_v1_ms_{sandboxes}", [without_ for _, without_ in pairs]),
        **_summary(f"v11_fields_ms_{sandboxes}", [a - b for a, b in pairs]),
    }


def _timed_list(provider: list[str], env: dict[str, str], count: int, v11: bool) -> float:
    began = time.perf_counter()
    done = _call([*provider, "list", "--json"], env)
    elapsed = (time.perf_counter() - began) * 1000
    records = json.loads(done.stdout)
    running = [record for record in records if record["state"] == "running"]
    if len(running) != count:
        raise RuntimeError(f"expected {count} running sandboxes, list shows {len(running)}")
    if any((set(V11_FIELDS) <= record.keys()) != v11 for record in records):
        raise RuntimeError(f"list --json {'lacks' if v11 else 'has'} the v1.1 fields")
    return elapsed


# -- MCP -------------------------------------------------------------------------------------


def _mcp_list(work: Path, sprites: int, repeat: int) -> dict[str, float]:
    """``list_sprites`` on one long-lived server, in turns with the fake wisp's own list."""
    from tests.support.mcp_client import McpServer  # the SDK: imported only when needed

    fake = make_fake_wisp(work / "fakewisp")
    fake.set_fleet([_sprite(index) for index in range(sprites)])
    config = work / "mcp-config.toml"
    config.touch()
    settings = {
        "WRECKIT_TUI_CONFIG": str(config),
        "WRECKIT_TUI_WISP_PATH": str(fake.path),
        "XDG_STATE_HOME": str(work / "mcp-state"),
    }
    env = _environment(**settings)
    server: McpServer | None = None
    try:
        server = McpServer(work / "mcp-server", settings)
        _list_sprites_ms(server, sprites)  # warm: the first call imports what a call needs
        calls, lists = [], []
        for _ in range(repeat):
            calls.append(_list_sprites_ms(server, sprites))
            lists.append(_timed([str(fake.path), "list", "--json"], env))
    finally:
        if server is not None:
            server.close()
        fake.kill_leftovers()
    if server.stream_errors or server.exit_status() != 0:
        raise RuntimeError(f"the MCP server failed: {server.stream_errors} {server.stderr()}")
    results = {
        **_summary(f"mcp_list_sprites_ms_{sprites}", calls),
        **_summary(f"mcp_wisp_list_ms_{sprites}", lists),
    }
    overhead = results[f"mcp_list_sprites_ms_{sprites}"] - results[f"mcp_wisp_list_ms_{sprites}"]
    results[f"mcp_list_overhead_ms_{sprites}"] = overhead
    return results


def _list_sprites_ms(server: McpServer, sprites: int) -> float:
    """One ``tools/call`` of ``list_sprites``, timed on the client's own event loop."""

    async def timed() -> tuple[float, CallToolResult]:
        assert server.session is not None
        began = time.perf_counter()
        result = await server.session.call_tool("list_sprites", {})
        return (time.perf_counter() - began) * 1000, result

    elapsed, result = server._run(timed(), timeout=60)
    if result.is_error or len(result.structured_content["sprites"]) != sprites:
        raise RuntimeError(f"list_sprites did not return {sprites} sprites: {result.content}")
    return elapsed


def _sprite(index: int) -> dict[str, object]:
    return {
        "name": f"agent-{index:05d}",
        "id": f"spr_{index}",
        "state": "running",
        "cpus": 2,
        "memory": "1GiB",
        "cpu_percent": 12.5,
        "memory_used": 300,
        "uptime_seconds": 4000 + index,
        "url": f"https://agent-{index:05d}.sprites.test",
    }


# -- helpers ---------------------------------------------------------------------------------


def _alternated(
    commands: dict[str, list[str]], env: dict[str, str], repeat: int
) -> dict[str, float]:
    """Each command ``repeat`` times, taking turns; a summary of each."""
    times: dict[str, list[float]] = {key: [] for key in commands}
    for _ in range(repeat):
        for key, argv in commands.items():
            times[key].append(_timed(argv, env))
    results: dict[str, float] = {}
    for key, values in times.items():
        results.update(_summary(key, values))
    return results


def _summary(key: str, values: list[float]) -> dict[str, float]:
    return {
        key: statistics.median(values),
        f"{key}_min": min(values),
        f"{key}_max": max(values),
    }


def _timed(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    _call(argv, env)
    return (time.perf_counter() - began) * 1000


def _call(
    argv: list[str], env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]!r}")
    return done


def _environment(**more: str) -> dict[str, str]:
    """This process's environment with bytecode caching on and ``more``."""
    env = {**os.environ, **more}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _script(name: str, module: str) -> list[str]:
    """The console script ``name`` next to this interpreter, else ``python -m module``."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def _path_without_wisp() -> str:
    tools = ("tmux", "bwrap", "nsenter", "setpriv", "sh")
    dirs = [os.path.dirname(path) for tool in tools if (path := shutil.which(tool))]
    return os.pathsep.join(dict.fromkeys(dirs))


def missed(results: dict[str, float]) -> list[str]:
    """The goals of :data:`GOALS_MS` that ``results`` misses."""
    return [key for key, goal in GOALS_MS.items() if results[key] > goal]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    results = run(**(QUICK if parser.parse_args().quick else FULL))
    print(json.dumps({key: round(value, 1) for key, value in results.items()}, indent=2))
    for key in missed(results):
        print(f"goal missed: {key} {results[key]:.1f} > {GOALS_MS[key]:g}", file=sys.stderr)
    return 1 if missed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
