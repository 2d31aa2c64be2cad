"""Helpers shared by the tests and the benchmarks (none of them needs pytest).

- ``fake_wisp``: a fake ``wisp`` program speaking the wisp CLI contract, with fault scenarios.
- ``fake_sprites_api``: a fake Fly.io Sprites REST API (a real HTTP server on 127.0.0.1, in
  a process of its own) with fault scenarios, and ``FakeSprites``, a handle on it.
- ``fake_sprite``: a fake of Fly.io's ``sprite`` CLI (``console``, ``exec``); ``install`` it.
- ``fake_wisp_handle``: installs a fake wisp in a directory and reads its state and calls.
- ``dashboard_harness``: the dashboard app on a fake wisp under Textual's Pilot; screen text.
- ``cli_harness``: runs many ``wreckit-tui`` command lines in one process (hostile settings).
- ``attach_pty``: a real pty standing in for the user's terminal; ``read_until`` on any fd.
- ``tmux_pane``: ``TmuxPane``, a program in a tmux pane on a server of its own: keys in,
  screen text out (tests get one from the ``tmux_pane`` fixture).
- ``waiting``: ``wait_until``, ``wait_until_async`` (under a Pilot) and ``wait_for_file``.
- ``driver_probe``: a small app on the quick-suspend driver, run by the driver tests.
"""
