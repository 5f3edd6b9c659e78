"""Allocation tables: rounds, their stored inputs, the computed lines, adjustments, moves,
orders, and the devices held per school (from the inventory's events)."""

from __future__ import annotations
