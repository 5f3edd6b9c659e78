"""Values several services validate alike: ATVK codes, registration numbers, personal codes,
decimal amounts.

Digits are the ASCII `0-9` only. Python's `\\d`, `str.isdigit()` and `Decimal()`, and the regex
engine behind pydantic's `pattern`, also take Arabic-Indic, fullwidth and other scripts' digits
(`Decimal("١٢")` is 12), which no register issues and no other system expects.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints

ATVK_PATTERN = r"^[0-9]{7}$"
REG_NUMBER_PATTERN = r"^[0-9]{4,20}$"

AtvkCode = Annotated[str, StringConstraints(pattern=ATVK_PATTERN)]
"""A municipality's ATVK code: 7 digits."""

RegNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=REG_NUMBER_PATTERN)]
"""An education institution's registration number: 4 to 20 digits."""

PERSONAL_CODE = re.compile(r"([0-9]{6})-?([0-9]{5})")
"""A Latvian personal code, `DDMMYY-NNNNN` or its 11 digits (use `fullmatch`)."""

_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def ascii_digits(text: str) -> bool:
    """True when `text` is one or more of the digits 0-9 (`isdigit()` takes any script's)."""
    return text.isascii() and text.isdigit()


def _plain_number(value: Any) -> Any:
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()) is None:
        raise ValueError("a number is written with the digits 0-9")
    return value


AsciiDecimal = Annotated[Decimal, BeforeValidator(_plain_number)]
"""A decimal that, given as a string, is written with the digits 0-9."""
