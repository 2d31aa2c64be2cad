"""Recordings of attach sessions as asciicast v2 files, the format asciinema plays.

A file is one JSON header line (``version``, ``width``, ``height``, ``timestamp``, ``env``,
``title``), then one line per event: ``[seconds since the start, code, data]`` with code ``o``
for output, ``i`` for input (only when asked for: what one types may be a secret) and ``r`` for a
resize (``"COLSxROWS"``). Times never go backwards. Play one with ``asciinema play FILE``.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import IO

from wreckit_tui.text import sanitize

_UNSAFE = re.compile(r"[^a-z0-9-]")


def recording_path(directory: str | os.PathLike, name: str, started: float | None = None) -> Path:
    """``DIR/NAME-YYYYmmdd-HHMMSS.cast`` (UTC), a new file; a number is added if taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if started is None else started))
    base = Path(directory) / f"{_UNSAFE.sub('-', name)}-{stamp}"
    path, number = base.with_suffix(".cast"), 1
    while path.exists():
        number += 1
        path = Path(f"{base}-{number}.cast")
    return path


def open_recorder(
    directory: str, name: str, size: tuple[int, int], *, record_input: bool = False
) -> tuple[Recorder | None, str | None]:
    """A new recording of sprite ``name`` in ``directory`` (made 0700 if missing), or ``None``
    and one line saying why not: a recording that cannot be opened never stops an attach."""
    try:
        path = recording_path(directory, name)
        return Recorder(path, size, title=name, record_input=record_input), None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, sanitize(f"not recording this attach: cannot write in {directory}: {reason}")


class Recorder:
    """Writes one session's events as they happen; a failed write stops the recording, never
    the session. Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        path: str | os.PathLike,
        size: tuple[int, int],
        *,
        title: str = "",
        record_input: bool = False,
        clock=time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.record_input = record_input
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self._decoders = {
            code: codecs.getincrementaldecoder("utf-8")(errors="replace") for code in "oi"
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb", buffering=_BUFFER_BYTES)
        self._flushed = 0.0
        self._output = bytearray()  # output not yet written, read from BATCH_SECONDS on
        self._output_at = 0.0
        rows, cols = size
        header = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "env": {"TERM": os.environ.get("TERM", ""), "SHELL": os.environ.get("SHELL", "")},
            "title": title,
        }
        self._write(json.dumps(header).encode() + b"\n")

    def output(self, data: bytes) -> None:
        """Output read at once is one event: a flood costs one event per batch, not per read."""
        now = self._clock() - self._start
        if self._output and now - self._output_at >= BATCH_SECONDS:
            self._write_output()
        if not self._output:
            self._output_at = now
        self._output += data

    def input(self, data: bytes) -> None:
        if self.record_input:
            self._write_output()
            self._event("i", self._decoders["i"].decode(data))

    def resize(self, rows: int, cols: int) -> None:
        self._write_output()
        self._event("r", f"{cols}x{rows}")

    def close(self) -> None:
        self._write_output()
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):
                file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _write_output(self) -> None:
        if not self._output:
            return
        data, self._output = bytes(self._output), bytearray()
        decoder = self._decoders["o"]
        if data.isascii() and not decoder.getstate()[0]:  # the usual case: no decoding needed
            self._line("o", json_ascii(data), self._output_at)
        else:
            self._event("o", decoder.decode(data), self._output_at)

    def _event(self, code: str, data: str, at: float | None = None) -> None:
        if data:
            self._line(code, json_text(data), self._clock() - self._start if at is None else at)

    def _line(self, code: str, escaped: bytes, at: float) -> None:
        self._last = max(self._last, round(at, 6))
        self._write(b'[%.6f, "%s", "%s"]\n' % (self._last, code.encode(), escaped))
        if self._file is not None and self._last - self._flushed >= FLUSH_SECONDS:
            self._flushed = self._last
            self._flush()

    def _write(self, line: bytes) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line)
        except OSError:
            self.close()

    def _flush(self) -> None:
        try:
            self._file.flush()
        except OSError:
            self.close()


_BUFFER_BYTES = 1 << 16
BATCH_SECONDS = 0.005
"""Output read within this long of the first unwritten read joins it in one event (at its
time): no one sees the difference on playback, and a flood is recorded at a fraction of the
cost of an event per read."""
FLUSH_SECONDS = 0.5
"""Events reach the file at most this long after they happened (and all of them at the end):
writing each read of a flood at once would slow the session down."""
_CONTROLS = bytes(range(0x20))
"""What JSON must escape in a string besides quotes and backslashes (UTF-8 keeps them apart:
every byte of a longer character is 0x80 or more)."""
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\x1b", "\\u001b"))
_BYTE_ESCAPES = tuple((plain.encode(), escape.encode()) for plain, escape in _ESCAPES)


def json_ascii(data: bytes) -> bytes:
    """ASCII ``data`` as the inside of a JSON string, as :func:`json_text` does it."""
    escaped = data
    for plain, escape in _BYTE_ESCAPES:
        if plain in escaped:
            escaped = escaped.replace(plain, escape)
    if len(escaped.translate(None, _CONTROLS)) == len(escaped):
        return escaped
    return json.dumps(data.decode("ascii")).encode()[1:-1]


def json_text(text: str) -> bytes:
    """``text`` as the inside of a JSON string, in UTF-8. Terminal output is mostly printable with
    line ends and escape sequences: those are replaced at C speed; when any other control
    character is left (they are rare), ``json`` escapes it all."""
    escaped = text
    for plain, escape in _ESCAPES:
        if plain in escaped:
            escaped = escaped.replace(plain, escape)
    raw = escaped.encode("utf-8", "replace")
    if len(raw.translate(None, _CONTROLS)) == len(raw):
        return raw
    return json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8", "replace")
