"""Every benchmark of wreckit-tui against its goal: ``python bench/run.py [--quick] [--json]``.

Prints a table of the figures (medians of repeated runs), a scaling table for 10, 100, 1,000
and 5,000 sprites, and with ``--json`` one JSON object as the last line. ``--quick`` has a
budget of two minutes: a slower one warns on stderr and misses the table's last goal. Needs the
package's runtime dependencies, tmux and bubblewrap; run it from the repository root.
"""

from __future__ import annotations

import argparse
import json
import operator
import platform
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import agents_bench  # noqa: E402
import attach_bench  # noqa: E402
import dashboard_bench  # noqa: E402
import fleets_bench  # noqa: E402
import idle_bench  # noqa: E402
import keys_bench  # noqa: E402
import psutil  # noqa: E402
import sandbox_bench  # noqa: E402
import scale_bench  # noqa: E402
import sprites_bench  # noqa: E402
import web_bench  # noqa: E402

SIZES = (10, 100, 1000, 5000)
QUICK_SIZES = (10, 100, 1000)
QUICK_BUDGET_S = 120
"""``--quick`` must be done in less than this many seconds."""

REQUIRED_KEYS = (
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
)
"""The figures every run reports in its JSON, quick or full."""
AGENT_FIGURES = (
    ("`wreckit-tui exec NAME -- true`", "exec_ms"),
    ("`wreckit-sandbox exec NAME -- true`", "sandbox_exec_ms"),
    ("`wreckit-sandbox capture NAME`", "capture_ms"),
    ("`python -c pass`", "interpreter_ms"),
    ("MCP `list_sprites`, 100 sprites", "mcp_list_sprites_ms_100"),
    ("fake wisp `list --json`, 100 sprites", "mcp_wisp_list_ms_100"),
    ("`wreckit-sandbox list --json`, 100, v1.1", "sandbox_list_v11_ms_100"),
    ("... without the v1.1 fields", "sandbox_list_v1_ms_100"),
    ("v1.1 fields, per pair of lists", "v11_fields_ms_100"),
)
"""The agents' figures and their baselines, as the table of ``bench/run.py`` names them."""
WEB_FIGURES = (
    ("page load to first rows", "web_first_rows_ms"),
    ("... the page's own load event", "web_page_load_ms"),
    ("key echo in a web terminal", "web_echo_ms"),
    ("... a pty's own echo, no browser", "pty_echo_ms"),
)
"""The browser's figures and their baselines (only when Chromium is there)."""

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    "=": operator.eq,
}


class GoalRow(NamedTuple):
    figure: str
    value: float
    goal: str
    met: bool


def _row(figure: str, value: float, compare: str, limit: float) -> GoalRow:
    return GoalRow(figure, value, f"{compare} {limit:g}", _COMPARE[compare](value, limit))


