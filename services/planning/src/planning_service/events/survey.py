"""Survey events (`lv.datori.planning.survey…`); see the package's docstring."""

from __future__ import annotations

from pydantic import BaseModel

PAYLOADS: dict[str, type[BaseModel]] = {}
