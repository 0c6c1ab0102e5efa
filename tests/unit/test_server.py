"""The HTTP protocol's joined writes (api/server.py), on a real event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from pgsearch.api.server import _JoinedWrites


class Recording(asyncio.Transport):
    """A transport that keeps what is written to it, and the order of writes and closing."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1234)}.get(name, default)


def test_writes_of_one_step_leave_together() -> None:
    async def run() -> list[Any]:
        raw = Recording()
        joined = _JoinedWrites(raw, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.write(memoryview(b"body"))
        assert raw.events == []  # nothing sent before the step ends
        assert joined.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        joined.writelines([b"next", b" answer"])
        await asyncio.sleep(0)
        return raw.events

    assert asyncio.run(run()) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next answer"]


def test_close_sends_what_is_pending_first() -> None:
    async def run() -> list[Any]:
        raw = Recording()
        joined = _JoinedWrites(raw, asyncio.get_running_loop())
        joined.write(b"413 answer")
        joined.close()
        await asyncio.sleep(0)  # the scheduled send finds nothing left
        return raw.events

    assert asyncio.run(run()) == [b"413 answer", "close"]


def test_abort_drops_what_is_pending() -> None:
    async def run() -> tuple[list[Any], Any]:
        raw = Recording()
        joined = _JoinedWrites(raw, asyncio.get_running_loop())
        joined.write(b"never sent")
        joined.abort()
        await asyncio.sleep(0)
        return raw.events, joined.get_extra_info("peername")

    assert asyncio.run(run()) == (["abort"], ("127.0.0.1", 1234))