def goals(results: Mapping[str, float], quick_seconds: float | None = None) -> list[GoalRow]:
    """Every goal of the project against ``results``; with ``quick_seconds``, the time of a
    ``--quick`` run against its budget too."""
    refresh = results["refresh_ms_1000_changed_10"]
    rebuild = results["rebuild_ms_1000"]
    total = refresh + results["paint_ms_1000_changed_10"]
    rebuild_total = rebuild + results["rebuild_paint_ms_1000"]
    overhead = results["headless_json_ms_1000"] - results["wisp_list_ms_1000"]
    ratio = results["passthrough_mb_s"] / results["direct_pty_mb_s"]
    at_cap = 10 * dashboard_bench.OUTPUT_CAP_MB
    capture_overhead = results["capture_ms"] - results["interpreter_ms"]
    mcp_overhead = results["mcp_list_sprites_ms_100"] - results["mcp_wisp_list_ms_100"]
    sprites_overhead = results["sprites_poll_ms_1000"] - results["sprites_server_ms_1000"]
    rows = [
        _row("refresh, 10 of 1,000 changed (ms)", refresh, "<=", 5),
        _row("refresh, all 1,000 changed (ms)", results["refresh_ms_1000_changed_1000"], "<=", 60),
        _row("clear-and-rebuild / refresh", rebuild / refresh, ">=", 20),
        _row("... repaint counted too", rebuild_total / total, ">=", 20),
        _row("key latency p95, wisp hung (ms)", results["key_latency_ms_p95_hung_wisp"], "<=", 50),
        _row("idle CPU, 100 sprites (% of a core)", results["idle_cpu_percent_100_sprites"],
             "<=", 1),
        _row("RSS, 1,000 sprites (MB)", results["rss_mb_1000_sprites"], "<=", 120),
        _row("headless overhead over wisp (ms)", overhead, "<=", 250),
        _row("attach: key to prompt (ms)", results["attach_ms"], "<=", 150),
        _row("detach: key to dashboard (ms)", results["detach_ms"], "<=", 150),
        _row("passthrough / direct pty copy", ratio, ">=", 0.8),
        _row("sandbox start (ms)", results["sandbox_start_ms"], "<=", 150),
        _row("sandbox list of 100 (ms)", results["sandbox_list_ms_100"], "<=", 200),
        _row("peak RSS at the cap, --headless --json (MB)",
             results["rss_peak_mb_headless_json_at_cap"], "<=", at_cap),
        _row("peak RSS at the cap, dashboard (MB)", results["rss_peak_mb_dashboard_at_cap"],
             "<=", at_cap),
        _row("first rows at the cap (s)", results["first_rows_s_at_cap"], "<=", 5),
        _row("200,000 sprites refused, headless (s)", results["refusal_s_headless"], "<=", 5),
        _row("... its peak RSS, headless (MB)", results["rss_peak_mb_headless_refusal"],
             "<=", at_cap),
        _row("200,000 sprites refused, dashboard (s)", results["refusal_s_dashboard"], "<=", 5),
        _row("... its peak RSS, dashboard (MB)", results["rss_peak_mb_dashboard_refusal"],
             "<=", at_cap),
        *_scale_rows(results),
        _row("soak crashes", results["soak_crashes"], "=", 0),
        _row("soak leaked processes", results["soak_leaked_processes"], "=", 0),
        _row("soak RSS growth (MB)", results["soak_rss_growth_mb"], "<=", 5),
        _row("exec round trip, whole process (ms)", results["exec_ms"], "<=", 100),
        _row("capture over interpreter start (ms)", capture_overhead, "<=", 30),
        _row("MCP list_sprites of 100 over wisp (ms)", mcp_overhead, "<=", 50),
        _row("v1.1 fields in sandbox list of 100 (ms)", results["v11_fields_ms_100"], "<=", 15),
        _row("Sprites poll of 1,000 over the API's time (ms)", sprites_overhead, "<=", 300),
        _row("idle CPU on Sprites, 100 sprites (% of a core)",
             results["sprites_idle_cpu_percent_100"], "<=", 1),
        _row("idle CPU, built-in, 10 sandboxes, all processes (%)",
             results["idle_cpu_percent_builtin_10"], "<=", 1.5),
        _row("idle CPU, built-in, 100 sandboxes, 10 working (%)",
             results["idle_cpu_percent_builtin_working_10"], "<=", 2),
        _row("captures of quiet sprites per poll (none went quiet)",
             results["captures_per_poll_working_10"], "<=", 0),
        _row("preview captures per poll (one sprite, about 1/s)",
             results["preview_captures_per_poll_working_10"], "<=", 2),
        _row("refresh, 10 of 3 backends x 1,000 changed (ms)",
             results["fleets_refresh_ms_3x1000_changed_10"], "<=", 5),
        _row("idle CPU, 3 backends x 1,000 sprites (% of a core)",
             results["fleets_idle_cpu_percent_3x1000"], "<=", 1.5),
    ]  # fmt: skip
    rows += web_goals(results)
    if quick_seconds is not None:
        rows.append(_row("--quick run time (s)", quick_seconds, "<", QUICK_BUDGET_S))
    return rows


def web_goals(results: Mapping[str, float]) -> list[GoalRow]:
    """The browser's goals, where the run could measure them (Chromium is there)."""
    if "web_first_rows_ms" not in results:
        return []
    return [
        _row("browser: page load to first rows (ms)", results["web_first_rows_ms"], "<=", 2000),
        _row("browser: key echo in a web terminal (ms)", results["web_echo_ms"], "<=", 50),
    ]


