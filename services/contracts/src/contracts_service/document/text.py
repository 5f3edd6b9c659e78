# ruff: noqa: RUF001 - Latvian typography uses the en dash
"""The agreement's text as data: what the PDF prints, per language, for reading in a page.

The PDF (`render.py`) and this text are built from the same template wording and the same
formatted fields, so the two cannot drift apart. Each rendering is in one language: the Latvian
text prevails, the English one is for information, as the PDF says. The borrower's personal
code is never part of the text; it appears only in the PDF. The device block and the parties
are here as label/value pairs; the signature records are the contract's `signatures`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from contracts_service.document import template as t
from contracts_service.document.model import ContractData, LenderData

RIGA = ZoneInfo("Europe/Riga")
Lang = Literal["lv", "en"]
LANGS: tuple[Lang, ...] = ("lv", "en")  # the document's order: Latvian first, it prevails

# Formats ------------------------------------------------------------------------------------


def date_lv(moment: dt.datetime | dt.date) -> str:
    """A date as Latvians write it: 01.09.2026."""
    day = moment.astimezone(RIGA).date() if isinstance(moment, dt.datetime) else moment
    return day.strftime("%d.%m.%Y.")


def date_en(moment: dt.datetime | dt.date) -> str:
    """A date in ISO form for the English rendering."""
    day = moment.astimezone(RIGA).date() if isinstance(moment, dt.datetime) else moment
    return day.isoformat()


def clock_time(local: dt.datetime) -> str:
    """12:00 (EEST), with seconds when there are any; the zone tells the two 03:30s apart."""
    return local.strftime("%H:%M:%S (%Z)" if local.second else "%H:%M (%Z)")


def last_day(end: dt.datetime) -> dt.date | None:
    """The last whole day of a period ending (exclusively) at `end`: the day before an end at
    Riga midnight; None when the end falls during a day."""
    local = end.astimezone(RIGA)
    return local.date() - dt.timedelta(days=1) if local.time() == dt.time(0) else None


def period_end_lv(end: dt.datetime) -> str:
    """The end as the agreement prints it: 31.05.2027. (ieskaitot), or 01.06.2027. plkst. 12:00."""
    day = last_day(end)
    if day is not None:
        return f"{date_lv(day)} (ieskaitot)"
    return f"{date_lv(end)} plkst. {clock_time(end.astimezone(RIGA))}"


def period_end_en(end: dt.datetime) -> str:
    """The end in English: 2027-05-31 (inclusive), or 2027-06-01 12:00 (EEST)."""
    day = last_day(end)
    if day is not None:
        return f"{date_en(day)} (inclusive)"
    return f"{date_en(end)} {clock_time(end.astimezone(RIGA))}"


def money_lv(value: Decimal) -> str:
    """329,00 EUR."""
    return f"{value:.2f}".replace(".", ",") + " EUR"


def money_en(value: Decimal) -> str:
    """EUR 329.00."""
    return f"EUR {value:.2f}"


def value_texts(data: ContractData) -> tuple[str, str]:
    """The device's value for liability, in Latvian and English."""
    value = data.device.value
    return (money_lv(value), money_en(value)) if value is not None else t.VALUE_UNKNOWN


def period_texts(data: ContractData) -> tuple[str, str]:
    """The loan's period, in Latvian and English."""
    return (
        f"{date_lv(data.period_start)} – {period_end_lv(data.period_end)}",
        f"{date_en(data.period_start)} – {period_end_en(data.period_end)}",
    )


def clause_fields(data: ContractData) -> dict[str, str]:
    """The already formatted values the clauses' wording is filled with."""
    insured = data.device.insured_until
    insurance = (
        tuple(s.format(until_lv=date_lv(insured), until_en=date_en(insured)) for s in t.INSURED)
        if insured is not None
        else t.NOT_INSURED
    )
    value = value_texts(data)
    return {
        "learner": data.learner,
        "start_lv": date_lv(data.period_start),
        "end_lv": period_end_lv(data.period_end),
        "start_en": date_en(data.period_start),
        "end_en": period_end_en(data.period_end),
        "insurance_lv": insurance[0],
        "insurance_en": insurance[1],
        "value_lv": value[0],
        "value_en": value[1],
    }


