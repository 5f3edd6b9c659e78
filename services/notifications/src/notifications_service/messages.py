"""How each kind of message reads, in Latvian and English: subject, text, HTML and SMS.

Every string is an English message id in `TEXTS`, translated through the service's Babel
catalogues (`translations/{lv,en}/LC_MESSAGES/messages.po`, compiled in memory at start by
the kit's helpers). Messages carry the least personal data that does the job: numbers, dates,
the school's registration number and a link to the portal page, never a name or a personal
code. Parameters ending in `_on` are local days, in `_at` moments (shown in Riga time).
Dates in Latvian read `9.10.2026.` (a form that needs no grammatical case after "līdz"),
in English `9 October 2026`. Catalogues: `uv run python -m notifications_service.messages`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.support import Translations
from jinja2 import Environment

from shared_kit.design import i18n as design
from shared_kit.design.i18n import N_, Lang, as_lang

TRANSLATIONS = Path(__file__).parent / "translations"
RIGA = ZoneInfo("Europe/Riga")


@dataclass(frozen=True)
class Rendered:
    """One message written for one person."""

    subject: str  # the e-mail subject and the notice's title
    text: str  # the e-mail's plain text: the body, then the portal link
    html: str  # the e-mail's HTML
    short: str  # the SMS (one or two segments)
    body: str = ""  # the notice's body in the portal (the text without the link)


Message = str | tuple[str, str]  # a message id, or its singular and plural


def ngettext(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message with a plural for extraction; it is translated where it is shown, by the
    number in the parameter its kind names (`Text.count`)."""
    return singular, plural


@dataclass(frozen=True)
class Text:
    """The message ids of one kind."""

    subject: str
    body: Message
    short: Message
    action: str | None = None
    count: str = "count"  # the parameter that picks a plural form


SEE_RESERVATION = N_("See the reservation")
SEE_AGREEMENT = N_("See the agreement")
SEE_REPORT = N_("See the problem report")
OPEN_TICKET = N_("Open the ticket")

