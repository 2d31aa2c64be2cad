"""The wheel a user installs carries the stylesheet, the provider, the web pages (with
xterm.js) and both scripts."""

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
    web = "wreckit_tui/data/web/"
    xterm = ("xterm.js", "xterm.css", "addon-fit.js", "LICENSE-xterm", "LICENSE-addon-fit")
    shipped = [*(f"static/xterm/{n}" for n in xterm), "static/attach.js", "templates/index.html"]
    for name in shipped:
        assert web + name in names  # serve needs no CDN
    assert "wreckit-tui = wreckit_tui.cli:main" in scripts
    assert "wreckit-sandbox = wreckit_tui.sandbox.cli:main" in scripts
    assert not any("__pycache__" in name for name in names)
