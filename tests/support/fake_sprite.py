"""A fake of Fly.io's ``sprite`` CLI: ``console`` and ``exec``, as wreckit-tui runs them.

``sprite [-o ORG] console -s NAME`` prints a banner and a prompt, and answers each line typed
(``exit`` ends it; with a file ``fail`` in its home it fails at once, status 1);
``sprite [-o ORG] exec -s NAME -- CMD...`` runs CMD here with its stdin,
stdout, stderr and status (127 when it is missing). Each run notes its argv and whether it got
the expected token in ``SPRITE_TOKEN`` in ``FAKE_SPRITE_HOME/calls.jsonl``; :func:`install`
puts a launcher for it in a directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _note(home: Path, argv: list[str]) -> None:
    expected = (home / "token").read_text() if (home / "token").exists() else None
    record = {"argv": argv, "token_ok": os.environ.get("SPRITE_TOKEN") == expected}
    with open(home / "calls.jsonl", "a") as log:
        log.write(json.dumps(record) + "\n")


def _console(name: str) -> int:
    out = sys.stdout
    out.write(f"fake sprite console on {name}\r\n{name}$ ")
    out.flush()
    for line in sys.stdin:
        command = line.strip()
        if command == "exit":
            return 0
        out.write(f"ran: {command}\r\n{name}$ ")
        out.flush()
    return 0


def _exec(argv: list[str]) -> int:
    try:
        return subprocess.run(argv, check=False).returncode
    except FileNotFoundError:
        print(f"sprite exec: {argv[0]}: command not found", file=sys.stderr)
        return 127


def main(argv: list[str]) -> int:
    home = Path(os.environ["FAKE_SPRITE_HOME"])
    _note(home, argv)
    args = list(argv)
    if args[:1] == ["-o"]:
        args = args[2:]
    if len(args) < 3 or args[1] != "-s":
        print("usage: sprite [-o ORG] console|exec -s NAME [-- CMD...]", file=sys.stderr)
        return 2
    command, name, rest = args[0], args[2], args[3:]
    if command == "console" and (home / "fail").exists():
        print("sprite: could not connect to the sprite", file=sys.stderr)
        return 1
    if command == "console":
        return _console(name)
    if command == "exec" and rest[:1] == ["--"] and len(rest) > 1:
        return _exec(rest[1:])
    print(f"sprite: unknown command {command}", file=sys.stderr)
    return 2


def install(directory: Path, token: str) -> Path:
    """A ``sprite`` launcher in ``directory`` (run with this interpreter) that expects
    ``token``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text(token)
    launcher = directory / "sprite"
    launcher.write_text(
        f"#!{sys.executable} -IS\n"
        "import os, sys\n"
        f"os.environ['FAKE_SPRITE_HOME'] = {str(directory)!r}\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import fake_sprite\n"
        "sys.exit(fake_sprite.main(sys.argv[1:]))\n"
    )
    launcher.chmod(0o755)
    return launcher


def calls(directory: Path) -> list[dict]:
    path = directory / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
