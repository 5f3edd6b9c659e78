"""Numbers written with other scripts' digits, which `\\d`, `isdigit()` and `Decimal()` take."""

from __future__ import annotations

# Zero of each script: Arabic-Indic, Extended Arabic-Indic, Devanagari, fullwidth.
_ZEROS = {"arabic-indic": 0x0660, "persian": 0x06F0, "devanagari": 0x0966, "fullwidth": 0xFF10}


def foreign_digits(number: str) -> dict[str, str]:
    """`number` with its ASCII digits in other scripts, and with only its last digit replaced."""
    variants = {
        script: "".join(chr(zero + int(c)) if "0" <= c <= "9" else c for c in number)
        for script, zero in _ZEROS.items()
    }
    last = number[-1]
    variants["last digit arabic-indic"] = number[:-1] + chr(_ZEROS["arabic-indic"] + int(last))
    return variants
