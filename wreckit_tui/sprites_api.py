"""The Fly.io Sprites REST API over HTTP: the only module that imports ``httpx``.

:class:`SpritesAPI` keeps one client (and its connections) alive between polls, lists every page
of ``GET /v1/sprites`` within ``list_timeout``, creates (``POST /v1/sprites``) and deletes
(``DELETE /v1/sprites/{name}``). Every failure is a :class:`~wreckit_tui.errors.WispError`
whose message is one line a person can act on and never holds the token: a missing or rejected
token exits 3, a sprite not found 5, anything else (5xx, timeout, refused, bad JSON, a page loop,
too much output, rate limited) 4. A 429 is backed off as its ``Retry-After`` says.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from wreckit_tui.errors import SpriteNotFound, WispError
from wreckit_tui.text import sanitize

PAGE_SIZE = 50
"""``max_results`` of each page: the most the API gives."""
MAX_EMPTY_PAGES = 10
"""Pages without a sprite that still say ``has_more``, before the listing is given up."""
MAX_RETRY_AFTER = 3600.0
T = TypeVar("T")
COUNTERS = ("running", "warm", "cold", "running_limit", "warm_limit")
"""The org counters some list responses carry at their top level."""


class SpritesAuthError(WispError):
    """No token, or the API rejected it: the user must act before anything works."""

    exit_code = 3


class SpritesRateLimited(WispError):
    """The API answered 429; ``retry_after`` seconds is how long it asked to wait."""

    def __init__(self, what: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"{what}: rate limited by the Sprites API; retrying in {retry_after:g}s")


class SpritesUnavailable(WispError):
    """The API could not be reached, timed out, failed or answered nonsense."""


@dataclass(frozen=True)
class Listing:
    """Every sprite object of every page, in the API's order, and the org counters seen."""

    items: list[Any]
    counters: dict[str, int]


