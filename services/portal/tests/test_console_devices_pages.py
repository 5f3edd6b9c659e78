"""The console's device pages without the services: the search as the address keeps it, the
sortable headings, and a history entry in words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request

from portal_service.municipality.device_page import actor_words, entry_view
from portal_service.municipality.devices import DeviceSearch, add_months, sort_heading
from portal_service.web.gateway import Profile

BASE = "/municipality/0010000"


def request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode()})


class Person:
    profile = Profile(id="p-1", roles=["municipality_admin"])


class TestTheSearchInTheAddress:
    def test_known_values_are_kept_and_unknown_ones_dropped(self) -> None:
        search = DeviceSearch.of(
            request(
                "status=on_loan&status=broken&status=available&category=laptop&os=dos"
                "&funding_source=react_eu&warranty=3&school=3113900102&q=+sn++1+&sort=price"
                "&cursor=abc_-1&before=xyz"
            )
        )
        assert search.statuses == ("available", "on_loan")  # in the life cycle's order
        assert (search.category, search.os, search.funding_source) == ("laptop", "", "react_eu")
        assert (search.school, search.q, search.sort) == ("3113900102", "sn 1", "asset_tag")
        assert (search.cursor, search.before) == ("abc_-1", "")  # one way at a time
        assert search.filtered()

    def test_the_inventory_gets_the_same_filters(self) -> None:
        search = DeviceSearch.of(request("status=lost&warranty=ended&q=RIX&sort=-status"))
        params = search.api_params("0010000", dt.date(2026, 12, 6))
        assert params["status"] == ["lost"] and params["warranty_before"] == "2026-12-06"
        assert (params["municipality"], params["q"], params["sort"]) == (
            "0010000",
            "RIX",
            "-status",
        )
        later = DeviceSearch(warranty="12").api_params("0010000", dt.date(2026, 2, 28))
        assert later["warranty_before"] == "2027-02-28"
        assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)

    def test_a_link_keeps_the_filters_and_starts_at_the_first_page(self) -> None:
        search = DeviceSearch(statuses=("available",), q="RIX", cursor="c1", sort="-status")
        assert search.query() == "status=available&q=RIX&sort=-status"
        assert search.query(cursor="c2") == "status=available&q=RIX&sort=-status&cursor=c2"
        assert DeviceSearch().query() == "" and not DeviceSearch().filtered()


class TestSortableHeadings:
    def test_the_sorted_column_says_its_order_and_its_link_turns_it(self) -> None:
        search = DeviceSearch(q="RIX")
        tag = sort_heading(search, BASE, "asset_tag", "Device")
        assert tag["aria_sort"] == "ascending" and tag["next"] == "descending"
        assert tag["href"] == f"{BASE}/devices?q=RIX&sort=-asset_tag"
        status = sort_heading(search, BASE, "status", "Status")
        assert "aria_sort" not in status and status["href"] == f"{BASE}/devices?q=RIX&sort=status"
        back = sort_heading(DeviceSearch(sort="-asset_tag"), BASE, "asset_tag", "Device")
        assert back["aria_sort"] == "descending" and back["href"] == f"{BASE}/devices?"


class TestHistoryInWords:
    def entry(self, **overrides: Any) -> dict[str, Any]:
        return {
            "at": "2026-12-06T10:00:00+00:00",
            "actor": "person:p-2",
            "action": "status_changed",
            "changes": {"status": ["in_stock", "available"]},
            "reason": "Ready to lend",
            **overrides,
        }

    def test_who_what_and_why(self) -> None:
        view = entry_view(self.entry(), Person(), {})  # type: ignore[arg-type]
        assert view["action"] == "Status changed" and view["actor"] == ("A staff member", {})
        assert view["changes"][0]["old"] == ("In stock", True)
        assert view["changes"][0]["new"] == ("Available", True)
        assert view["reason"] == "Ready to lend" and not view["reason_known"]

    def test_the_platforms_own_moves_and_a_school_by_name(self) -> None:
        event = "lv.datori.contracts.contract.activated.v1"
        view = entry_view(
            self.entry(
                actor=f"event:{event}",
                reason=event,
                action="updated",
                changes={"institution": [None, "3113900102"]},
            ),
            Person(),  # type: ignore[arg-type]
            {"3113900102": "Rīgas Demo 2. vidusskola"},
        )
        assert view["actor"] == ("The platform, automatically", {})
        assert view["reason"] == "Handed over on a loan agreement" and view["reason_known"]
        assert view["changes"][0]["new"] == ("Rīgas Demo 2. vidusskola", False)
        assert view["changes"][0]["old"] == ("—", False)

    def test_you_and_a_municipal_platform(self) -> None:
        assert actor_words("person:p-1", Person()) == ("You", {})  # type: ignore[arg-type]
        assert actor_words("client:riga-platform", Person())[1] == {"client": "riga-platform"}  # type: ignore[arg-type]
