"""Which modules share a whole-system stack, as the xdist scheduler reads it from their source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_kit.testing.sharing import (
    DURATIONS,
    declared_shared_stack,
    longest_first,
    recorded_durations,
    work_unit,
)

pytest_plugins = ["pytester"]


def test_modules_of_one_shared_stack_are_one_unit_of_work(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text('"""A."""\n\nSHARED_STACK = "console"\n')
    (tmp_path / "test_b.py").write_text("SHARED_STACK: str = 'console'\nSTACK_ENV = {}\n")
    (tmp_path / "test_c.py").write_text('def test_x() -> None:\n    SHARED_STACK = "no"\n')
    assert work_unit(tmp_path, "test_a.py::TestX::test_y") == "shared-stack:console"
    assert work_unit(tmp_path, "test_b.py::test_z[1]") == "shared-stack:console"
    assert work_unit(tmp_path, "test_c.py::test_x") == "test_c.py"  # not at module level
    assert work_unit(tmp_path, "missing.py::test_x") == "missing.py"
    assert declared_shared_stack(tmp_path / "test_c.py") is None


def test_the_longest_unit_goes_first_by_its_recorded_seconds(tmp_path: Path) -> None:
    queue = {"test_many.py": dict.fromkeys("abcdefgh", False), "test_drill.py": {"d": False}}
    assert longest_first(queue, {}) == "test_many.py"  # unknown: 0.5 s a test
    assert longest_first(queue, {"test_drill.py": 60.0, "test_many.py": 2.0}) == "test_drill.py"
    assert recorded_durations(tmp_path) == {}  # none recorded: nothing breaks
    (tmp_path / "tests").mkdir()
    (tmp_path / DURATIONS).write_text("not json")
    assert recorded_durations(tmp_path) == {}


@pytest.mark.slow
def test_a_run_starts_with_the_longest_unit_and_can_record_the_seconds(
    pytester: pytest.Pytester,
) -> None:
    many = "\n".join(f"def test_{i}() -> None:\n    pass\n" for i in range(5))
    pytester.makepyfile(test_many=many, test_drill="def test_drill() -> None:\n    pass\n")
    pytester.mkdir("tests")
    (pytester.path / DURATIONS).write_text(json.dumps({"test_drill.py": 60.0}))
    args = ["-p", "xdist", "-n", "1", "--dist", "loadfile", "-p", "shared_kit.testing.plugin", "-v"]
    result = pytester.runpytest_subprocess(*args, "--record-durations")
    result.assert_outcomes(passed=6)
    ran = [line for line in result.outlines if "PASSED" in line]
    assert "test_drill.py::test_drill" in ran[0], ran  # xdist's own order: most tests first
    recorded = json.loads((pytester.path / DURATIONS).read_text())
    assert set(recorded) == {"test_drill.py", "test_many.py"}
