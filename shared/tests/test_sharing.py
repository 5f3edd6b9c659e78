"""Which modules share a whole-system stack, as the xdist scheduler reads it from their source."""

from __future__ import annotations

from pathlib import Path

from shared_kit.testing.sharing import declared_shared_stack, work_unit


def test_modules_of_one_shared_stack_are_one_unit_of_work(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text('"""A."""\n\nSHARED_STACK = "console"\n')
    (tmp_path / "test_b.py").write_text("SHARED_STACK: str = 'console'\nSTACK_ENV = {}\n")
    (tmp_path / "test_c.py").write_text('def test_x() -> None:\n    SHARED_STACK = "no"\n')
    assert work_unit(tmp_path, "test_a.py::TestX::test_y") == "shared-stack:console"
    assert work_unit(tmp_path, "test_b.py::test_z[1]") == "shared-stack:console"
    assert work_unit(tmp_path, "test_c.py::test_x") == "test_c.py"  # not at module level
    assert work_unit(tmp_path, "missing.py::test_x") == "missing.py"
    assert declared_shared_stack(tmp_path / "test_c.py") is None