def _scale_rows(results: Mapping[str, float]) -> list[GoalRow]:
    """The goals of starting fast and staying cheap at 10,000 sprites."""
    paint = results["textual_first_paint_ms"]
    return [
        _row("headless table / --json, 1,000 sprites",
             results["table_ms_1000"] / results["table_json_ms_1000"], "<=", 1.3),
        _row("headless table, 10,000 sprites (ms)", results["table_ms_10000"], "<=", 2000),
        _row("refresh, 10 of 10,000 changed (ms)", results["refresh_ms_10000_changed_10"],
             "<=", 5),
        _row("refresh, all 10,000 changed (ms)", results["refresh_ms_10000_changed_10000"],
             "<=", 300),
        _row("filter key, 10,000 sprites, slowest (ms)", results["filter_key_ms_max_10000"],
             "<=", 50),
        _row("RSS, 10,000 sprites (MB)", results["rss_mb_10000_sprites"], "<=", 200),
        _row("key latency p95, polling 10,000 (ms)",
             results["key_latency_ms_p95_polling_10000"], "<=", 50),
        _row("first rows, 10, over Textual + list (ms)", results["first_rows_ms_10"]
             - paint - results["first_paint_wisp_list_ms_10"], "<=", 150),
        _row("first rows, 1,000, over Textual + list (ms)", results["first_rows_ms_1000"]
             - paint - results["first_paint_wisp_list_ms_1000"], "<=", 150),
        _row("first rows, 10,000 sprites (ms)", results["first_rows_ms_10000"], "<=", 2000),
    ]  # fmt: skip


def missing_keys(results: Mapping[str, float]) -> list[str]:
    """The required figures ``results`` lacks."""
    return [key for key in REQUIRED_KEYS if key not in results]


def json_report(results: Mapping[str, float]) -> dict[str, float]:
    """The JSON object of a run: every figure, rounded; the required ones must be there."""
    missing = missing_keys(results)
    if missing:
        raise KeyError(f"the run did not measure {', '.join(missing)}")
    return {key: round(value, 3) for key, value in results.items()}


def quick_warning(seconds: float) -> str | None:
    """The warning for a ``--quick`` run of ``seconds``, if it went over its budget."""
    if seconds < QUICK_BUDGET_S:
        return None
    return f"WARNING: --quick took {seconds:.0f} s, over its budget of {QUICK_BUDGET_S} s"


def scaling(results: dict[str, float], sizes: tuple[int, ...]) -> list[list[str]]:
    columns = [
        ("refresh 10 changed", "refresh_ms_{n}_changed_{k10}"),
        ("paint", "paint_ms_{n}_changed_{k10}"),
        ("refresh all changed", "refresh_ms_{n}_changed_{n}"),
        ("paint", "paint_ms_{n}_changed_{n}"),
        ("clear+rebuild", "rebuild_ms_{n}"),
        ("paint", "rebuild_paint_ms_{n}"),
        ("headless --json", "headless_json_ms_{n}"),
        ("wisp list", "wisp_list_ms_{n}"),
    ]
    table = [["sprites", *(title for title, _ in columns)]]
    for size in sizes:
        keys = [pattern.format(n=size, k10=min(10, size)) for _, pattern in columns]
        table.append([f"{size:,}", *(_ms(results.get(key)) for key in keys)])
    return table


def agents_table(
    results: Mapping[str, float], figures=AGENT_FIGURES, title: str = "agents (ms)"
) -> list[list[str]]:
    """Figures beside their baselines (the agents' by default): median, fastest and slowest,
    in ms."""
    rows = [[title, "median", "min", "max"]]
    for figure, key in figures:
        keys = (key, f"{key}_min", f"{key}_max")
        rows.append([figure, *(_ms(results.get(name)) for name in keys)])
    return rows


