"""A minimal keep-alive HTTP/1.1 client (GET, and POST with a JSON body) for the load.

httpx spends more CPU per request than the service it measures; on a 2-core machine that
shares the CPUs with the server and PostgreSQL, the load generator must be nearly free.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode, urlsplit


class Connection:
    """One persistent connection that sends prepared requests one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def get(self, request: bytes) -> int:
        """Send a prepared request; read the whole response; return its status."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = _content_length(head)
        if length is None:
            await self._read_chunked()
        else:
            await self._reader.readexactly(length)
        return status

    async def _read_chunked(self) -> None:
        while True:
            size = int((await self._reader.readline()).split(b";")[0], 16)
            await self._reader.readexactly(size + 2)
            if size == 0:
                return

    def close(self) -> None:
        """Close the socket."""
        self._writer.close()


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


def prepare(base_url: str, path: str, params: dict[str, object], headers: dict[str, str]) -> bytes:
    """The bytes of a GET request (query lists become repeated parameters)."""
    host = urlsplit(base_url).netloc
    query = urlencode(params, doseq=True)
    lines = [
        f"GET {path}?{query} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def prepare_post(base_url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of a POST request with a JSON body."""
    host = urlsplit(base_url).netloc
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@contextlib.asynccontextmanager
async def pool(base_url: str, size: int) -> AsyncIterator[asyncio.Queue[Connection]]:
    """`size` open connections in a queue: take one, use it, put it back."""
    url = urlsplit(base_url)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = []
    for _ in range(size):
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        opened.append(Connection(reader, writer))
        idle.put_nowait(opened[-1])
    try:
        yield idle
    finally:
        for connection in opened:
            connection.close()


def http_sender(
    idle: asyncio.Queue[Connection], timeout_s: float
) -> Callable[[bytes], Awaitable[bool]]:
    """Send one prepared request on a free connection (waiting for one counts in the
    latency); True when it answered 200."""

    async def send(request: bytes) -> bool:
        connection = await idle.get()
        try:
            return await asyncio.wait_for(connection.get(request), timeout_s) == 200
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            return False
        finally:
            idle.put_nowait(connection)

    return send
