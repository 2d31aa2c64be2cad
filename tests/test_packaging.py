"""The wheel a user installs carries the stylesheet, the provider and both scripts."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.conftest import REPO


def test_wheel_carries_styles_provider_and_scripts(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("wreckit_tui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert "wreckit_tui/styles/app.tcss" in names
    assert "wreckit_tui/sandbox/__main__.py" in names
    assert "wreckit-tui = wreckit_tui.cli:main" in scripts
    assert "wreckit-sandbox = wreckit_tui.sandbox.cli:main" in scripts
    assert not any("__pycache__" in name for name in names)
