"""The benchmarks' results folder: a fresh clone has none (git ignores it), and every
benchmark's server logs are kept under names of their own."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pypdf import PdfReader

from contracts_service.document.seal import generate_demo_material
from contracts_service.document.verify import check_seals
from shared_kit.events.envelope import CloudEvent


@pytest.fixture(scope="module")
def report(from_root: Callable[[str], ModuleType]) -> ModuleType:
    """`bench.report` as `python -m bench` finds it: from the repository root (not installed)."""
    return from_root("bench.report")


@pytest.fixture(scope="module")
def contract_sample(from_root: Callable[[str], ModuleType]) -> ModuleType:
    """`bench.contract_sample`: the contracts benchmark's unit of work."""
    return from_root("bench.contract_sample")


def server_log(directory: Path, name: str, text: str) -> Path:
    """A server's log in the run's scratch directory (the bench names them by port)."""
    path = directory / name
    path.write_text(text)
    return path


class TestResultsFolder:
    def test_a_server_log_is_kept_when_the_folder_does_not_exist_yet(
        self, report: ModuleType, tmp_path: Path
    ) -> None:
        results = tmp_path / "bench" / "results"
        log = server_log(tmp_path, "reservations-40123.log", "reservations started")
        kept = report.keep_log(log, "reservations", "reservations", results)
        assert kept == results / "reservations-server.log"
        assert kept.read_text() == "reservations started"

    def test_the_report_is_written_when_the_folder_does_not_exist_yet(
        self, report: ModuleType, tmp_path: Path
    ) -> None:
        results = tmp_path / "bench" / "results"
        path = report.save(report.document([], 1.5), "latest.md", results)
        assert path == results / "latest.md"
        assert path.read_text().startswith("# Benchmarks")


class TestServerLogNames:
    def test_the_journey_does_not_overwrite_the_services_own_benchmark_logs(
        self, report: ModuleType, tmp_path: Path
    ) -> None:
        results = tmp_path / "results"
        # A full run: each service's own benchmark, then the journey through both.
        runs = [
            ("reservations", "reservations"),
            ("tickets", "tickets"),
            ("journey", "reservations"),
            ("journey", "tickets"),
        ]
        for port, (benchmark, service) in enumerate(runs, start=40000):
            log = server_log(tmp_path, f"{service}-{port}.log", f"{service} in {benchmark}")
            report.keep_log(log, benchmark, service, results)
        kept = {p.name: p.read_text() for p in results.iterdir()}
        assert kept == {
            "reservations-server.log": "reservations in reservations",
            "tickets-server.log": "tickets in tickets",
            "journey-reservations-server.log": "reservations in journey",
            "journey-tickets-server.log": "tickets in journey",
        }


class TestContractSample:
    def test_the_unit_of_work_renders_and_seals_the_sample_contract(
        self, contract_sample: ModuleType
    ) -> None:
        data = contract_sample.sample_contract(3)
        pdf = contract_sample.render_and_seal(data, contract_sample.demo_sealer())
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert "Nr. DL-2026-00000003" in text and "Parakstu lapa / Signature page" in text
        # Sealed by a fresh demo CA of its own: intact and valid, trusted by nobody else.
        (check,) = check_seals(pdf, generate_demo_material().trust_roots())
        assert check.intact and check.valid and check.covers_whole_file and not check.trusted


def event(type_: str, data: dict[str, Any]) -> CloudEvent:
    """An event as the bench's consumer reads it."""
    return CloudEvent(type=type_, source="test", subject="s", data=data)


class TestJourneyWatch:
    """The journey's waits end on the events the services publish, read from the broker."""

    async def test_a_wait_ends_with_its_event_whether_it_came_before_or_after(
        self, from_root: Callable[[str], ModuleType]
    ) -> None:
        journey = from_root("bench.journey")
        watch, reservation, device = journey.Watch(), str(uuid.uuid4()), str(uuid.uuid4())
        waiting = asyncio.ensure_future(watch.wait("drafted", reservation))
        await asyncio.sleep(0)
        watch.seen(event(journey.DRAFTED, {"reservation_id": reservation, "contract_id": "c1"}))
        assert (await waiting)["contract_id"] == "c1"
        # Already seen before anyone waits: the wait ends at once with it.
        watch.seen(event(journey.FULFILLED, {"reservation_id": reservation}))
        assert await asyncio.wait_for(watch.wait("fulfilled", reservation), 1) == {
            "reservation_id": reservation
        }
        # Only a move to on_loan ends the device's wait; the first event of a kind counts.
        moved = {"device": {"device_id": device}, "to_status": "reserved"}
        watch.seen(event(journey.STATUS_CHANGED, moved))
        assert ("on loan", device) not in watch.futures
        watch.seen(event(journey.STATUS_CHANGED, {**moved, "to_status": "on_loan"}))
        watch.seen(event(journey.STATUS_CHANGED, {**moved, "to_status": "on_loan", "n": 2}))
        assert "n" not in await watch.wait("on loan", device)
        # Events of other kinds resolve nothing.
        watch.seen(event("lv.datori.tickets.ticket.opened.v1", {"reservation_id": reservation}))
        assert set(watch.futures) == {
            ("drafted", reservation),
            ("fulfilled", reservation),
            ("on loan", device),
        }


class TestJourneyCpu:
    """The journey's CPU rows: the whole machine's CPU per journey bounds its latency."""

    def test_the_machine_reading_counts_the_cpu_this_process_burns(
        self, from_root: Callable[[str], ModuleType]
    ) -> None:
        infra = from_root("bench.infra")
        before, own = infra.machine_cpu_seconds(), time.process_time()
        while time.process_time() - own < 0.3:
            sum(range(10_000))
        assert infra.machine_cpu_seconds() - before >= 0.25  # ticks: 10 ms each

    def test_a_servers_cpu_counts_its_workers_workers(
        self, from_root: Callable[[str], ModuleType]
    ) -> None:
        """A service's CPU includes processes its uvicorn workers start (contracts' render
        worker), not only uvicorn's own children."""
        infra = from_root("bench.infra")
        burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
        burn += "time.sleep(60)"

        def starts(code: str) -> str:
            return f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"

        worker = starts(burn)  # uvicorn's worker, which starts a process that burns CPU
        server = subprocess.Popen([sys.executable, "-c", starts(worker)], start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while (infra.cpu_seconds(server.pid) or 0) < 0.4 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert infra.cpu_seconds(server.pid) >= 0.4
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    def test_the_bound_is_the_journeys_at_a_time_sharing_the_cores(
        self, from_root: Callable[[str], ModuleType]
    ) -> None:
        journey = from_root("bench.journey")
        per_journey = {"PostgreSQL": 20.0, "the bench itself": 10.0, "machine": 240.0}
        rows = {row.name.split(": ", 1)[1]: row for row in journey.whole_rows(per_journey)}
        bound = next(row for name, row in rows.items() if name.startswith("p50 the CPU allows"))
        assert bound.figure == journey.CONCURRENT * 240.0 / journey.CORES
        machine = next(row for name, row in rows.items() if "whole machine" in name)
        needed = journey.TARGET_P50_MS * journey.CORES / journey.CONCURRENT
        assert machine.ok is (needed >= 240.0)
        cheaper = journey.whole_rows({**per_journey, "machine": needed})
        assert [row.ok for row in cheaper if "whole machine" in row.name] == [True]
