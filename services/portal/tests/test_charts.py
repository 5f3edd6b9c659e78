"""The server-drawn charts without the services: their geometry (scales, zero and empty data,
long labels), their SVG (a name, a description, escaped text), their CSV, and the dashboards'
templates on a view shaped as the statistics service gives it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest

from portal_service.i18n import Lang
from portal_service.ministry.dashboard import heading_links, sorted_areas
from portal_service.municipality.common import SECTIONS, MunicipalityPath
from portal_service.web.charts import (
    LABEL_CHARS,
    VALUE_ROOM,
    WIDTH,
    Datum,
    bar_chart,
    csv_text,
    line_chart,
    nice_ceiling,
    shorten,
)
from portal_service.web.figures import charts, dashboard
from portal_service.web.gateway import Profile
from portal_service.web.templates import environment, render

ADMIN = Profile(id="p-2", given_name="Dace", family_name="Krūmiņa", roles=["municipality_admin"])
DAY = dt.date(2026, 12, 1)


def draw(chart: Any, lang: Lang = "en") -> str:
    """A chart's figure as a page would draw it."""
    template = environment(lang).from_string(
        '{% from "web/charts.html" import chartFigure %}{{ chartFigure(chart, "/x.csv") }}'
    )
    return template.render(chart=chart)


def band(name: str, first: int, last: int, **overrides: Any) -> dict[str, Any]:
    return {
        "band": name,
        "first_grade": first,
        "last_grade": last,
        "pupils": 90,
        "devices": 20,
        "pupils_per_device": 4.5,
        "target_pupils_per_device": "3" if name == "1-3" else None,
        "devices_needed": 10 if name == "1-3" else None,
        "target_met": False if name == "1-3" else None,
        **overrides,
    }


def figures(**usage: Any) -> dict[str, Any]:
    """Figures shaped as the statistics service's `Figures`."""
    made: dict[str, Any] = {
        "devices": {
            "total": 7,
            "in_service": 6,
            "by_status": {"available": 4, "on_loan": 2, "lost": 1},
            "by_os": {"windows": 5, "chromeos": 2},
            "by_category": {"laptop": 7},
            "by_funding_source": {"react_eu": 5, "municipal_budget": 2},
            "by_warranty_state": {"in_warranty": 6, "expired": 1},
        },
        "loans": {"active": 2, "overdue": 0, "by_state": {}, "by_social_criterion": {}},
        "reservations": {"waiting": 3, "waitlisted": 1, "by_state": {}},
        "tickets": {"open": 2, "resolved": 5, "sla_breaches": 1, "mean_hours_to_resolve": 26.25},
        "pupils": {"total": 90, "by_grade": {"1": 30, "2": 30, "3": 30}},
        "coverage": [band("1-3", 1, 3), band("4-6", 4, 6, pupils=0, devices=0)],
    }
    if usage:
        made["usage"] = usage
    return made


USAGE = {
    "lendable": 6,
    "on_loan": 2,
    "utilisation": 1 / 3,
    "loan_days": {
        "30": {"days": 40, "per_device": 6.666666666666667},
        "90": {"days": 100, "per_device": 16.666666666666668},
        "365": {"days": 300, "per_device": 50.0},
    },
    "idle_threshold_days": 60,
    "idle": 3,
    "never_lent": 1,
    "not_lendable": [
        {
            "funding_source": "react_eu",
            "never_available": 1,
            "in_repair_long": 0,
            "lost_stolen_written_off": 1,
        }
    ],
}


def view(**usage: Any) -> dict[str, Any]:
    child = {
        "code": "3113900101",
        "name": "Rīgas <Ziemeļu> vidusskola",
        "devices_total": 7,
        "devices_in_service": 6,
        "active_loans": 2,
        "pupils": 90,
        "coverage": [band("1-3", 1, 3)],
    }
    if usage:
        child |= {"utilisation": 0.5, "idle": 3, "never_lent": 1, "tickets_open": 2,
                  "sla_breaches": 1}  # fmt: skip
    return {
        "level": "municipality",
        "code": "0010000",
        "name": "Rīga",
        "municipality_code": "0010000",
        "as_of": "2026-12-01T09:00:00+00:00",
        "filters": {},
        "figures": figures(**usage),
        "children": [child],
    }


SERIES = {
    "level": "municipality",
    "code": "0010000",
    "date_from": "2026-11-30",
    "date_to": "2026-12-01",
    "points": [
        {
            "date": "2026-11-30",
            "reservations_waiting": 2,
            "waitlisted": 0,
            "active_loans": 1,
            "tickets_open": 1,
            "sla_breaches": 0,
        },
        {
            "date": "2026-12-01",
            "reservations_waiting": 3,
            "waitlisted": 1,
            "active_loans": 2,
            "tickets_open": 2,
            "sla_breaches": 1,
        },
    ],
}


