"""Where contract PDFs are rendered and sealed: beside the event loop, not on it.

Rendering is pure Python (fpdf2, pyHanko): in a thread of the service's own process it takes
turns with the requests and consumers for the GIL, so one PDF holds up every answer and five
families reserving at once queue behind each other's PDFs. `Press` hands each render to a pool
of worker processes instead (`CONTRACTS_RENDER_PROCESSES`, started at the first render), where
it runs beside the event loop on another core; with 0 it renders in a worker thread as before.

A worker gets what it renders by pickle over a pipe of its own: the contract's data (the
borrower's personal code among it, as the PDF prints it) and the sealer, which travels as its
key material and is built once per worker (`PyHankoSealer.__reduce__`). A worker that dies
(killed, out of memory) breaks the pool; the press starts a new one and renders once more. A
worker whose service was killed ends too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from contracts_service.document.model import ContractData
from contracts_service.document.render import render_pdf
from contracts_service.document.seal import DocumentSealer, render_and_seal


class Press:
    """Renders contract documents and seals final ones, in worker processes or a thread."""

    def __init__(self, sealer: DocumentSealer, processes: int) -> None:
        self.sealer = sealer
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, data: ContractData) -> bytes:
        """The PDF of a draft (or any unsealed) document."""
        return await self._run(partial(render_pdf, data))

    async def render_and_seal(self, data: ContractData, *, reason: str, location: str) -> bytes:
        """The sealed PDF of a final document."""
        return await self._run(
            partial(render_and_seal, data, self.sealer, reason=reason, location=location)
        )

    async def _run(self, work: Callable[[], bytes]) -> bytes:
        if self.processes == 0:
            return await asyncio.to_thread(work)
        loop = asyncio.get_running_loop()
        pool = self._workers()
        try:
            return await loop.run_in_executor(pool, work)
        except BrokenProcessPool:  # a worker died: a new pool, and this document once more
            if self._pool is pool:
                self._pool = None
            return await loop.run_in_executor(self._workers(), work)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        return self._pool

    async def close(self) -> None:
        """Stop the worker processes, after the documents they are rendering."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _start_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the service stops its press itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True).start()


def _end_with(parent: int) -> None:
    # A service that is killed cannot stop its workers, and a worker waiting for work would
    # outlive it (it holds its own end of the queue): it ends when its parent does.
    multiprocessing.connection.wait([parent])
    os._exit(1)
