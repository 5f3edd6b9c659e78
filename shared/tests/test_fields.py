"""Codes and numbers take the ASCII digits 0-9 only, never another script's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared_kit.fields import PERSONAL_CODE, AsciiDecimal, AtvkCode, RegNumber, ascii_digits
from shared_kit.testing.digits import foreign_digits
from shared_kit.viis import HttpViisDirectory, check_registration_number, normalise_personal_code


class Codes(BaseModel):
    atvk: AtvkCode | None = None
    reg_no: RegNumber | None = None
    amount: AsciiDecimal | None = Field(None, ge=0, le=1000, decimal_places=2)


class TestCodes:
    def test_ascii_codes_pass(self) -> None:
        codes = Codes(atvk="0010000", reg_no=" 3113900001 ")
        assert (codes.atvk, codes.reg_no) == ("0010000", "3113900001")

    @pytest.mark.parametrize("code", foreign_digits("0010000").values())
    def test_an_atvk_code_in_other_digits_is_refused(self, code: str) -> None:
        with pytest.raises(ValidationError):
            Codes(atvk=code)

    @pytest.mark.parametrize("number", foreign_digits("3113900001").values())
    def test_a_registration_number_in_other_digits_is_refused(self, number: str) -> None:
        with pytest.raises(ValidationError):
            Codes(reg_no=number)

    @pytest.mark.parametrize("code", foreign_digits("010190-10001").values())
    def test_a_personal_code_in_other_digits_is_refused(self, code: str) -> None:
        assert PERSONAL_CODE.fullmatch(code) is None
        with pytest.raises(ValueError):
            normalise_personal_code(code)

    @pytest.mark.parametrize("number", foreign_digits("3113900001").values())
    def test_viis_checks_refuse_other_digits(self, number: str) -> None:
        with pytest.raises(ValueError):
            check_registration_number(number)

    @pytest.mark.parametrize("code", foreign_digits("0010000").values())
    async def test_viis_institutions_refuse_an_atvk_code_in_other_digits(self, code: str) -> None:
        async with HttpViisDirectory("http://viis.invalid", "key") as viis:
            with pytest.raises(ValueError):
                await viis.institutions(code)

    def test_ascii_digits(self) -> None:
        assert ascii_digits("0123456789")
        assert not any(ascii_digits(s) for s in ("", "12a", "²", "١٢", "１２", " 1"))


class TestAsciiDecimal:
    @pytest.mark.parametrize("value", ["12.50", "12", "+1.5", ".5", "1e2", " 7 ", 12.5, 12])
    def test_plain_numbers_pass(self, value: object) -> None:
        assert Codes(amount=value).amount == Decimal(str(value).strip())

    @pytest.mark.parametrize(
        "value", [*foreign_digits("12.50").values(), "1_000", "NaN", "Infinity", "12,50", ""]
    )
    def test_other_writings_are_refused(self, value: str) -> None:
        with pytest.raises(ValidationError):
            Codes(amount=value)

    def test_the_field_constraints_still_apply(self) -> None:
        for value in ("-1", "1000.01", "1.234"):
            with pytest.raises(ValidationError):
                Codes(amount=value)
