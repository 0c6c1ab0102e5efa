"""How `pgsearch serve` runs uvicorn: its HTTP/1.1 protocol (httptools) with each response
leaving in one write, and with several workers, one listening socket per worker.

uvicorn writes a response's status line and headers as soon as the app sends them, and the body
when it comes: two writes, so two segments (TCP_NODELAY), and a client that wakes for the
headers, finds no body and sleeps again. Here the writes of one event-loop step are joined and
sent at the end of it: a search's answer leaves in one write (bench/peers.py). Nothing waits
longer than that step, and closing sends what is pending first.

uvicorn's workers share one listening socket, and whichever wakes first accepts: a burst of
keep-alive connections can land mostly on one worker, which then serves most requests while the
other idles. On Linux each worker here listens on a socket of its own with SO_REUSEPORT, and the
kernel spreads new connections over them by address (bench/peers.py measures the shares).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess


class _JoinedWrites:
    """A transport whose writes in one loop step go out together; all else is the transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` writing through `_JoinedWrites`."""

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(cast(asyncio.Transport, _JoinedWrites(transport, self.loop)))


def run(config: uvicorn.Config) -> None:
    """`uvicorn.run` for `config` (an app import string), workers on SO_REUSEPORT sockets."""
    if config.workers > 1:
        sock = _ReusePortSocket.listen_on(config) if _REUSE_PORT else config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(_STARTUP_FAILURE)


_logger = logging.getLogger("uvicorn.error")
_STARTUP_FAILURE = 3  # uvicorn's exit status when it could not start

# Linux spreads connections over the sockets of a port; other systems give them to one socket.
_REUSE_PORT = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class _ReusePortSocket(socket.socket):
    """Bound in the server's main process, never listening: it takes the port (an address in
    use fails at start, as uvicorn's socket does). Each worker process receives, instead of a
    copy of it, a socket of its own bound to the same address (see `__reduce__`)."""

    @classmethod
    def listen_on(cls, config: uvicorn.Config) -> socket.socket:
        """The main process's socket for `config`'s address; exits as uvicorn does if taken."""
        sock = cls(socket.AF_INET6 if ":" in config.host else socket.AF_INET)
        _reuse(sock)
        try:
            sock.bind((config.host, config.port))
        except OSError as exc:
            sock.close()
            _logger.error(exc)
            raise SystemExit(_STARTUP_FAILURE) from exc
        _logger.info(
            "Uvicorn running on http://%s:%d (Press CTRL+C to quit), a socket per worker",
            config.host,
            sock.getsockname()[1],
        )
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        # The workers are spawned: they get their sockets by unpickling the main one's.
        return _worker_socket, (self.family, self.getsockname())


def _reuse(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def _worker_socket(family: socket.AddressFamily, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on the main process's address (uvicorn makes it listen)."""
    sock = socket.socket(family)
    _reuse(sock)
    sock.bind(address)
    return sock