class TestScales:
    @pytest.mark.parametrize(
        ("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (240, 250), (1001, 2000)]
    )
    def test_the_axis_ends_at_a_round_number_at_or_above_the_largest(
        self, value: float, top: float
    ) -> None:
        assert nice_ceiling(value) == top

    def test_the_longest_bar_fills_the_width_left_for_its_value(self) -> None:
        chart = bar_chart("k", "T", ["c", "l", "v"], [Datum("a", "A", 10), Datum("b", "B", 5)])
        assert [b.width for b in chart.bars] == [WIDTH - VALUE_ROOM, (WIDTH - VALUE_ROOM) / 2]
        assert all(b.value_x > b.width for b in chart.bars)
        assert chart.bars[1].label_y > chart.bars[0].bar_y  # one row under the other

    def test_lines_run_from_the_left_to_the_right_and_from_the_bottom_up(self) -> None:
        dates = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
        chart = line_chart("k", "T", ["d", "s"], dates, [("S", [0, 5, 10])])
        (x0, y0), (_, y1), (x2, y2) = chart.lines[0].points
        assert x0 < x2 <= WIDTH and y0 == chart.plot_bottom and y2 == chart.plot_top
        assert y0 > y1 > y2
        assert [t.text for t in chart.y_ticks] == ["0", "2.5", "5", "7.5", "10"]
        assert [t.text for t in chart.x_ticks] == ["2026-12-01", "2026-12-03"]


class TestNothingToDraw:
    def test_zero_and_no_data_say_so_instead_of_an_empty_picture(self) -> None:
        for data in ([], [Datum("a", "A", 0)], [Datum("a", "A", None)]):
            chart = bar_chart("k", "Title", ["c", "l", "v"], data)
            assert chart.empty and all(b.width == 0 for b in chart.bars)
            html = draw(chart)
            assert "<svg" not in html and "Nothing to show yet" in html
            assert "/x.csv" in html  # the (empty) data can still be downloaded

    def test_a_series_of_one_day_or_none_is_drawn_without_dividing_by_zero(self) -> None:
        one = line_chart("k", "T", ["d", "s"], [DAY], [("S", [4])])
        assert one.lines[0].points[0][0] == pytest.approx((44 + WIDTH - 8) / 2)
        none = line_chart("k", "T", ["d", "s"], [], [("S", [])])
        assert none.empty and none.rows == [] and none.x_ticks == []

    def test_a_withheld_number_is_said_not_drawn(self) -> None:
        chart = bar_chart("k", "T", ["c", "l", "v"], [Datum("a", "A", 3), Datum("b", "B", None)])
        html = draw(chart)
        assert "B: withheld" in html and csv_text(chart).endswith("b,B,\r\n")


class TestLabels:
    def test_a_long_label_is_cut_in_the_picture_and_whole_in_the_table(self) -> None:
        label = "Rīgas Valsts 1. ģimnāzijas sākumskolas filiāle Pārdaugavā"
        chart = bar_chart("k", "T", ["c", "l", "v"], [Datum("x", label, 3)])
        assert chart.bars[0].label == shorten(label) and len(shorten(label)) == LABEL_CHARS
        assert shorten(label).endswith("…") and shorten("short") == "short"
        html = draw(chart)
        assert f">{shorten(label)}</text>" in html
        assert re.search(rf">\s*{re.escape(label)}\s*</th>", html)  # the table's row header

    def test_text_is_escaped_in_the_picture_the_table_and_kept_in_the_csv(self) -> None:
        evil = '<script>alert("x")</script> & Co'
        chart = bar_chart("k", "<b>T</b>", ["c", "l", "v"], [Datum("x", evil, 3)])
        html = draw(chart)
        assert "<script>" not in html and "<b>T</b>" not in html
        assert "&lt;script&gt;" in html and "&amp; Co" in html
        assert list(csv.reader(io.StringIO(csv_text(chart))))[1] == ["x", evil, "3"]


class TestSvg:
    def test_a_chart_is_an_image_named_by_its_title_and_described_by_its_numbers(self) -> None:
        made = charts(view(), SERIES, "en")
        html = draw(made["status"])
        assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="chart-status-title '
                         r'chart-status-desc"', html)  # fmt: skip
        assert 'viewBox="0 0 320 ' in html and 'width="100%"' in html
        assert '<title id="chart-status-title">Devices by status</title>' in html
        assert "Available: 4; On loan: 2; Lost: 1" in html
        assert "style=" not in html  # the CSP forbids style attributes

    def test_lines_differ_by_more_than_colour(self) -> None:
        chart = charts(view(), SERIES, "lv")["activity"]
        assert len({(line.dash, line.marker) for line in chart.lines}) == len(chart.lines)
        html = draw(chart, "lv")
        assert "stroke-dasharray" in html and "<polyline" in html

    def test_the_csv_has_the_numbers_as_the_api_gave_them(self) -> None:
        made = charts(view(), SERIES, "en")
        rows = list(csv.reader(io.StringIO(csv_text(made["activity"]))))
        assert rows == [
            ["Date", "Reservations waiting", "On the waitlist", "Devices on loan"],
            ["2026-11-30", "2", "0", "1"],
            ["2026-12-01", "3", "1", "2"],
        ]
        rows = list(csv.reader(io.StringIO(csv_text(made["funding"]))))
        assert rows[1:] == [["react_eu", "REACT-EU", "5"], ["municipal_budget",
                                                             "Municipal budget", "2"]]  # fmt: skip


