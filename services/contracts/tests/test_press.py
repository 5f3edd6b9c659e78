"""The press renders and seals in worker processes: the same documents as in the service's own
process, a sealer that travels as its key material, a worker that dies replaced, and no worker
left behind."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts_service.document.press import Press
from contracts_service.document.render import render_pdf
from contracts_service.document.seal import (
    PyHankoSealer,
    SealMaterial,
    build_sealer,
    generate_demo_material,
    sealer_from,
)
from contracts_service.document.verify import check_seals

from .samples import contract_data

CONTRACTS = Path(__file__).parents[1]  # services/contracts: `tests.samples` imports from here
REASON, LOCATION = "Patapinājuma līgums parakstīts / Loan agreement signed", "Rīga"


@pytest.fixture(scope="module")
def material() -> SealMaterial:
    return generate_demo_material()


@pytest.fixture
async def press(material: SealMaterial) -> AsyncIterator[Press]:
    made = Press(build_sealer(material), processes=1)
    try:
        yield made
    finally:
        await made.close()


def workers(press: Press) -> list[int]:
    """The pids of the press's worker processes."""
    pool = press._pool
    return sorted(pool._processes) if pool is not None else []  # type: ignore[attr-defined]


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not running
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def gone(pid: int) -> None:
    """Wait until the process has ended."""
    while running(pid):
        time.sleep(0.01)


async def test_a_worker_renders_the_same_document_as_the_service_would(press: Press) -> None:
    data = contract_data(3).model_copy(update={"kind": "draft", "signatures": []})
    assert workers(press) == []  # started at the first render, not before
    assert await press.render(data) == render_pdf(data)
    [pid] = workers(press)
    assert pid != os.getpid()


async def test_a_worker_seals_with_the_services_key(press: Press, material: SealMaterial) -> None:
    documents = [contract_data(n) for n in range(3)]
    sealed = await asyncio.gather(
        *(press.render_and_seal(d, reason=REASON, location=LOCATION) for d in documents)
    )
    roots, foreign = material.trust_roots(), generate_demo_material().trust_roots()
    for pdf in sealed:  # check_seals runs its own event loop: in a thread, as the service does
        assert [check.ok for check in await asyncio.to_thread(check_seals, pdf, roots)] == [True]
    assert not any(c.trusted for c in await asyncio.to_thread(check_seals, sealed[0], foreign))


def test_a_sealer_travels_as_its_key_material_and_is_built_once(material: SealMaterial) -> None:
    sealer = build_sealer(material)
    assert isinstance(sealer, PyHankoSealer)
    travelled = pickle.loads(pickle.dumps(sealer))
    assert isinstance(travelled, PyHankoSealer) and travelled is not sealer
    assert travelled is pickle.loads(pickle.dumps(sealer)) is sealer_from(material)


async def test_a_killed_worker_is_replaced_and_the_document_rendered(press: Press) -> None:
    data = contract_data(1)
    first = await press.render(data)
    [pid] = workers(press)
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(gone, pid)
    assert await press.render(data) == first
    [replacement] = workers(press)
    assert replacement != pid and running(replacement)


async def test_closing_stops_the_workers(material: SealMaterial) -> None:
    press = Press(build_sealer(material), processes=2)
    await asyncio.gather(*(press.render(contract_data(n)) for n in range(4)))
    pids = workers(press)
    assert len(pids) == 2
    await press.close()
    assert not any(running(pid) for pid in pids)
    assert workers(press) == []


# A process that renders one document through a press, prints its worker's pid and waits.
RENDERS_AND_WAITS = """
import asyncio, sys
from contracts_service.document.press import Press
from contracts_service.document.seal import build_sealer, generate_demo_material
from tests.samples import contract_data

async def main():
    press = Press(build_sealer(generate_demo_material()), processes=1)
    await press.render(contract_data(0))
    print(*press._pool._processes, flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_worker_ends_when_its_service_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "renders_and_waits.py"
    script.write_text(RENDERS_AND_WAITS)
    service = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(CONTRACTS)},
    )
    try:
        assert service.stdout is not None
        [worker] = map(int, service.stdout.readline().split())
        assert running(worker)
    finally:
        service.kill()
        service.wait()
    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(worker)


async def test_without_workers_it_renders_in_a_thread(material: SealMaterial) -> None:
    press = Press(build_sealer(material), processes=0)
    data = contract_data(2)
    assert await press.render(data) == render_pdf(data)
    assert workers(press) == []
