"""The previewer decides when to capture: one capture at a time, only of the sprite watched."""

from __future__ import annotations

import asyncio

from wreckit_tui.errors import NotSupported, SpriteNotFound
from wreckit_tui.poller import LoopScheduler
from wreckit_tui.preview import CANNOT_CAPTURE, Preview, Previewer


async def test_never_two_captures_at_once_and_a_stale_one_is_not_shown():
    started: list[str] = []
    release = asyncio.Event()

    async def capture(name: str) -> str:
        started.append(name)
        await release.wait()
        return f"screen of {name}"

    shown: list[Preview] = []
    previewer = Previewer(LoopScheduler(), capture, shown.append, interval=0.05)
    previewer.watch("alpha")
    await asyncio.sleep(0.05)
    previewer.watch("bravo")
    previewer.watch("charlie")
    await asyncio.sleep(0.05)
    assert started == ["alpha"]  # the others wait for it to end
    release.set()
    await asyncio.sleep(0.03)
    assert started[:2] == ["alpha", "charlie"]
    assert shown and {preview.name for preview in shown} == {"charlie"}
    assert shown[0] == Preview("charlie", screen="screen of charlie")
    previewer.watch(None)
    await asyncio.sleep(0.02)
    count = len(started)
    await asyncio.sleep(0.15)
    assert len(started) == count  # watching none: no capture


async def test_paused_it_captures_nothing_and_resumes_at_once():
    started: list[str] = []

    async def capture(name: str) -> str:
        started.append(name)
        return ""

    previewer = Previewer(LoopScheduler(), capture, lambda _preview: None, interval=0.05)
    previewer.pause()
    previewer.watch("alpha")
    await asyncio.sleep(0.15)
    assert started == []
    previewer.resume()
    await asyncio.sleep(0.01)
    assert started == ["alpha"]
    previewer.watch(None)


async def test_a_backend_without_capture_is_said_once_and_not_asked_again():
    calls = 0

    async def capture(name: str) -> str:
        nonlocal calls
        calls += 1
        raise NotSupported("capture is not supported")

    shown: list[Preview] = []
    previewer = Previewer(LoopScheduler(), capture, shown.append, interval=0.02)
    previewer.watch("alpha")
    await asyncio.sleep(0.15)
    assert calls == 1
    assert shown == [Preview("alpha", note=CANNOT_CAPTURE)]


async def test_a_sprite_gone_is_said_and_asked_again():
    async def capture(name: str) -> str:
        raise SpriteNotFound(name)

    shown: list[Preview] = []
    previewer = Previewer(LoopScheduler(), capture, shown.append, interval=0.02)
    previewer.watch("alpha")
    await asyncio.sleep(0.1)
    previewer.watch(None)
    assert len(shown) >= 2
    assert shown[0].note == "alpha is gone: there is no screen to show."
