"""Mobile numbers as people write them, in the one form they are stored and sent to."""

from __future__ import annotations

import pytest

from notifications_service.service.addresses import normalise_mobile


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("21234567", "+37121234567"),
        ("2123 4567", "+37121234567"),
        ("+371 2123 4567", "+37121234567"),
        ("+371-21-234-567", "+37121234567"),
        ("00371 21234567", "+37121234567"),
        ("(+371) 21234567", "+37121234567"),
        ("+49 1512 3456789", "+4915123456789"),
        ("+372 5123 4567", "+37251234567"),
    ],
)
def test_a_number_is_stored_in_e164(written: str, stored: str) -> None:
    assert normalise_mobile(written) == stored
