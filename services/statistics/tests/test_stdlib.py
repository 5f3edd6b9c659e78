"""The service folder never shadows the stdlib `statistics` module, which libraries import:
its tests are the package `services.statistics.tests`, like every service's."""

from __future__ import annotations

import importlib
import sys
import sysconfig
from pathlib import Path


def test_import_statistics_is_the_stdlib() -> None:
    module = importlib.import_module("statistics")
    assert module.mean([1, 2, 3]) == 2
    assert Path(module.__file__ or "").parent == Path(sysconfig.get_paths()["stdlib"])
    assert "statistics.tests" not in sys.modules
    assert __name__ == "services.statistics.tests.test_stdlib"
