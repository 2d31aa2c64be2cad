"""``bench/run.py`` without running a benchmark: its keys, goal table, wiring and imports."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import shutil
import subprocess
import sys
import tomllib
from types import ModuleType, SimpleNamespace

import psutil
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO
from tests.sandbox.conftest import SandboxHome, alive, passable_dir
from wreckit_tui.errors import WispFailed, WispTimeout

BENCH = REPO / "bench"

ISSUE_KEYS = {
    "refresh_ms_1000_changed_10",
    "refresh_ms_1000_changed_1000",
    "rebuild_ms_1000",
    "key_latency_ms_p95_hung_wisp",
    "key_ui_ms_dashboard",
    "key_ui_ms_minimal",
    "idle_cpu_percent_100_sprites",
    "rss_mb_1000_sprites",
    "headless_json_ms_1000",
    "wisp_list_ms_1000",
    "attach_ms",
    "detach_ms",
    "passthrough_mb_s",
    "direct_pty_mb_s",
    "sandbox_start_ms",
    "sandbox_list_ms_100",
    "rss_peak_mb_headless_json_at_cap",
    "rss_peak_mb_dashboard_at_cap",
    "first_rows_s_at_cap",
    "refusal_s_headless",
    "rss_peak_mb_headless_refusal",
    "refusal_s_dashboard",
    "rss_peak_mb_dashboard_refusal",
    "table_ms_1000",
    "table_json_ms_1000",
    "table_ms_10000",
    "refresh_ms_10000_changed_10",
    "refresh_ms_10000_changed_10000",
    "filter_key_ms_max_10000",
    "rss_mb_10000_sprites",
    "key_latency_ms_p95_polling_10000",
    "first_rows_ms_10",
    "first_rows_ms_1000",
    "first_rows_ms_10000",
    "textual_first_paint_ms",
    "first_paint_wisp_list_ms_10",
    "first_paint_wisp_list_ms_1000",
    "soak_polls",
    "soak_crashes",
    "soak_leaked_processes",
    "soak_rss_growth_mb",
    "exec_ms",
    "sandbox_exec_ms",
    "interpreter_ms",
    "capture_ms",
    "mcp_list_sprites_ms_100",
    "mcp_wisp_list_ms_100",
    "sandbox_list_v11_ms_100",
    "sandbox_list_v1_ms_100",
    "v11_fields_ms_100",
    "sprites_poll_ms_1000",
    "sprites_server_ms_1000",
    "sprites_idle_cpu_percent_100",
    "idle_cpu_percent_builtin_10",
    "idle_cpu_percent_oneshot_10",
    "idle_cpu_percent_builtin_working_10",
    "idle_cpu_percent_oneshot_working_10",
    "captures_per_poll_working_10",
    "preview_captures_per_poll_working_10",
    "fleets_refresh_ms_3x1000_changed_10",
    "fleets_refresh_ms_1x3000_changed_10",
    "fleets_idle_cpu_percent_3x1000",
    "fleets_idle_cpu_percent_1x3000",
}

GOOD = {
    "refresh_ms_1000_changed_10": 1.0,
    "paint_ms_1000_changed_10": 4.0,
    "refresh_ms_1000_changed_1000": 10.0,
    "rebuild_ms_1000": 200.0,
    "rebuild_paint_ms_1000": 500.0,
    "key_latency_ms_p95_hung_wisp": 30.0,
    "key_ui_ms_dashboard": 12.0,
    "key_ui_ms_minimal": 5.0,
    "idle_cpu_percent_100_sprites": 0.5,
    "rss_mb_1000_sprites": 70.0,
    "headless_json_ms_1000": 200.0,
    "wisp_list_ms_1000": 25.0,
    "attach_ms": 40.0,
    "detach_ms": 15.0,
    "passthrough_mb_s": 100.0,
    "direct_pty_mb_s": 100.0,
    "sandbox_start_ms": 60.0,
    "sandbox_list_ms_100": 80.0,
    "rss_peak_mb_headless_json_at_cap": 100.0,
    "rss_peak_mb_dashboard_at_cap": 150.0,
    "first_rows_s_at_cap": 4.0,
    "refusal_s_headless": 1.0,
    "rss_peak_mb_headless_refusal": 80.0,
    "refusal_s_dashboard": 2.0,
    "rss_peak_mb_dashboard_refusal": 100.0,
    "table_ms_1000": 300.0,
    "table_json_ms_1000": 280.0,
    "table_ms_10000": 1500.0,
    "refresh_ms_10000_changed_10": 3.0,
    "refresh_ms_10000_changed_10000": 200.0,
    "filter_key_ms_max_10000": 30.0,
    "rss_mb_10000_sprites": 150.0,
    "key_latency_ms_p95_polling_10000": 30.0,
    "first_rows_ms_10": 400.0,
    "first_rows_ms_1000": 450.0,
    "first_rows_ms_10000": 1500.0,
    "textual_first_paint_ms": 300.0,
    "first_paint_wisp_list_ms_10": 25.0,
    "first_paint_wisp_list_ms_1000": 30.0,
    "soak_polls": 1000.0,
    "soak_crashes": 0.0,
    "soak_leaked_processes": 0.0,
    "soak_rss_growth_mb": 0.5,
    "exec_ms": 60.0,
    "sandbox_exec_ms": 40.0,
    "interpreter_ms": 15.0,
    "capture_ms": 35.0,
    "mcp_list_sprites_ms_100": 40.0,
    "mcp_wisp_list_ms_100": 25.0,
    "sandbox_list_v11_ms_100": 80.0,
    "sandbox_list_v1_ms_100": 78.0,
    "v11_fields_ms_100": 2.0,
    "sprites_poll_ms_1000": 150.0,
    "sprites_server_ms_1000": 20.0,
    "sprites_idle_cpu_percent_100": 0.5,
    "idle_cpu_percent_builtin_10": 0.8,
    "idle_cpu_percent_oneshot_10": 5.0,
    "idle_cpu_percent_builtin_working_10": 1.2,
    "idle_cpu_percent_oneshot_working_10": 9.0,
    "captures_per_poll_working_10": 0.0,
    "preview_captures_per_poll_working_10": 1.0,
    "fleets_refresh_ms_3x1000_changed_10": 2.0,
    "fleets_refresh_ms_1x3000_changed_10": 2.0,
    "fleets_idle_cpu_percent_3x1000": 1.0,
    "fleets_idle_cpu_percent_1x3000": 1.0,
}
"""Figures that meet every goal, with room: each miss below breaks one goal only."""


@pytest.fixture(scope="module")
def run() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("run")
    finally:
        sys.path.remove(str(BENCH))


def missed(rows) -> set[str]:
    return {row.figure for row in rows if not row.met}


def test_every_run_reports_exactly_the_issues_keys(run):
    assert len(run.REQUIRED_KEYS) == len(set(run.REQUIRED_KEYS))
    assert set(run.REQUIRED_KEYS) == ISSUE_KEYS
    report = run.json_report(GOOD)
    assert report.keys() >= ISSUE_KEYS
    assert report == GOOD  # every figure, none invented


@pytest.mark.parametrize("key", sorted(ISSUE_KEYS))
def test_a_run_without_a_required_figure_is_refused(run, key):
    figures = {name: value for name, value in GOOD.items() if name != key}
    assert run.missing_keys(figures) == [key]
    with pytest.raises(KeyError, match=key):
        run.json_report(figures)


def test_good_figures_meet_every_goal(run):
    rows = run.goals(GOOD)
    assert len(rows) == 45
    assert missed(rows) == set()


@pytest.mark.parametrize(
    ("figure", "changes"),
    [
        ("refresh, 10 of 1,000 changed (ms)", {"refresh_ms_1000_changed_10": 5.01}),
        ("refresh, all 1,000 changed (ms)", {"refresh_ms_1000_changed_1000": 60.5}),
        ("clear-and-rebuild / refresh", {"rebuild_ms_1000": 19.9}),
        ("... repaint counted too", {"paint_ms_1000_changed_10": 40.0}),
        ("key latency p95, wisp hung (ms)", {"key_latency_ms_p95_hung_wisp": 50.1}),
        ("idle CPU, 100 sprites (% of a core)", {"idle_cpu_percent_100_sprites": 1.01}),
        ("RSS, 1,000 sprites (MB)", {"rss_mb_1000_sprites": 120.5}),
        ("headless overhead over wisp (ms)", {"headless_json_ms_1000": 275.5}),
        ("attach: key to prompt (ms)", {"attach_ms": 150.5}),
        ("detach: key to dashboard (ms)", {"detach_ms": 150.5}),
        ("passthrough / direct pty copy", {"passthrough_mb_s": 79.0}),
        ("sandbox start (ms)", {"sandbox_start_ms": 150.5}),
        ("sandbox list of 100 (ms)", {"sandbox_list_ms_100": 200.5}),
        (
            "peak RSS at the cap, --headless --json (MB)",
            {"rss_peak_mb_headless_json_at_cap": 168.0},
        ),
        ("peak RSS at the cap, dashboard (MB)", {"rss_peak_mb_dashboard_at_cap": 168.0}),
        ("first rows at the cap (s)", {"first_rows_s_at_cap": 5.1}),
        ("200,000 sprites refused, headless (s)", {"refusal_s_headless": 5.1}),
        ("... its peak RSS, headless (MB)", {"rss_peak_mb_headless_refusal": 168.0}),
        ("200,000 sprites refused, dashboard (s)", {"refusal_s_dashboard": 5.1}),
        ("... its peak RSS, dashboard (MB)", {"rss_peak_mb_dashboard_refusal": 168.0}),
        ("headless table / --json, 1,000 sprites", {"table_ms_1000": 365.0}),
        ("headless table, 10,000 sprites (ms)", {"table_ms_10000": 2001.0}),
        ("refresh, 10 of 10,000 changed (ms)", {"refresh_ms_10000_changed_10": 5.1}),
        ("refresh, all 10,000 changed (ms)", {"refresh_ms_10000_changed_10000": 301.0}),
        ("filter key, 10,000 sprites, slowest (ms)", {"filter_key_ms_max_10000": 51.0}),
        ("RSS, 10,000 sprites (MB)", {"rss_mb_10000_sprites": 201.0}),
        ("key latency p95, polling 10,000 (ms)", {"key_latency_ms_p95_polling_10000": 51.0}),
        ("first rows, 10, over Textual + list (ms)", {"first_rows_ms_10": 476.0}),
        ("first rows, 1,000, over Textual + list (ms)", {"first_rows_ms_1000": 481.0}),
        ("first rows, 10,000 sprites (ms)", {"first_rows_ms_10000": 2001.0}),
        ("soak crashes", {"soak_crashes": 1.0}),
        ("soak leaked processes", {"soak_leaked_processes": 1.0}),
        ("soak RSS growth (MB)", {"soak_rss_growth_mb": 5.1}),
        ("exec round trip, whole process (ms)", {"exec_ms": 100.5}),
        ("capture over interpreter start (ms)", {"capture_ms": 45.5}),
        ("MCP list_sprites of 100 over wisp (ms)", {"mcp_list_sprites_ms_100": 75.5}),
        ("v1.1 fields in sandbox list of 100 (ms)", {"v11_fields_ms_100": 15.5}),
        ("Sprites poll of 1,000 over the API's time (ms)", {"sprites_poll_ms_1000": 320.5}),
        (
            "idle CPU on Sprites, 100 sprites (% of a core)",
            {"sprites_idle_cpu_percent_100": 1.01},
        ),
        (
            "idle CPU, built-in, 10 sandboxes, all processes (%)",
            {"idle_cpu_percent_builtin_10": 1.6},
        ),
        (
            "idle CPU, built-in, 100 sandboxes, 10 working (%)",
            {"idle_cpu_percent_builtin_working_10": 2.1},
        ),
        (
            "captures of quiet sprites per poll (none went quiet)",
            {"captures_per_poll_working_10": 0.1},
        ),
        (
            "preview captures per poll (one sprite, about 1/s)",
            {"preview_captures_per_poll_working_10": 2.5},
        ),
        (
            "refresh, 10 of 3 backends x 1,000 changed (ms)",
            {"fleets_refresh_ms_3x1000_changed_10": 5.01},
        ),
        (
            "idle CPU, 3 backends x 1,000 sprites (% of a core)",
            {"fleets_idle_cpu_percent_3x1000": 1.51},
        ),
    ],
)
def test_a_figure_past_its_goal_misses_that_goal_only(run, figure, changes):
    assert missed(run.goals({**GOOD, **changes})) == {figure}


def test_a_figure_at_its_limit_meets_the_goal(run):
    at_limits = {
        "refresh_ms_1000_changed_10": 5.0,
        "refresh_ms_1000_changed_1000": 60.0,
        "key_latency_ms_p95_hung_wisp": 50.0,
        "passthrough_mb_s": 80.0,
        "soak_rss_growth_mb": 5.0,
        "exec_ms": 100.0,
        "capture_ms": 45.0,
        "mcp_list_sprites_ms_100": 75.0,
        "v11_fields_ms_100": 15.0,
        "sprites_poll_ms_1000": 320.0,
    }
    assert missed(run.goals({**GOOD, **at_limits})) == set()


def test_a_quick_run_of_two_minutes_or_more_is_flagged(run):
    budget = ("--quick run time (s)", 119.9, "< 120", True)
    assert run.goals(GOOD, quick_seconds=119.9)[-1] == budget
    assert missed(run.goals(GOOD, quick_seconds=120.0)) == {"--quick run time (s)"}
    assert run.quick_warning(119.9) is None
    assert run.quick_warning(131.2) == "WARNING: --quick took 131 s, over its budget of 120 s"


@pytest.mark.parametrize(("quick", "least"), [(True, 1000), (False, 10_000)])
def test_the_soak_polls_enough_in_both_modes(run, monkeypatch, quick, least):
    bench = run.dashboard_bench
    steps = ["refresh_costs", "key_latency_hung_wisp", "headless_overhead", "idle_cpu_and_memory"]
    steps += ["memory_at_cap", "refusal_past_the_cap"]
    for name in ("headless_table", "dashboard_costs", "polling_10000", "first_paint"):
        monkeypatch.setattr(run.scale_bench, name, lambda *args, **kwargs: {})
    for name in [*steps, "attach_and_detach"]:
        monkeypatch.setattr(bench, name, lambda *args, **kwargs: {})
    monkeypatch.setattr(run, "_passthrough", lambda quick: {})
    monkeypatch.setattr(run.sandbox_bench, "run", lambda **kwargs: {})
    monkeypatch.setattr(run.agents_bench, "run", lambda **kwargs: {})
    monkeypatch.setattr(run.sprites_bench, "run", lambda *args: {})
    monkeypatch.setattr(run.idle_bench, "run", lambda **kwargs: {})
    monkeypatch.setattr(run.fleets_bench, "run", lambda *args: {})
    monkeypatch.setattr(run.keys_bench, "key_ui_cost", lambda *args: {})
    monkeypatch.setattr(run.web_bench, "run", lambda **kwargs: {})
    soaks = []
    monkeypatch.setattr(bench, "soak", lambda **kwargs: soaks.append(kwargs) or GOOD)
    assert run.run(quick) == GOOD
    (soak,) = soaks
    assert soak["polls"] >= least
    assert soak == (bench.SOAK_QUICK if quick else bench.SOAK_FULL)


def judge(run, snapshot_error, last_error, error_before, recorded=1):
    """What the soak makes of a poll that ended so (None: not a crash)."""
    watch = run.dashboard_bench._SoakWatch()
    snapshot = SimpleNamespace(error=snapshot_error, poll=41 + recorded)
    watch.app = SimpleNamespace(last_error=last_error, snapshot=snapshot)
    return watch.problem(error_before, polls_before=41)


def test_the_soak_counts_a_poll_that_failed_without_a_wisp_error(run):
    old = WispTimeout("wisp list --json", 0.1)
    new = WispFailed("wisp list --json", 3, "error: unreachable")
    assert judge(run, None, old, old) is None
    assert judge(run, new.message, new, old) is None
    assert judge(run, new.message, new, None) is None
    bug = "unexpected error: KeyError('cpus')"
    assert "no wisp error" in judge(run, bug, old, old)
    assert "no wisp error" in judge(run, bug, None, None)
    assert "recorded 0 polls" in judge(run, None, old, old, recorded=0)


def runtime_distributions() -> set[str]:
    """The project's runtime dependencies and theirs, as installed (no extras)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text).name for text in project["dependencies"]]
    found: set[str] = set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def top_level_modules(code: str) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after running ``code``."""
    report = "print(*sorted({name.partition('.')[0] for name in sys.modules}))"
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\n{report}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_the_bench_imports_only_runtime_dependencies():
    loaded = top_level_modules("sys.path[:0] = ['bench', '.']\nimport run") - top_level_modules("")
    local = {
        "run",
        "agents_bench",
        "attach_bench",
        "dashboard_bench",
        "keys_bench",
        "idle_bench",
        "fleets_bench",
        "sandbox_bench",
        "sprites_bench",
        "web_bench",
        "scale_bench",
        "tests",
        "wreckit_tui",
    }
    third_party = {
        module
        for module in loaded - set(sys.stdlib_module_names) - local
        if not module.startswith("_sysconfigdata_")  # the standard library's, per platform
    }
    assert {"textual", "rich", "psutil"} <= third_party
    assert not third_party & {"pytest", "_pytest", "pytest_asyncio", "hypothesis", "syrupy"}
    runtime = runtime_distributions()
    owners = importlib.metadata.packages_distributions()
    foreign = {
        module: owners.get(module)
        for module in third_party
        if not {canonicalize_name(owner) for owner in owners.get(module, [])} & runtime
    }
    assert foreign == {}


def test_a_short_soak_counts_every_poll_and_storm_and_leaves_nothing():
    """The soak, in a process of its own (it adopts orphans, which pytest must not), against a
    fake wisp that answers faster than a poll is asked for: no waiting for a poll nobody asked
    for, every hostile input survived, no process left."""
    code = (
        "import json, dashboard_bench as bench\n"
        "print(json.dumps(bench.soak(40, list_timeout=0.07, slow_seconds=0.005, attaches=1)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["soak_polls"] == 40
    assert figures["soak_attaches"] == 1
    assert (figures["soak_crashes"], figures["soak_leaked_processes"]) == (0, 0), done.stderr


def test_the_agents_bench_measures_every_figure_and_leaves_nothing(run, tmp_path):
    """The agents' benchmark with tiny counts: every time a positive number (the differences,
    such as the cost of the v1.1 fields, are finite: two sandboxes make them noise), and no
    sandbox, cgroup, socket, server or fake wisp left once it returns."""
    bench = run.agents_bench
    base = passable_dir("/tmp")
    work = base / "bench"
    children = {child.pid for child in psutil.Process().children(recursive=True)}
    try:
        figures = bench.run(sandboxes=2, sprites=3, repeat=2, work=work)
        home = SandboxHome(work / "sandboxes", {})
        assert home.leftovers() == []
        assert _processes_of(work) == []
        left = {child.pid for child in psutil.Process().children(recursive=True)} - children
        assert [pid for pid in left if alive(pid)] == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert not work.exists()
    differences = {"capture_over_interpreter_ms", "mcp_list_overhead_ms_3"}
    differences |= {key for key in figures if key.startswith("v11_fields_ms_")}
    times = {key: value for key, value in figures.items() if key not in differences}
    expected = {"exec_ms", "sandbox_exec_ms", "capture_ms", "interpreter_ms"}
    expected |= {"mcp_list_sprites_ms_3", "mcp_wisp_list_ms_3"}
    expected |= {"sandbox_list_v11_ms_2", "sandbox_list_v1_ms_2"}
    assert times.keys() == expected | {f"{key}_{end}" for key in expected for end in ("min", "max")}
    assert all(value > 0 for value in times.values()), times
    assert all(math.isfinite(figures[key]) for key in differences)
    assert (
        figures["capture_over_interpreter_ms"] == figures["capture_ms"] - figures["interpreter_ms"]
    )


def _processes_of(work) -> list[str]:
    """Live processes with ``work`` in their command line or environment."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        texts = [*(process.info["cmdline"] or []), *(process.info["environ"] or {}).values()]
        if any(str(work) in text for text in texts):
            found.append(f"{process.pid} {process.info['cmdline']}")
    return found


def test_the_idle_bench_counts_the_whole_tree_and_leaves_nothing(run):
    """The idle benchmark with tiny counts: both dashboards measured and polling, the captures
    counted, and no sandbox, dashboard or helper left once it returns."""
    bench = run.idle_bench
    base = passable_dir("/tmp")
    work = base / "idle"
    children = {child.pid for child in psutil.Process().children(recursive=True)}
    try:
        figures = bench.run(seconds=3, large=12, work=work)
        assert _processes_of(work) == []
        left = {child.pid for child in psutil.Process().children(recursive=True)} - children
        assert [pid for pid in left if alive(pid)] == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert not work.exists()
    for label in ("10", "working_10"):
        for kind in ("builtin", "oneshot"):
            assert figures[f"polls_{kind}_{label}"] >= 1
            total = figures[f"idle_cpu_percent_{kind}_{label}"]
            own = figures[f"dashboard_only_cpu_percent_{kind}_{label}"]
            assert 0 < own <= total + 1e-9  # the total is a sum of float shares
        assert figures[f"captures_per_poll_{label}"] >= 0
    assert figures["preview_captures_per_poll_working_10"] > 0  # the preview was shown
