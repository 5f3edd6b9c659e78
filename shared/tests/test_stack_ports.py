"""The test stack's port ranges: two stacks started at once (xdist workers) never share one."""

from __future__ import annotations

import importlib.util
import itertools
import socket
import subprocess
import sys
from types import ModuleType

from shared_kit.testing.stack import (
    KAFKA_OFFSET,
    PORT_SPAN,
    REPO,
    STACK_SCRIPT,
    PortRange,
    StackUrls,
)

DEV = REPO / "deploy" / "dev"


def _stack_module() -> ModuleType:
    """`deploy/dev/stack.py` (it imports its neighbours by plain name)."""
    sys.path.insert(0, str(DEV))
    try:
        spec = importlib.util.spec_from_file_location("dev_stack_for_ports", STACK_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(DEV))


class TestPortRange:
    def test_ranges_held_at_once_never_overlap(self) -> None:
        held = [PortRange() for _ in range(5)]
        try:
            bases = sorted(r.base for r in held)
            assert all(b - a >= PORT_SPAN for a, b in itertools.pairwise(bases))
        finally:
            for r in held:
                r.release()

    def test_another_process_cannot_take_a_held_range(self) -> None:
        held = PortRange()
        probe = (
            "import fcntl, sys; from shared_kit.testing.stack import LOCK_DIR\n"
            f"f = (LOCK_DIR / '{held.base}.lock').open('a')\n"
            "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except OSError:\n    sys.exit(3)\n"
        )
        try:
            assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 3
        finally:
            held.release()
        assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0

    def test_a_range_with_a_listener_is_skipped(self) -> None:
        free = PortRange()
        busy_base, free_base = free.base, free.base + PORT_SPAN
        free.release()
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", busy_base + 42))
            busy.listen()
            chosen = PortRange(candidates=[busy_base, free_base])
            chosen.release()
        assert chosen.base == free_base


class TestTheStacksPorts:
    def test_every_port_of_the_stack_and_its_broker_is_inside_the_range(self) -> None:
        stack = _stack_module()
        base = 20_000
        ports = [*stack.all_ports(base), base + KAFKA_OFFSET]
        assert len(set(ports)) == len(ports)
        assert all(base <= p < base + PORT_SPAN for p in ports), ports

    def test_the_printed_table_gives_every_url(self) -> None:
        stack = _stack_module()
        urls = stack.urls_of(20_000)
        parsed = StackUrls.from_table(urls)
        assert parsed.portal == urls["portal"] and parsed.latvija == urls["latvija"]
        assert set(parsed.apis()) == {s.name for s in stack.SERVICES} - {"portal"}
