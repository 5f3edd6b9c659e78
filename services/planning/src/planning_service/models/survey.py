"""Needs-survey tables: rounds, their schools, the families' encrypted answers, verifications,
staff reads (audit) and the aggregates that outlive the answers."""

from __future__ import annotations