TEXTS: dict[str, Text] = {
    "reservation_approved": Text(
        N_("Your reservation is approved"),
        N_(
            "School %(school)s approved your reservation of a computer for %(period_start_on)s "
            "to %(period_end_on)s. Next you will be asked to sign the loan agreement."
        ),
        N_("Your computer reservation is approved: %(url)s"),
        SEE_RESERVATION,
    ),
    "reservation_waitlisted": Text(
        N_("Your reservation is on the waiting list"),
        N_(
            "No suitable computer is free at school %(school)s right now, so your reservation "
            "is on the waiting list. We will let you know as soon as a computer is free for you."
        ),
        N_("Your computer reservation is on the waiting list: %(url)s"),
        SEE_RESERVATION,
    ),
    "reservation_offered": Text(
        N_("A computer is now free for you"),
        N_(
            "A computer became free at school %(school)s and is now reserved for you for "
            "%(period_start_on)s to %(period_end_on)s. Next you will be asked to sign the loan "
            "agreement."
        ),
        N_("A computer is now reserved for you: %(url)s"),
        SEE_RESERVATION,
    ),
    "reservation_rejected": Text(
        N_("Your reservation was not approved"),
        N_(
            "School %(school)s did not approve your reservation of a computer. The reason is "
            "on the reservation's page."
        ),
        N_("Your computer reservation was not approved: %(url)s"),
        SEE_RESERVATION,
    ),
    "reservation_expired": Text(
        N_("Your reservation has expired"),
        N_(
            "Your reservation of a computer at school %(school)s has expired: the computer was "
            "not collected in time, or none became free within the period. You can make a new "
            "reservation in the portal."
        ),
        N_("Your computer reservation has expired: %(url)s"),
        SEE_RESERVATION,
    ),
    "contract_ready_to_sign": Text(
        N_("Loan agreement %(number)s is ready to sign"),
        N_(
            "The loan agreement %(number)s for the computer from school %(school)s is ready. "
            "Please read and sign it by %(sign_by_at)s; otherwise the reservation lapses."
        ),
        N_("Please sign loan agreement %(number)s by %(sign_by_at)s: %(url)s"),
        N_("Read and sign the agreement"),
    ),
    "contract_sign_reminder": Text(
        N_("Reminder: please sign loan agreement %(number)s"),
        N_(
            "Loan agreement %(number)s is still waiting for your signature. Please sign it by "
            "%(sign_by_at)s; otherwise the reservation lapses."
        ),
        N_("Reminder: please sign loan agreement %(number)s by %(sign_by_at)s: %(url)s"),
        N_("Read and sign the agreement"),
    ),
    "device_ready_to_collect": Text(
        N_("The computer is ready to collect"),
        N_(
            "Thank you for signing loan agreement %(number)s. The computer is waiting for you "
            "at school %(school)s; the school signs the agreement when it hands the computer over."
        ),
        N_("The computer is ready to collect at school %(school)s: %(url)s"),
        SEE_AGREEMENT,
    ),
    "pickup_reminder": Text(
        N_("Reminder: please collect the computer by %(pickup_deadline_at)s"),
        N_(
            "The computer under loan agreement %(number)s is waiting for you at school "
            "%(school)s. Please collect it by %(pickup_deadline_at)s; otherwise the reservation "
            "lapses."
        ),
        N_("Please collect the computer at school %(school)s by %(pickup_deadline_at)s: %(url)s"),
        SEE_RESERVATION,
    ),
    "return_due_soon": Text(
        N_("The computer is due back by %(due_on)s"),
        N_(
            "The loan under agreement %(number)s ends in a week. Please return the computer "
            "with its accessories to school %(school)s by %(due_on)s."
        ),
        N_("Please return the computer to school %(school)s by %(due_on)s: %(url)s"),
        SEE_AGREEMENT,
    ),
    "return_due_tomorrow": Text(
        N_("The computer is due back tomorrow"),
        N_(
            "The loan under agreement %(number)s ends tomorrow, %(due_on)s. Please return the "
            "computer with its accessories to school %(school)s."
        ),
        N_("Please return the computer to school %(school)s tomorrow, %(due_on)s: %(url)s"),
        SEE_AGREEMENT,
    ),
    "loan_overdue": Text(
        N_("The computer is overdue"),
        N_(
            "The loan under agreement %(number)s ended on %(due_on)s and the computer has not "
            "been returned. Please return it to school %(school)s as soon as possible."
        ),
        N_(
            "The computer was due back by %(due_on)s. Please return it to school %(school)s: "
            "%(url)s"
        ),
        SEE_AGREEMENT,
    ),
    "ticket_acknowledged": Text(
        N_("Problem report %(number)s has been received"),
        N_("Support staff have received your problem report %(number)s and will work on it."),
        N_("Your problem report %(number)s has been received: %(url)s"),
        SEE_REPORT,
    ),
    "ticket_commented": Text(
        N_("New reply on problem report %(number)s"),
        N_(
            "There is a new reply on your problem report %(number)s. You can read it in the portal."
        ),
        N_("New reply on your problem report %(number)s: %(url)s"),
        SEE_REPORT,
    ),
    "ticket_resolved": Text(
        N_("Problem report %(number)s is resolved"),
        N_(
            "Support staff have marked your problem report %(number)s as resolved. If the "
            "problem persists, you can reopen the report in the portal."
        ),
        N_("Your problem report %(number)s is resolved: %(url)s"),
        SEE_REPORT,
    ),
    "loaner_offered": Text(
        N_("A replacement computer is available"),
        N_(
            "While your child's computer is away, a replacement computer is reserved for you at "
            "school %(school)s. Next you will be asked to sign its loan agreement."
        ),
        N_("A replacement computer is reserved for you at school %(school)s: %(url)s"),
        SEE_RESERVATION,
    ),
    "approvals_waiting": Text(
        N_("Reservations waiting for approval at school %(school)s"),
        ngettext(
            "%(count)d reservation request is waiting for approval at school %(school)s.",
            "%(count)d reservation requests are waiting for approval at school %(school)s.",
        ),
        ngettext(
            "%(count)d reservation request is waiting for approval: %(url)s",
            "%(count)d reservation requests are waiting for approval: %(url)s",
        ),
        N_("Review the requests"),
    ),
    "sla_at_risk": Text(
        N_("Ticket %(number)s: the %(clock)s runs out soon"),
        N_("Ticket %(number)s: the %(clock)s runs out on %(due_at)s, in less than 4 hours."),
        N_("Ticket %(number)s: the %(clock)s runs out on %(due_at)s: %(url)s"),
        OPEN_TICKET,
    ),
    "sla_breached": Text(
        N_("Ticket %(number)s: the %(clock)s has run out"),
        N_("Ticket %(number)s: the %(clock)s ran out on %(due_at)s."),
        N_("Ticket %(number)s: the %(clock)s has run out: %(url)s"),
        OPEN_TICKET,
    ),
    "contact_point_rejected": Text(
        N_("Your %(channel)s was refused"),
        N_(
            "Messages could not be delivered to your %(channel)s: it was refused. "
            "Please check it and enter it again in the portal."
        ),
        N_("Messages to your %(channel)s were refused: %(url)s"),
        N_("Check your contact details"),
    ),
    "verification_code": Text(
        N_("Your confirmation code"),
        ngettext(
            "Your confirmation code is %(code)s. It is valid for %(minutes)d minute. If you "
            "did not ask for it, please ignore this message.",
            "Your confirmation code is %(code)s. It is valid for %(minutes)d minutes. If you "
            "did not ask for it, please ignore this message.",
        ),
        N_("Datori code: %(code)s (valid for %(minutes)d min)"),
        count="minutes",
    ),
}

