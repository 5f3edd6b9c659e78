"""The inventory's import answers as the deliveries pages show them: the dry run's summary
(kept in the draft), a refused file's message, an import's progress and report, a list line."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal_service.i18n import N_
from portal_service.municipality import delivery_labels as labels
from portal_service.web.api import ApiProblem
from portal_service.web.forms import FormErrors

# Rows of a report shown on a page (the rest are counted; the CSV has every rejected one).
SHOWN_ROWS = 200


def _row(row: dict[str, Any]) -> dict[str, Any]:
    errors = [
        {"field": str(e.get("field") or ""), "detail": str(e.get("detail") or "")}
        for e in row.get("errors") or []
    ]
    return {"line": row.get("line"), "serial": row.get("serial_number") or "", "errors": errors}


def dry_run_summary(report: dict[str, Any], filename: str) -> dict[str, Any]:
    """What the check page shows of a dry run (bounded: a file may have 50,000 rows)."""
    rows = report.get("rows") or []
    rejected = [_row(r) for r in rows if r.get("outcome") == "invalid"]
    valid = [_row(r) for r in rows if r.get("outcome") == "would_create"]
    return {
        "filename": filename,
        "total": report.get("total_rows", 0),
        "valid": report.get("created_rows", 0),
        "unchanged": report.get("unchanged_rows", 0),
        "failed": report.get("failed_rows", 0),
        "rejected_rows": rejected[:SHOWN_ROWS],
        "valid_rows": valid[:SHOWN_ROWS],
    }


def file_errors(
    problem: ApiProblem, default: str = labels.UNREADABLE, field: str = "file"
) -> FormErrors:
    """A file the inventory refused, said at the file field in the person's words."""
    body = problem.body
    if problem.status == 413:
        return FormErrors().add(field, labels.TOO_LARGE, mb=20)
    if problem.status == 415:
        return FormErrors().add(field, labels.NOT_CSV)
    message, params = _header_message(body) or _line_message(body) or (default, {})
    return FormErrors().add(field, message, **params)


def _header_message(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if body.get("separator"):
        return labels.SEPARATOR, {}
    for key, message in (
        ("missing_columns", labels.MISSING_COLUMNS),
        ("unknown_columns", labels.UNKNOWN_COLUMNS),
        ("duplicate_columns", labels.REPEATED_COLUMNS),
    ):
        if body.get(key):
            return message, {"columns": ", ".join(str(c) for c in body[key])}
    return None


def _line_message(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if body.get("max_rows"):
        return labels.TOO_MANY_ROWS, {"max": body["max_rows"]}
    if body.get("line"):
        return labels.BAD_LINE, {"line": body["line"]}
    return None


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def import_view(report: dict[str, Any], base: str) -> dict[str, Any]:
    """An import's progress and report for its page."""
    state = str(report.get("state") or "done")
    total = int(report.get("total_rows") or 0)
    processed = int(report.get("processed_rows") or 0)
    return {
        "id": report["id"],
        "href": f"{base}/deliveries/{report['id']}",
        "state": state,
        "state_label": labels.STATES.get(state, state),
        "tag": labels.STATE_TAGS.get(state, ""),
        "over": state in ("done", "failed"),
        "filename": report.get("filename") or "",
        "created_at": _moment(report.get("created_at")),
        "finished_at": _moment(report.get("finished_at")),
        "total": total,
        "processed": min(processed, total),
        "percent": round(100 * processed / total) if total else 100,
        "created": report.get("created_rows", 0),
        "unchanged": report.get("unchanged_rows", 0),
        "failed": report.get("failed_rows", 0),
        "rows": [_row(r) for r in (report.get("rows") or [])[:SHOWN_ROWS]],
    }


WHO_YOU = N_("You")
WHO_OTHER = N_("Another administrator")
WHO_CLIENT = N_("Municipal platform %(client)s")


def who(actor: str, person_id: str) -> tuple[str, dict[str, str]]:
    """Who made an import, as far as the portal may say: you, a platform, someone else."""
    if actor == f"person:{person_id}":
        return WHO_YOU, {}
    if actor.startswith("client:"):
        return WHO_CLIENT, {"client": actor.removeprefix("client:")}
    return WHO_OTHER, {}


def list_row(summary: dict[str, Any], person_id: str, base: str) -> dict[str, Any]:
    """An earlier import as a line of the list."""
    return {
        **import_view({**summary, "rows": []}, base),
        "who": who(str(summary.get("actor") or ""), person_id),
    }
