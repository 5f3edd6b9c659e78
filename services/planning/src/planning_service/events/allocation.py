"""Allocation events (`lv.datori.planning.allocation…`); see the package's docstring."""

from __future__ import annotations

from pydantic import BaseModel

PAYLOADS: dict[str, type[BaseModel]] = {}
