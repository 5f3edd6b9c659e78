"""The console's rules forms without the services: values as typed become the services' bodies,
a saved resource becomes the form's values again, and a conflict compares both versions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from portal_service.i18n import translations
from portal_service.municipality.catalogue_forms import (
    CatalogueItemForm,
    describe_item,
    item_values,
)
from portal_service.municipality.editing import Prefixes, conflict_of
from portal_service.municipality.policy_forms import (
    RESERVATION_LABELS,
    ReservationPolicyForm,
    SlaForm,
    describe_reservations,
    in_largest_unit,
    reservation_values,
    sla_values,
)

POLICY = {
    "municipality_code": "0010000", "auto_approve": True, "max_active_per_learner": 1,
    "max_period_days": 366, "pickup_days": 7, "school_year_end": "06-01", "version": 4,
}  # fmt: skip
ITEM: dict[str, Any] = {
    "code": "NB-14", "name": "Laptop 14", "manufacturer": "Acme", "model": "A14",
    "category": "laptop", "os": "linux", "screen_inches": "14.0", "touch": True,
    "specs": {"cpu": "N100", "ram_gb": 8, "backlit": False},
    "options": {"memory_upgrade_gb": None, "adapters": ["USB-C to HDMI"],
                "management_software": True, "bag": False, "mouse": True,
                "extra_warranty_months": 24},
    "base_warranty_months": 36, "school_levels": ["grades 1-3", "grades 4-6"], "active": True,
    "version": 2,
}  # fmt: skip


class TestReservationPolicyForm:
    def test_a_saved_policy_comes_back_unchanged_through_the_form(self) -> None:
        form = ReservationPolicyForm.model_validate(reservation_values(POLICY))
        assert form.version == 4
        assert form.body() == {
            k: v for k, v in POLICY.items() if k not in ("municipality_code", "version")
        }

    def test_the_day_and_month_as_typed_become_the_services_month_day(self) -> None:
        values = reservation_values(POLICY) | {
            "end_day": " 31 ",
            "end_month": "5",
            "auto_approve": "no",
        }
        body = ReservationPolicyForm.model_validate(values).body()
        assert body["school_year_end"] == "05-31" and body["auto_approve"] is False

    @pytest.mark.parametrize(("day", "month"), [("29", "2"), ("31", "4"), ("", "6"), ("x", "1")])
    def test_a_day_that_is_not_real_is_said_at_the_date(self, day: str, month: str) -> None:
        values = reservation_values(POLICY) | {"end_day": day, "end_month": month}
        with pytest.raises(ValidationError) as caught:
            ReservationPolicyForm.model_validate(values)
        assert list(ReservationPolicyForm.errors_of(caught.value).fields) == ["school_year_end"]

    def test_in_words_in_both_languages(self) -> None:
        english = describe_reservations(POLICY, translations("en"), "en")
        assert (
            english["pickup_days"] == "7 days" and english["max_active_per_learner"] == "1 request"
        )
        latvian = describe_reservations(POLICY, translations("lv"), "lv")
        assert latvian["pickup_days"] == "7 dienas" and latvian["school_year_end"] == "1. jūnijs"


class TestSlaForm:
    @pytest.mark.parametrize(("minutes", "shown"), [(240, (4, "hours")), (2880, (2, "days")),
                                                    (90, (90, "minutes"))])  # fmt: skip
    def test_minutes_are_shown_in_the_largest_whole_unit(self, minutes: int, shown: Any) -> None:
        assert in_largest_unit(minutes) == shown

    def test_a_number_and_a_unit_become_minutes(self) -> None:
        policy = {"response_minutes": 240, "resolution_minutes": 2880, "version": 1}
        form = SlaForm.model_validate(sla_values(policy) | {"response_count": "36"})
        assert form.body() == {"response_minutes": 36 * 60, "resolution_minutes": 2880}

    def test_a_number_without_a_unit_is_said_at_its_field(self) -> None:
        with pytest.raises(ValidationError) as caught:
            SlaForm.model_validate({"version": "0", "response_count": "4", "resolution_count": "2",
                                    "resolution_unit": "days"})  # fmt: skip
        assert list(SlaForm.errors_of(caught.value).fields) == ["response_minutes"]


class TestCatalogueItemForm:
    def test_a_saved_item_comes_back_unchanged_through_the_form(self) -> None:
        body = CatalogueItemForm.model_validate(item_values(ITEM)).body()
        assert body == {k: ITEM[k] for k in ("name", "active", "school_levels", "specs", "options")}

    def test_technical_details_keep_their_types(self) -> None:
        values = item_values(ITEM) | {
            "specs": "cpu: Intel N100\n\nram_gb: 16\nweight_kg: 1.2\ntouch: TRUE"
        }
        specs = CatalogueItemForm.model_validate(values).body()["specs"]
        assert specs == {"cpu": "Intel N100", "ram_gb": 16, "weight_kg": 1.2, "touch": True}

    def test_a_detail_line_without_a_value_is_said_at_the_details(self) -> None:
        with pytest.raises(ValidationError) as caught:
            CatalogueItemForm.model_validate(item_values(ITEM) | {"specs": "ram_gb 16"})
        assert list(CatalogueItemForm.errors_of(caught.value).fields) == ["specs"]


class TestConflict:
    def test_both_versions_side_by_side_in_the_forms_order(self) -> None:
        words = translations("en")
        mine = describe_reservations(POLICY | {"pickup_days": 9}, words, "en")
        theirs = describe_reservations(POLICY | {"max_period_days": 100}, words, "en")
        conflict = conflict_of(RESERVATION_LABELS, mine, theirs, "/back")
        assert [r.label for r in conflict.rows] == list(RESERVATION_LABELS.values())
        changed = [(r.yours, r.saved) for r in conflict.rows if r.differs]
        assert changed == [("366 days", "100 days"), ("9 days", "7 days")]
        assert not conflict.settled

    def test_the_same_values_on_both_sides_are_no_conflict(self) -> None:
        shown = describe_item(ITEM, translations("lv"))
        assert conflict_of({"name": "Name"}, shown, shown, "/back").settled

    def test_a_lists_members_are_its_field(self) -> None:
        fields = Prefixes({"/school_levels": "school_levels", "/specs": "specs"})
        assert fields.get("/school_levels/3") == "school_levels"
        assert fields.get("/specs") == "specs" and fields.get("/options/bag") is None
