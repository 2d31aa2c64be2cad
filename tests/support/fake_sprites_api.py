"""A fake Fly.io Sprites REST API on 127.0.0.1, with fault scenarios; and a handle on it.

Run as ``python -m tests.support.fake_sprites_api``: it prints its port and serves until killed.
It serves the documented endpoints (``GET``/``POST /v1/sprites`` with pages and continuation
tokens, ``GET``/``DELETE /v1/sprites/{name}``), checks ``Authorization: Bearer TOKEN``, and is
driven by its own ``/_fake/`` endpoints: ``state`` (the fleet, page size, org counters, token
and a fault), ``requests`` (what it received) and ``stats`` (the time its handlers took).

Faults (``{"kind": ..., "times": N}``, ``times`` absent: for ever): ``status`` (``code``,
``body``, ``retry_after``), ``hang``, ``bad_json``, ``loop`` (a continuation token that comes
back), ``endless`` (empty pages that never end), ``no_token`` (``has_more`` without a token),
``huge`` (``bytes`` of padding in a page).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REPO = Path(__file__).resolve().parents[2]


class State:
    """What the fake holds: sprites, how it pages, its faults and what it was asked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token = "test-token"
        self.sprites: list[dict] = []
        self.page_size = 50
        self.counters: dict | None = None
        self.fault: dict | None = None
        self.requests: list[dict] = []
        self.handler_seconds = 0.0
        self.stop = threading.Event()

    def take_fault(self, path: str) -> dict | None:
        with self.lock:
            fault = self.fault
            if fault is None or path.startswith("/_fake") or not fault_applies(fault, path):
                return None
            if fault.get("times") is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.fault = None
            return fault


def fault_applies(fault: dict, path: str) -> bool:
    only = fault.get("only")  # "list": only GET /v1/sprites; "item": only /v1/sprites/NAME
    return only is None or (only == "list") == (path.rstrip("/") == "/v1/sprites")


def sprite(name: str, status: str = "running", index: int = 0, **extra: Any) -> dict:
    """A sprite object as the API returns it."""
    return {
        "id": f"sprite-{index:06d}",
        "name": name,
        "organization": "test-org",
        "status": status,
        "url": f"https://{name}-t3st.sprites.app",
        "url_settings": {"auth": "sprite"},
        "created_at": "2026-01-13T10:30:00Z",
        "updated_at": "2026-01-13T10:30:00Z",
        **extra,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        state = self.server.state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_fake/"):
            self._control(method, url.path, body)
            return
        auth_ok = self.headers.get("Authorization") == f"Bearer {state.token}"
        with state.lock:
            state.requests.append(
                {"method": method, "path": url.path, "query": url.query, "auth_ok": auth_ok}
            )
        try:
            fault = state.take_fault(url.path)
            if fault is not None and fault["kind"] == "hang":
                state.stop.wait(300)
                return
            if not auth_ok:
                self._send(401, {"error": "unauthorized"})
            elif fault is not None and fault["kind"] == "status":
                after = fault.get("retry_after")
                headers = {"Retry-After": str(after)} if after is not None else {}
                self._send(fault["code"], fault.get("body", {"error": "boom"}), headers)
            else:
                self._route(method, url.path, parse_qs(url.query), body, fault)
        finally:
            with state.lock:
                state.handler_seconds += time.perf_counter() - started

    def _route(self, method: str, path: str, query: dict, body: bytes, fault: dict | None) -> None:
        state = self.server.state
        if path.rstrip("/") == "/v1/sprites":
            if method == "GET":
                self._list(query, fault)
            else:
                self._create(json.loads(body or b"{}"))
            return
        name = unquote(path.removeprefix("/v1/sprites/"))
        with state.lock:
            found = next((s for s in state.sprites if s.get("name") == name), None)
            if found is not None and method == "DELETE":
                state.sprites.remove(found)
        if found is None:
            self._send(404, {"error": "sprite not found"})
        elif method == "DELETE":
            self._send(204, None)
        else:
            self._send(200, found)

    def _list(self, query: dict, fault: dict | None) -> None:
        state = self.server.state
        if fault is not None and fault["kind"] == "bad_json":
            self._send_raw(200, b'{"sprites": [')
            return
        token = query.get("continuation_token", ["t0"])[0]
        if fault is not None and fault["kind"] == "no_token":
            self._send(200, {"sprites": [], "has_more": True, "next_continuation_token": None})
            return
        if fault is not None and fault["kind"] in ("loop", "endless"):
            more = "t-loop" if fault["kind"] == "loop" else f"t-{time.monotonic_ns()}"
            self._send(200, {"sprites": [], "has_more": True, "next_continuation_token": more})
            return
        size = min(int(query.get("max_results", ["50"])[0]), state.page_size)
        start = int(token.removeprefix("t")) if token.removeprefix("t").isdigit() else 0
        with state.lock:
            page = state.sprites[start : start + size]
            more = start + size < len(state.sprites)
            answer: dict[str, Any] = {
                "sprites": page,
                "has_more": more,
                "next_continuation_token": f"t{start + size}" if more else None,
            }
            answer |= state.counters or {}
        if fault is not None and fault["kind"] == "huge":
            answer["padding"] = "x" * fault["bytes"]
        self._send(200, answer)

    def _create(self, request: dict) -> None:
        state = self.server.state
        name = request.get("name")
        with state.lock:
            if any(s.get("name") == name for s in state.sprites):
                self._send(400, {"error": "name already exists"})
                return
            made = sprite(name, "cold", len(state.sprites) + 1)
            if "config" in request:
                made["config"] = request["config"]
            state.sprites.append(made)
        self._send(201, made)

    def _control(self, method: str, path: str, body: bytes) -> None:
        state = self.server.state
        if path == "/_fake/state" and method == "POST":
            change = json.loads(body)
            with state.lock:
                for key, value in change.items():
                    setattr(state, key, value)
            self._send(200, {})
        elif path == "/_fake/requests":
            with state.lock:
                self._send(200, list(state.requests))
        elif path == "/_fake/stats":
            with state.lock:
                seconds, count = state.handler_seconds, len(state.requests)
            self._send(200, {"handler_seconds": seconds, "requests": count})
        elif path == "/_fake/forget" and method == "POST":
            with state.lock:
                state.requests.clear()
                state.handler_seconds = 0.0
            self._send(200, {})
        else:
            self._send(404, {"error": "no such control"})

    def _send(self, code: int, answer: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if answer is None else json.dumps(answer).encode()
        self._send_raw(code, data, headers)

    def _send_raw(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = State()


@dataclass
class FakeSprites:
    """The fake API running in a process of its own; ``url`` is its base URL."""

    process: subprocess.Popen
    url: str

    @classmethod
    def start(cls) -> FakeSprites:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_sprites_api"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        port = int(process.stdout.readline())
        return cls(process, f"http://127.0.0.1:{port}")

    def _post(self, path: str, change: dict) -> None:
        request = urllib.request.Request(
            self.url + path, json.dumps(change).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())

    def set(self, **change: Any) -> None:
        """Change the fake's state: ``sprites``, ``page_size``, ``counters``, ``token``,
        ``fault``."""
        self._post("/_fake/state", change)

    def requests(self) -> list[dict]:
        return self._get("/_fake/requests")

    def stats(self) -> dict:
        return self._get("/_fake/stats")

    def forget(self) -> None:
        self._post("/_fake/forget", {})

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def main() -> None:
    server = Server()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
