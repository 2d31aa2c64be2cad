"""Every benchmark of wreckit-tui against its goal: ``python bench/run.py [--quick] [--json]``.

Prints a table of the figures (medians of repeated runs), a scaling table for 10, 100, 1,000
and 5,000 sprites, and with ``--json`` one JSON object as the last line. Needs the package's
runtime dependencies, tmux and bubblewrap; run it from the repository root.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import attach_bench  # noqa: E402
import dashboard_bench  # noqa: E402
import psutil  # noqa: E402
import sandbox_bench  # noqa: E402

SIZES = (10, 100, 1000, 5000)
QUICK_SIZES = (10, 100, 1000)


def goals(results: dict[str, float]) -> list[tuple[str, str, str, bool]]:
    """(figure, value, goal, met) for every goal of the project."""
    refresh = results["refresh_ms_1000_changed_10"]
    rebuild = results["rebuild_ms_1000"]
    total = refresh + results["paint_ms_1000_changed_10"]
    rebuild_total = rebuild + results["rebuild_paint_ms_1000"]
    overhead = results["headless_json_ms_1000"] - results["wisp_list_ms_1000"]
    ratio = results["passthrough_mb_s"] / results["direct_pty_mb_s"]
    rows = [
        ("refresh, 10 of 1,000 changed (ms)", refresh, "<= 5", refresh <= 5),
        ("refresh, all 1,000 changed (ms)", results["refresh_ms_1000_changed_1000"], "<= 60",
         results["refresh_ms_1000_changed_1000"] <= 60),
        ("clear-and-rebuild / refresh", rebuild / refresh, ">= 20", rebuild / refresh >= 20),
        ("... repaint counted too", rebuild_total / total, ">= 20", rebuild_total / total >= 20),
        ("key latency p95, wisp hung (ms)", results["key_latency_ms_p95_hung_wisp"], "<= 50",
         results["key_latency_ms_p95_hung_wisp"] <= 50),
        ("idle CPU, 100 sprites (% of a core)", results["idle_cpu_percent_100_sprites"], "<= 1",
         results["idle_cpu_percent_100_sprites"] <= 1),
        ("RSS, 1,000 sprites (MB)", results["rss_mb_1000_sprites"], "<= 120",
         results["rss_mb_1000_sprites"] <= 120),
        ("headless overhead over wisp (ms)", overhead, "<= 250", overhead <= 250),
        ("attach: key to prompt (ms)", results["attach_ms"], "<= 150", results["attach_ms"] <= 150),
        ("detach: key to dashboard (ms)", results["detach_ms"], "<= 150",
         results["detach_ms"] <= 150),
        ("passthrough / direct pty copy", ratio, ">= 0.8", ratio >= 0.8),
        ("sandbox start (ms)", results["sandbox_start_ms"], "<= 150",
         results["sandbox_start_ms"] <= 150),
        ("sandbox list of 100 (ms)", results["sandbox_list_ms_100"], "<= 200",
         results["sandbox_list_ms_100"] <= 200),
        ("soak crashes", results["soak_crashes"], "0", results["soak_crashes"] == 0),
        ("soak leaked processes", results["soak_leaked_processes"], "0",
         results["soak_leaked_processes"] == 0),
        ("soak RSS growth (MB)", results["soak_rss_growth_mb"], "<= 5",
         results["soak_rss_growth_mb"] <= 5),
    ]  # fmt: skip
    return [(name, f"{value:,.2f}", goal, met) for name, value, goal, met in rows]


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
        ("headless", lambda: dashboard_bench.headless_overhead(sizes, 5 if quick else 9)),
        ("idle", lambda: dashboard_bench.idle_cpu_and_memory(
            10 if quick else 30, (1000,) if quick else (1000, 5000))),
        ("attach", lambda: dashboard_bench.attach_and_detach(5 if quick else 15)),
        ("passthrough", lambda: _passthrough(quick)),
        ("sandbox", lambda: sandbox_bench.run(count=100, repeat=5 if quick else 15)),
        ("soak", lambda: dashboard_bench.soak(1000 if quick else 10_000)),
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
    print(f"wreckit-tui benchmarks ({'quick' if args.quick else 'full'}) on {machine()}")
    print()
    print_table([["figure", "value", "goal", "met"],
                 *([name, value, goal, "yes" if met else "NO"]
                   for name, value, goal, met in goals(results))])  # fmt: skip
    print()
    print("UI-thread ms per refresh, and whole-process ms of the headless list, by fleet size:")
    print_table(scaling(results, QUICK_SIZES if args.quick else SIZES))
    print(f"\n{results['soak_polls']:.0f} soak polls; done in {time.monotonic() - began:.0f} s")
    if args.json:
        print(json.dumps({key: round(value, 3) for key, value in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
