"""A recorded attach to a real sandbox of the built-in provider, in a real terminal (tmux)."""

from __future__ import annotations

import shutil
import sys

from tests.sandbox.test_dashboard_attach import TOOLS
from tests.support.waiting import wait_until
from tests.test_attach_recording import codes_after, only_cast, output_of, read_cast


def test_an_attach_to_a_sandbox_is_recorded(sandboxes, isolated_config, tmux_pane, tmp_path):
    tools = tmp_path / "tools"  # the provider's tools and no wisp: the built-in provider
    tools.mkdir()
    for tool in TOOLS:
        if found := shutil.which(tool):
            (tools / tool).symlink_to(found)
    sandboxes.start("rec")
    casts = tmp_path / "casts"
    env = {
        "PATH": str(tools),
        "WRECKIT_SANDBOX_HOME": str(sandboxes.path),
        "WRECKIT_TUI_CONFIG": str(isolated_config),
        "TERM": "xterm-256color",
    }
    attach = f"{sys.executable} -m wreckit_tui attach rec --set record_dir={casts}"
    pane = tmux_pane(["sh", "-c", f"{attach}; echo status=$?; read wait"], env, size=(120, 36))
    pane.wait_for(lambda s: "@rec" in s)
    pane.send("echo rec-$((6*7))", "Enter")
    pane.wait_for(lambda s: "rec-42" in s)
    pane.resize(100, 30)

    def resized() -> bool:  # the resize reaches the sandbox's shell asynchronously
        before = pane.text().count("size ")
        pane.send("echo size $(stty size)", "Enter")
        return "size 29 100" in pane.wait_for(lambda s: s.count("size ") > before)

    wait_until(resized, timeout=10)
    pane.send("C-]")
    pane.wait_for(lambda s: "status=0" in s)

    header, events = read_cast(only_cast(casts))
    assert (header["width"], header["height"]) == (120, 36)  # no row kept for a banner
    assert "rec-42" in output_of(events)
    assert "100x30" in [data for _, code, data in events if code == "r"]
    assert "r" in codes_after(events, "rec-42")
    assert not [event for event in events if event[1] == "i"]