# Words that stand in a sentence: the SLA clocks and the channels.
WORDS = {
    "response": N_("response time"),
    "resolution": N_("resolution time"),
    "email": N_("e-mail address"),
    "sms": N_("mobile number"),
}

_HTML = Environment(autoescape=True, auto_reload=False).from_string(
    """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ subject }}</title>
</head>
<body style="margin:0;padding:16px;color:#0b0c0c;
  font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5">
<h1 style="margin:0 0 16px;font-size:24px;line-height:1.25">{{ subject }}</h1>
<p style="margin:0 0 16px">{{ body }}</p>
{% if url and action -%}
<p style="margin:0"><a href="{{ url }}" style="color:#1d70b8;font-weight:bold">{{ action }}</a></p>
{%- endif %}
</body>
</html>
"""
)


def translations(lang: Lang) -> Translations:
    """The compiled catalogue of a language (read once per process)."""
    return design.translations(TRANSLATIONS, lang)


def format_day(day: dt.date, lang: Lang) -> str:
    """A day: `9.10.2026.` in Latvian, `9 October 2026` in English."""
    if lang == "lv":
        return f"{day.day}.{day.month}.{day.year}."
    return format_date(day, "d MMMM y", locale=lang)


def format_moment(moment: dt.datetime, lang: Lang) -> str:
    """A moment in Riga time: `9.10.2026. plkst. 10:00` / `9 October 2026 at 10:00`."""
    local = moment.astimezone(RIGA)
    at = "plkst." if lang == "lv" else "at"
    return f"{format_day(local.date(), lang)} {at} {local:%H:%M}"


class _Values(dict[str, Any]):
    """Parameters for %-formatting; one a message does not have reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def _values(params: dict[str, Any], lang: Lang, tr: Translations) -> _Values:
    values = _Values()
    for key, value in params.items():
        if value is None:
            values[key] = ""
        elif key.endswith("_on"):
            values[key] = format_day(dt.date.fromisoformat(str(value)), lang)
        elif key.endswith("_at"):
            values[key] = format_moment(dt.datetime.fromisoformat(str(value)), lang)
        elif key in ("clock", "channel") and str(value) in WORDS:
            values[key] = tr.gettext(WORDS[str(value)])
        else:
            values[key] = value
    return values


def _translate(tr: Translations, message: Message, count: int) -> str:
    if isinstance(message, tuple):
        return tr.ngettext(*message, count)
    return tr.gettext(message)


def _url(portal_url: str, link: str | None) -> str:
    return portal_url.rstrip("/") + (link or "/")


def render(
    kind: str,
    params: dict[str, Any],
    language: str,
    *,
    portal_url: str,
    link: str | None = None,
) -> Rendered:
    """The message of `kind` with its `params`, in `language`, linking to the portal `link`."""
    lang = as_lang(language)
    tr = translations(lang)
    text = TEXTS[kind]
    url = _url(portal_url, link) if text.action else ""
    values = _values({**params, "url": url}, lang, tr)
    subject = tr.gettext(text.subject) % values
    count = int(values.get(text.count) or 0)
    body, short = (_translate(tr, m, count) % values for m in (text.body, text.short))
    action = tr.gettext(text.action) if text.action else None
    plain = f"{body}\n\n{action}: {url}\n" if action else f"{body}\n"
    html = _HTML.render(lang=lang, subject=subject, body=body, url=url, action=action)
    return Rendered(subject=subject, text=plain, html=html, short=short, body=body)


if __name__ == "__main__":
    design.update_catalogues(Path(__file__).resolve().parents[2] / "babel.cfg", TRANSLATIONS)