def page(lang: Lang, template: str, **context: Any) -> str:
    base = {
        "lang": lang,
        "other_lang": "en" if lang == "lv" else "lv",
        "lang_href": "/language/en",
        "csrf_token": "c",
        "profile": ADMIN,
        "nonce": "n",
        "path": "/municipality/0010000",
        "error_title": False,
        "nav": SECTIONS,
        "municipality": MunicipalityPath("0010000", "/municipality/0010000"),
        "municipality_name": "Rīga",
        "csv_base": "/municipality/0010000/charts",
        "idle_days": 60,
        "idle_choices": [30, 60, 90],
        "idle_links": {"next": "?idle_cursor=abc"},
        "never_links": {},
        "warranty_before": "2027-03-01",
        "school_names": {"3113900101": "Skola"},
    }
    return render(lang, template, {**base, **context})


class TestDashboardPage:
    @pytest.mark.parametrize("lang", ["lv", "en"])
    def test_without_usage_figures_the_page_leaves_usage_out(self, lang: Lang) -> None:
        html = page(lang, "municipality/dashboard.html", **dashboard(view(), SERIES, lang))
        assert html.count('role="img"') == 8 and 'id="usage"' not in html
        assert "Rīgas &lt;Ziemeļu&gt; vidusskola" in html
        assert "/static/console.min.css" in html

    def test_with_usage_figures_the_page_shows_them_and_the_idle_devices(self) -> None:
        idle = {"items": [{"device_id": "d-1", "municipality_code": "0010000",
                           "institution_number": "3113900101", "category": "laptop",
                           "os": "windows", "funding_source": "react_eu", "status": "available",
                           "delivered_on": "2025-01-01", "age_days": 700,
                           "last_loan_ended_on": None, "idle_days": 700}],
                "next_cursor": "abc"}  # fmt: skip
        html = page("en", "municipality/dashboard.html", idle=idle,
                    never_lent={"items": [], "next_cursor": None},
                    **dashboard(view(**USAGE), SERIES, "en"))  # fmt: skip
        assert 'id="usage"' in html and "33 %" in html and "50 %" in html
        assert 'href="/municipality/0010000/devices/d-1"' in html
        assert "Laptop, Windows" in html and "REACT-EU" in html
        assert "Never lent since delivery: none." in html


class TestNationalPage:
    AREAS = [
        {"code": "0010000", "name": "Rīga", "devices_in_service": 9, "pupils": 90,
         "active_loans": 3, "coverage": [band("1-3", 1, 3)]},
        {"code": "0020000", "name": "Ādaži", "devices_in_service": 2, "pupils": 10,
         "active_loans": 1, "coverage": [band("1-3", 1, 3, pupils_per_device=None)]},
    ]  # fmt: skip

    def test_sorting_puts_figures_the_api_did_not_give_last_either_way(self) -> None:
        by = [a["code"] for a in sorted_areas(self.AREAS, "ratio", "descending")]
        assert by == ["0010000", "0020000"]
        by = [a["code"] for a in sorted_areas(self.AREAS, "ratio", "ascending")]
        assert by == ["0010000", "0020000"]
        assert [a["name"] for a in sorted_areas(self.AREAS, "name", "ascending")] == [
            "Ādaži",
            "Rīga",
        ]

    def test_the_sorted_column_says_so_and_its_link_sorts_the_other_way(self) -> None:
        heads = {h["key"]: h for h in heading_links("loans", "descending", with_usage=False)}
        assert (
            heads["loans"]["sort"] == "descending" and "order=ascending" in heads["loans"]["href"]
        )
        assert heads["devices"]["sort"] is None and "order=descending" in heads["devices"]["href"]
        assert "utilisation" not in heads

    @pytest.mark.parametrize("lang", ["lv", "en"])
    def test_the_page_renders_with_aria_sort_and_drill_down_links(self, lang: Lang) -> None:
        html = page(lang, "ministry/national.html", view=view(), figures=figures(),
                    as_of=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), areas=self.AREAS,
                    heads=heading_links("name", "ascending", False), with_usage=False,
                    feed={"date": DAY, "provisional": True, "age_days": 0, "institutions": 2})  # fmt: skip
        assert 'aria-sort="ascending"' in html and 'href="/ministry/municipalities/0020000"' in html
        html = page(lang, "ministry/municipality.html", code="0010000", area_name="Rīga",
                    csv_base="/ministry/municipalities/0010000/charts",
                    **dashboard(view(**USAGE), SERIES, lang))  # fmt: skip
        assert "/municipality/0010000/schools" not in html and 'role="img"' in html