def clauses(data: ContractData) -> list[tuple[int, tuple[str, str], tuple[str, str]]]:
    """The numbered clauses: number, heading and filled text, each in Latvian and English."""
    fields = clause_fields(data)
    return [
        (number, c.heading, (c.text[0].format(**fields), c.text[1].format(**fields)))
        for number, c in enumerate(t.CLAUSES, start=1)
    ]


# The text as data ---------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Detail(_Frozen):
    """A labelled value, as the PDF prints it in a party's block or the device's table."""

    label: str
    value: str


class PartyText(_Frozen):
    """A party's block: the lender, the borrower (no personal code) or the learner."""

    role: Literal["lender", "borrower", "learner"]
    heading: str
    name: str
    description: str | None = None
    details: list[Detail]


class SectionText(_Frozen):
    """A numbered clause: its heading and its paragraphs."""

    number: int
    heading: str
    paragraphs: list[str]


class AgreementText(_Frozen):
    """One language's rendering of the agreement."""

    lang: Lang
    prevails: bool
    title: str
    notices: list[str]
    parties: list[PartyText]
    device_heading: str
    device: list[Detail]
    sections: list[SectionText]


def _lender(lender: LenderData, i: int) -> PartyText:
    kind, code = t.LENDER_KINDS[lender.kind]
    details = [Detail(label=code[i], value=lender.code)]
    for label, value in (
        (t.REGISTRATION_NUMBER, lender.registration_number),
        (t.ADDRESS, lender.address),
        (t.REPRESENTATIVE, lender.representative),
    ):
        if value:
            details.append(Detail(label=label[i], value=value))
    name = lender.name or "—"
    return PartyText(
        role="lender", heading=t.LENDER[i], name=name, description=kind[i], details=details
    )


def _parties(data: ContractData, i: int) -> list[PartyText]:
    return [
        _lender(data.lender, i),
        PartyText(role="borrower", heading=t.BORROWER[i], name=data.borrower.full_name, details=[]),
        PartyText(
            role="learner",
            heading=t.LEARNER[i],
            name=data.learner,
            details=[Detail(label=t.INSTITUTION[i], value=data.institution_number)],
        ),
    ]


def device_details(data: ContractData, i: int) -> list[Detail]:
    """The device's table in one language (0 Latvian, 1 English)."""
    dev = data.device
    rows = (
        (t.ASSET_TAG, dev.asset_tag),
        (t.SERIAL_NUMBER, dev.serial_number),
        (t.MODEL, dev.model),
        (t.CATEGORY, dev.category),
        (t.ACCESSORIES, ", ".join(dev.accessories) or "—"),
        (t.VALUE, value_texts(data)[i]),
        (t.PERIOD, period_texts(data)[i]),
    )
    return [Detail(label=label[i], value=value) for label, value in rows]


def agreement_text(data: ContractData, lang: Lang) -> AgreementText:
    """The agreement in one language, as its PDF prints it (the personal code left out)."""
    i = LANGS.index(lang)
    notices = [t.PREVAILS[i]]
    if not data.lender.complete:
        notices.append(t.DRAFT_NOTICE[i])
    number = "Nr." if i == 0 else "No."
    return AgreementText(
        lang=lang,
        prevails=i == 0,
        title=f"{t.TITLE[i]} {number} {data.number}",
        notices=notices,
        parties=_parties(data, i),
        device_heading=t.DEVICE[i],
        device=device_details(data, i),
        sections=[
            SectionText(number=n, heading=heading[i], paragraphs=[text[i]])
            for n, heading, text in clauses(data)
        ],
    )
