"""The MailSink (a real SMTP server with STARTTLS) in a process of its own, as in the local
stack, asked over a pipe how many messages it accepted and when; and the raw baseline:
aiosmtplib sending to it without the service."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from asyncio.subprocess import PIPE
from typing import Any

import aiosmtplib

from notifications_service.channels import Outgoing
from notifications_service.channels.email import EmailSender
from notifications_service.config import NotificationsSettings

SINK = """
import json, sys
from shared_kit.testing.mailsink import MailSink
sink = MailSink().start()
print(json.dumps({"port": sink.port, "ca_file": sink.ca_file}), flush=True)
for line in sys.stdin:
    if line.strip() == "count":
        print(len(sink.messages), flush=True)
    elif line.strip() == "dump":
        received = [[m.message_id, m.received_at.isoformat()] for m in sink.messages]
        print(json.dumps(received), flush=True)
    elif line.strip() == "clear":
        sink.clear()
        print("true", flush=True)
sink.stop()
"""


class SinkProcess:
    """The MailSink in a process of its own, asked over a pipe."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, ca_file: str) -> None:
        self.process, self.port, self.ca_file = process, port, ca_file

    @classmethod
    async def start(cls) -> SinkProcess:
        """Start it and read its port and certificate."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SINK, stdin=PIPE, stdout=PIPE, limit=2**24
        )
        hello = json.loads(await cls._line(process))
        return cls(process, hello["port"], hello["ca_file"])

    @staticmethod
    async def _line(process: asyncio.subprocess.Process) -> bytes:
        assert process.stdout is not None
        return await process.stdout.readline()

    async def ask(self, command: str) -> Any:
        """Send a command; its JSON answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        return json.loads(await self._line(self.process))

    async def count(self) -> int:
        """How many messages it accepted."""
        return int(await self.ask("count"))

    async def received(self) -> dict[str, dt.datetime]:
        """Message-ID → when it was accepted (a resent id: its last time)."""
        return {mid: dt.datetime.fromisoformat(at) for mid, at in await self.ask("dump")}

    async def clear(self) -> None:
        """Forget what it accepted so far."""
        await self.ask("clear")

    async def until(self, count: int, timeout_s: float, poll_s: float = 0.02) -> None:
        """Wait until it accepted `count` messages."""
        async with asyncio.timeout(timeout_s):
            while await self.count() < count:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(poll_s)

    async def stop(self) -> None:
        """Close its input: it stops."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def raw_sends(settings: NotificationsSettings, count: int, kind: str) -> float:
    """Seconds for aiosmtplib to send `count` messages composed as the service composes them
    at its concurrency, each slot on one kept STARTTLS connection (as its sender keeps them)."""
    sender = EmailSender(settings)  # only to compose the same MIME message
    mails = [
        (to, sender.compose(Outgoing(f"raw-{i}", to, kind, kind, kind)).as_bytes())
        for i, to in enumerate(f"raw-{i}@example.lv" for i in range(count))
    ]
    slots = settings.dispatch_concurrency

    async def slot(share: list[tuple[str, bytes]]) -> None:
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            start_tls=True,
            tls_context=sender.tls_context,
        )
        async with client:
            for to, data in share:
                await client.sendmail(sender.address, [to], data)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(slots):
            group.create_task(slot(mails[i::slots]))
    return time.perf_counter() - started
