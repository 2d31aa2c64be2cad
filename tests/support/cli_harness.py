"""Run many ``wreckit-tui`` command lines in one process, each as the real program would run.

Used by the hostile-input tests to try thousands of command lines without paying for an
interpreter each. Reads a JSON list of cases on stdin, each ``{"argv": [...], "env": {...},
"config": "TOML text" | null}``, and prints one JSON result per case on stdout:
``{"code": N, "stderr": "...", "traceback": "..." | null}``.

Every case starts from the environment this program got, without any ``WRECKIT_TUI_*``
variable, plus the case's ``env``; its config file (when ``config`` is given) is the only thing
``WRECKIT_TUI_CONFIG`` names. stdout and stderr are captured per case. An exception that gets
out of :func:`wreckit_tui.cli.main` is what the real program would print as a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

from wreckit_tui.cli import main

BASE_ENV = {key: value for key, value in os.environ.items() if not key.startswith("WRECKIT_TUI_")}


def run_case(case: dict, config_path: Path) -> dict:
    os.environ.clear()
    os.environ.update({**BASE_ENV, **case.get("env", {})})
    if case.get("config") is not None:
        config_path.write_text(case["config"], encoding="utf-8")
        os.environ["WRECKIT_TUI_CONFIG"] = str(config_path)
    stdout, stderr = io.StringIO(), io.StringIO()
    crash = None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(case["argv"])
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code, crash = None, traceback.format_exc()
    return {"code": code, "stderr": stderr.getvalue(), "traceback": crash}


def run_all(cases: list[dict]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="wt-harness-") as home:
        config_path = Path(home) / "config.toml"
        return [run_case(case, config_path) for case in cases]


if __name__ == "__main__":
    results = run_all(json.load(sys.stdin))
    sys.__stdout__.write(json.dumps(results))
