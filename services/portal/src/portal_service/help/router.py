"""Help pages: the accessibility statement."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response

from portal_service.web.pages import page_router, render_page

router = page_router()
# When the statement was prepared and last reviewed (Cabinet Regulation No. 445 asks for both).
STATEMENT_PREPARED = dt.date(2026, 12, 6)


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    """The accessibility statement (Cabinet Regulation No. 445 of 2020, LVS EN 301 549)."""
    return render_page(request, "help/accessibility.html", prepared=STATEMENT_PREPARED)
