"""Request body size limit (413), enforced before the body is parsed or buffered."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# How much of a too-large body is read and discarded before the 413 goes out: a client that
# sends `Connection: close` (urllib does) would otherwise see the server close while it is still
# sending and get a connection reset instead of the answer. Beyond this the connection is closed.
DRAIN_MIN_BYTES = 64 * 1024 * 1024


class BodySizeLimit:
    """Reject bodies over `max_bytes`: by Content-Length at once, or while streaming (chunked)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(2 * max_bytes, DRAIN_MIN_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"content-length" in headers:
            try:
                declared = int(headers[b"content-length"])
            except ValueError:
                await self._reject(send, 400, "invalid Content-Length header")
                return
            if declared > self.max_bytes:
                # A client waiting for `100 Continue` has sent nothing yet: answer at once.
                waiting = headers.get(b"expect", b"").lower() == b"100-continue"
                complete = (
                    not waiting
                    and declared <= self.drain_bytes
                    and await self._drain(receive, received=0)
                )
                await self._reject(send, 413, self._message(), close=not (waiting or complete))
                return
            # The server reads no more than the declared length: nothing left to watch (and
            # the wrappers below would cost every search a few percent of its Python time).
            await self.app(scope, receive, send)
            return
        received = 0
        started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    # Answer now and make the app see a disconnected client; whatever it
                    # then tries to send is dropped (FastAPI would turn an error into a 400).
                    rejected = True
                    complete = not message.get("more_body", False) or await self._drain(
                        receive, received=received
                    )
                    await self._reject(send, 413, self._message(), close=not complete)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _drain(self, receive: Receive, *, received: int) -> bool:
        """Read and discard the rest of the body, up to `drain_bytes` in all; True if it ended."""
        while received <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes (PGSEARCH_MAX_BODY_BYTES)"

    @staticmethod
    async def _reject(send: Send, status: int, detail: str, *, close: bool = False) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if close:
            # The rest of the body is not read: the server stops reading and closes.
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