@dataclass
class SpritesAPI:
    """An async client of one Sprites API (``base_url``) with one token.

    Connections are kept between calls of one event loop (the dashboard's, between polls); each
    other loop (an ``asyncio.run`` of the CLI, a thread's) gets a client of its own.
    """

    base_url: str
    token: str = field(repr=False)
    list_timeout: float = 10
    timeout: float = 300
    max_output_bytes: int = 16 * 1024 * 1024
    max_sprites: int = 20_000
    _clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False
    )
    _not_before: float = field(default=0.0, repr=False)
    """Monotonic time before which a 429 asked not to call again."""

    def client(self) -> httpx.AsyncClient:
        """The client of the running event loop, made at its first call on that loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._new_client()
        return client

    def _new_client(self) -> httpx.AsyncClient:
        """A client for ``base_url`` with the token; proxies come from the usual variables."""
        try:
            return httpx.AsyncClient(
                base_url=self.base_url.rstrip("/"),
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                timeout=httpx.Timeout(self.list_timeout, connect=min(5.0, self.list_timeout)),
                follow_redirects=False,  # the token goes to SPRITES_API_URL alone
            )
        except Exception as exc:  # a proxy variable it cannot use, say
            raise SpritesUnavailable(
                f"cannot set up the HTTP client for the Sprites API: "
                f"{self._clean(type(exc).__name__ + ': ' + str(exc))}"
            ) from None

    async def aclose(self) -> None:
        """Close the running loop's client and its connections."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    async def list_all(self, prefix: str = "") -> Listing:
        """Every page of ``GET /v1/sprites``, within ``list_timeout`` in all."""
        what = "Sprites API GET /v1/sprites"
        return await self._within(what, self.list_timeout, self._pages(what, prefix))

    async def _pages(self, what: str, prefix: str) -> Listing:
        items: list[Any] = []
        counters: dict[str, int] = {}
        seen: set[str] = set()
        total, empty = 0, 0
        token: str | None = None
        while True:
            params = {"max_results": str(PAGE_SIZE)}
            params |= {"prefix": prefix} if prefix else {}
            params |= {"continuation_token": token} if token else {}
            call = _Call("GET", "/v1/sprites", what, self.list_timeout, params=params)
            body = await self._request(call, cap=total)
            total += len(body)
            page = self._decode(body, what)
            sprites = page.get("sprites")
            if not isinstance(sprites, list):
                raise self._bad(what, 'expected {"sprites": [...]}')
            items.extend(sprites)
            counters |= {k: v for k in COUNTERS if (v := _count(page.get(k))) is not None}
            if len(items) > self.max_sprites:
                raise self._bad(what, f"too many sprites (over max_sprites {self.max_sprites})")
            token = page.get("next_continuation_token")
            if page.get("has_more") is not True:
                return Listing(items, counters)
            if not token or not isinstance(token, str):
                raise self._bad(what, "has_more without a continuation token")
            empty = 0 if sprites else empty + 1
            if token in seen or empty > MAX_EMPTY_PAGES:
                raise self._bad(what, "its pages never end (a continuation token came back)")
            seen.add(token)

    async def get(self, name: str) -> dict[str, Any]:
        """``GET /v1/sprites/{name}``; a 404 is :class:`SpriteNotFound`."""
        call = self._on(name, "GET", self.list_timeout)
        body = await self._within(call.what, call.seconds, self._request(call))
        return self._decode(body, call.what)

    async def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/sprites`` with ``payload``; the sprite the API returned."""
        what = "Sprites API POST /v1/sprites"
        call = _Call("POST", "/v1/sprites", what, self.timeout, payload=payload)
        body = await self._within(what, self.timeout, self._request(call))
        return self._decode(body, what) if body.strip() else {}

    async def delete(self, name: str) -> None:
        """``DELETE /v1/sprites/{name}``; a 404 is :class:`SpriteNotFound`."""
        call = self._on(name, "DELETE", self.timeout)
        await self._within(call.what, call.seconds, self._request(call))

    def _on(self, name: str, method: str, seconds: float) -> _Call:
        path = f"/v1/sprites/{quote(name, safe='')}"
        return _Call(method, path, f"Sprites API {method} {path}", seconds, name=name)

    async def _within(self, what: str, seconds: float, work: Awaitable[T]) -> T:
        """``work``, given ``seconds`` in all (a timeout error past them)."""
        try:
            async with asyncio.timeout(seconds):
                return await work
        except TimeoutError:
            raise SpritesUnavailable(
                f"{what} timed out after {seconds:g}s; check SPRITES_API_URL and the network, "
                "or raise list_timeout/timeout"
            ) from None

    async def _request(self, call: _Call, *, cap: int = 0) -> bytes:
        """One request, after any back-off a 429 asked for; the body, at most
        ``max_output_bytes`` less ``cap`` already read. A back-off longer than the call's time
        left is :class:`SpritesRateLimited` at once."""
        deadline = asyncio.get_running_loop().time() + call.seconds
        while True:
            await self._wait_turn(call.what, deadline)
            timeout = httpx.Timeout(call.seconds, connect=min(5.0, call.seconds))
            try:
                async with self.client().stream(
                    call.method, call.path, params=call.params, json=call.payload, timeout=timeout
                ) as response:
                    if response.status_code == 429:
                        self._back_off(response)
                        continue
                    body = await self._read(response, call.what, self.max_output_bytes - cap)
            except httpx.TimeoutException:
                raise TimeoutError from None
            except httpx.HTTPError as exc:
                raise SpritesUnavailable(
                    f"{call.what}: cannot reach the Sprites API at {self._clean(self.base_url)}"
                    f" ({self._clean(type(exc).__name__ + ': ' + str(exc))}); check "
                    "SPRITES_API_URL and the network"
                ) from None
            self._check_status(response.status_code, body, call.what, call.name)
            return body

    async def _wait_turn(self, what: str, deadline: float) -> None:
        """Sleep until a 429's ``Retry-After`` is over, if the call has the time for it."""
        now = asyncio.get_running_loop().time()
        left = self._not_before - time.monotonic()
        if left <= 0:
            return
        if now + left > deadline:
            raise SpritesRateLimited(what, round(left, 1))
        await asyncio.sleep(left)

    def _back_off(self, response: httpx.Response) -> None:
        self._not_before = time.monotonic() + retry_after(response.headers.get("retry-after"))

    async def _read(self, response: httpx.Response, what: str, limit: int) -> bytes:
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._bad(what, f"more than max_output_bytes ({self.max_output_bytes})")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_status(self, status: int, body: bytes, what: str, name: str | None) -> None:
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise SpritesAuthError(
                f"{what}: token rejected (HTTP {status}); check SPRITE_TOKEN or "
                "sprites_token_file, and sprites_org"
            )
        if status == 404 and name is not None:
            raise SpriteNotFound(name)
        raise SpritesUnavailable(f"{what} failed with HTTP {status}{self._summary(body)}")

    def _summary(self, body: bytes) -> str:
        """``: the API's error message``, from ``{"error": …}`` or ``{"errors": […]}``."""
        try:
            answer = json.loads(body.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            return ""
        if not isinstance(answer, dict):
            return ""
        message = answer.get("error") or answer.get("errors")
        if isinstance(message, list):
            message = "; ".join(str(part) for part in message[:3])
        return f": {self._clean(str(message))[:200]}" if message else ""

    def _decode(self, body: bytes, what: str) -> dict[str, Any]:
        try:
            answer = json.loads(body.decode("utf-8", errors="replace"), parse_constant=_refuse)
        except (ValueError, RecursionError):
            raise self._bad(what, "not valid JSON") from None
        if not isinstance(answer, dict):
            raise self._bad(what, f"expected a JSON object, got {type(answer).__name__}")
        return answer

    def _bad(self, what: str, problem: str) -> SpritesUnavailable:
        return SpritesUnavailable(
            f"{what} gave bad output: {problem}. Check that SPRITES_API_URL is the Sprites API"
        )

    def _clean(self, text: str) -> str:
        """Text from the API or the network, safe to show: sanitized, the token blanked."""
        return sanitize(text.replace(self.token, "[token]") if self.token else text)


@dataclass(frozen=True)
class _Call:
    """One request: method, path, how to name it, its time, and what it sends."""

    method: str
    path: str
    what: str
    seconds: float
    params: dict[str, str] | None = None
    payload: Any = None
    name: str | None = None
    """The sprite it is about: a 404 then means that sprite is not found."""


def retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date); 1 when absent
    or unreadable, at most :data:`MAX_RETRY_AFTER`."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return 1.0
    if math.isnan(seconds):
        return 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
