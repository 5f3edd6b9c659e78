"""A contact point's address as the person wrote it, checked and written one way.

E-mail: a plain RFC 5321 mailbox (`local@domain`): a dot-atom local part of at most 64
characters, a domain of letters, digits and hyphens (an internationalised one is kept in its
ASCII `xn--` form), at least two labels, lower-cased, at most 254 characters in all. Quoted
local parts and address literals (`[1.2.3.4]`) are legal but no person types them, so they are
refused. SMS: an E.164 number; a Latvian mobile number may be written `2xxxxxxx`,
`+371 2xxx xxxx` or `00371 2xxx xxxx` and becomes `+3712xxxxxxx`; other countries' numbers only
in the full `+<country><number>` form.
"""

from __future__ import annotations

import re

from notifications_service.kinds import Channel

MAX_EMAIL = 254
MAX_LOCAL = 64
MAX_DOMAIN = 253
# RFC 5321 Dot-string: atext runs separated by single dots.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_STRING = re.compile(rf"{_ATEXT}(\.{_ATEXT})*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"([a-z]{2,63}|xn--[a-z0-9-]{1,59})")
# What people put between digits: spaces, hyphens, dots, brackets.
_SEPARATORS = re.compile(r"[\s\-.()/]")
_LATVIAN_MOBILE = re.compile(r"2[0-9]{7}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class BadAddress(ValueError):
    """Why an address is not one we can use (`code` for programs, `reason` for people)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def normalise(channel: Channel, address: str) -> str:
    """The address in its one stored form; `BadAddress` says what is wrong."""
    if channel is Channel.EMAIL:
        return normalise_email(address)
    return normalise_mobile(address)


def normalise_email(address: str) -> str:
    """`Local@Domain.LV` → `Local@domain.lv`, or `BadAddress`."""
    text = address.strip()
    if text.count("@") != 1:
        raise BadAddress("email_at_sign", "An e-mail address has exactly one @")
    local, domain = text.split("@")
    _check_local(local)
    ascii_domain = _domain(domain)
    result = f"{local}@{ascii_domain}"
    if len(result) > MAX_EMAIL:
        raise BadAddress("email_too_long", f"An e-mail address has at most {MAX_EMAIL} characters")
    return result


def _check_local(local: str) -> None:
    if not local:
        raise BadAddress("email_local_part", "The part before @ is empty")
    if len(local) > MAX_LOCAL:
        raise BadAddress(
            "email_local_part", f"The part before @ has at most {MAX_LOCAL} characters"
        )
    if not local.isascii() or _DOT_STRING.fullmatch(local) is None:
        raise BadAddress(
            "email_local_part",
            "The part before @ has letters, digits and . _ + - only, and no dot at either end "
            "or two in a row",
        )


def _domain(domain: str) -> str:
    """The domain in lower-case ASCII (IDNA for letters such as ā, ē)."""
    if domain.startswith("["):
        raise BadAddress("email_domain", "Write the domain name after @, not an IP address")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise BadAddress("email_domain", "The part after @ is not a domain name") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > MAX_DOMAIN:
        raise BadAddress("email_domain", "The part after @ is not a full domain name (name.lv)")
    if any(_LABEL.fullmatch(label) is None for label in labels):
        raise BadAddress("email_domain", "The part after @ is not a domain name")
    if _TLD.fullmatch(labels[-1]) is None:
        raise BadAddress("email_domain", "The part after @ does not end in a top-level domain")
    return ascii_domain


def normalise_mobile(number: str) -> str:
    """`2xxxxxxx`, `+371 2xxx xxxx`, `00371…` → `+3712xxxxxxx`; others only as E.164."""
    text = _SEPARATORS.sub("", number)
    if not text.isascii() or not text.lstrip("+").isdigit() or text.count("+") > 1:
        raise BadAddress("sms_characters", "A mobile number has digits only, after an optional +")
    if text.startswith("00371"):
        text = "+" + text[2:]
    if text.startswith("+371"):
        return _latvian(text[4:])
    if text.startswith(("+", "00")):
        if text.startswith("00") or _E164.fullmatch(text) is None:
            raise BadAddress(
                "sms_international",
                "Write a number of another country as + with its country code and number "
                "(at most 15 digits)",
            )
        return text
    return _latvian(text)


def _latvian(national: str) -> str:
    if _LATVIAN_MOBILE.fullmatch(national) is None:
        raise BadAddress(
            "sms_latvian_mobile", "A Latvian mobile number has 8 digits and starts with 2"
        )
    return "+371" + national