def fleets_table(results: Mapping[str, float]) -> list[list[str]]:
    """The figures of several backends beside their one-backend baseline."""
    return [
        ["3,000 sprites", "3 backends", "1 backend"],
        ["refresh, 10 changed (UI-thread ms)",
         *(_ms(results.get(f"fleets_refresh_ms_{n}_changed_10")) for n in ("3x1000", "1x3000"))],
        ["idle CPU at a 2 s poll (% of a core)",
         *(_ms(results.get(f"fleets_idle_cpu_percent_{n}")) for n in ("3x1000", "1x3000"))],
    ]  # fmt: skip


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    for number, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def run(quick: bool) -> dict[str, float]:
    sizes = QUICK_SIZES if quick else SIZES
    steps: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("refresh", lambda: dashboard_bench.refresh_costs(sizes, 5 if quick else 9)),
        ("keys", lambda: dashboard_bench.key_latency_hung_wisp(40 if quick else 200)),
        ("key cost", lambda: keys_bench.key_ui_cost(30 if quick else 60)),
        ("headless", lambda: dashboard_bench.headless_overhead(sizes, 5 if quick else 9)),
        ("idle", lambda: dashboard_bench.idle_cpu_and_memory(
            10 if quick else 30, (1000,) if quick else (1000, 5000))),
        ("attach", lambda: dashboard_bench.attach_and_detach(5 if quick else 15)),
        ("passthrough", lambda: _passthrough(quick)),
        ("sandbox", lambda: sandbox_bench.run(count=100, repeat=5 if quick else 15)),
        ("agents", lambda: agents_bench.run(
            **(agents_bench.QUICK if quick else agents_bench.FULL))),
        ("sprites", lambda: sprites_bench.run(5 if quick else 15, 10 if quick else 30)),
        ("idle-builtin", lambda: idle_bench.run(
            **(idle_bench.QUICK if quick else idle_bench.FULL))),
        ("fleets", lambda: fleets_bench.run(5 if quick else 9, 10 if quick else 30, not quick)),
        ("cap", dashboard_bench.memory_at_cap),
        ("web", lambda: web_bench.run(**(web_bench.QUICK if quick else web_bench.FULL))),
        ("refusal", dashboard_bench.refusal_past_the_cap),
        ("table", lambda: scale_bench.headless_table(5 if quick else 9)),
        ("scale", lambda: {**scale_bench.dashboard_costs(3 if quick else 5),
                           **scale_bench.polling_10000(30 if quick else 100)}),
        ("first paint", lambda: scale_bench.first_paint(3 if quick else 5)),
        ("soak", lambda: dashboard_bench.soak(
            **(dashboard_bench.SOAK_QUICK if quick else dashboard_bench.SOAK_FULL))),
    ]  # fmt: skip
    results: dict[str, float] = {}
    for name, step in steps:
        began = time.monotonic()
        results.update(step())
        print(f"[{name}: {time.monotonic() - began:.0f} s]", file=sys.stderr, flush=True)
    return results


def _passthrough(quick: bool) -> dict[str, float]:
    figures = attach_bench.run(repeat=5 if quick else 15, flood_mb=8 if quick else 16)
    return {
        "attach_passthrough_ms": figures["attach_ms"],
        "detach_passthrough_ms": figures["detach_ms"],
        "passthrough_mb_s": figures["passthrough_mb_s"],
        "direct_pty_mb_s": figures["direct_pty_mb_s"],
    }


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.system()} {platform.release()}, {psutil.cpu_count()} cores, "
        f"{memory:.0f} GiB, Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (under 2 minutes)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    began = time.monotonic()
    results = run(args.quick)
    seconds = time.monotonic() - began
    missing = missing_keys(results)
    if missing:
        print(f"error: the run did not measure {', '.join(missing)}", file=sys.stderr)
        return 1
    warning = quick_warning(seconds) if args.quick else None
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"wreckit-tui benchmarks ({'quick' if args.quick else 'full'}) on {machine()}")
    print()
    rows = goals(results, seconds if args.quick else None)
    print_table([["figure", "value", "goal", "met"],
                 *([row.figure, f"{row.value:,.2f}", row.goal, "yes" if row.met else "NO"]
                   for row in rows)])  # fmt: skip
    if warning:
        print(f"\n{warning}")
    print()
    print("Agents in sprites: whole processes, each beside its baseline of the same run:")
    print_table(agents_table(results))
    if "web_first_rows_ms" in results:
        print()
        print("In a browser (Chromium, loopback), each beside its baseline of the same run:")
        print_table(agents_table(results, WEB_FIGURES, "browser (ms)"))
    print()
    print(
        f"A cursor key, UI-thread ms: {results['key_ui_ms_dashboard']:.1f} in the dashboard, "
        f"{results['key_ui_ms_minimal']:.1f} in a minimal Textual table app"
    )
    print()
    print("UI-thread ms per refresh, and whole-process ms of the headless list, by fleet size:")
    print_table(scaling(results, QUICK_SIZES if args.quick else SIZES))
    print()
    print("Three backends of 1,000 sprites, beside one backend of the same 3,000:")
    print_table(fleets_table(results))
    print(f"\n{results['soak_polls']:.0f} soak polls; done in {seconds:.0f} s")
    if args.json:
        print(json.dumps(json_report(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
