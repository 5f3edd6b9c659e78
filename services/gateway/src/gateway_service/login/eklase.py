"""E-klase: OAuth 2.0 authorization code; a query-string token response and an XML profile."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client

from gateway_service.login.base import (
    IdentityAssertion,
    OAuthEndpoints,
    OAuthProvider,
    get_ok,
)
from shared_kit.fields import ascii_digits

PERSONAL_CODE_ITEM = "2"  # AdditionalData/DataItem[@id=2] carries the personal code
MAX_PROFILE_BYTES = 64_000


def form_encoded_token(response: httpx.Response) -> httpx.Response:
    """Authlib compliance hook: E-klase answers `access_token=…&token_type=…`, not JSON."""
    if "json" in response.headers.get("content-type", ""):
        return response
    token: dict[str, str | int] = dict(parse_qsl(response.text))
    expires_in = str(token.pop("expires_in", ""))
    if ascii_digits(expires_in):  # an unreadable lifetime is left out, not guessed
        token["expires_in"] = int(expires_in)
    return httpx.Response(response.status_code, json=token, request=response.request)


def parse_profile(xml: bytes) -> dict[str, str | None]:
    """The profile fields we use from E-klase's XML (ValueError on anything malformed)."""
    if len(xml) > MAX_PROFILE_BYTES or b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ValueError("E-klase profile too large or with a DTD")  # no entity expansion
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise ValueError("E-klase profile is not XML") from None
    fields = ("FirstName", "LastName", "PersonType", "SchoolViisId", "ClassLevel", "ClassName")
    profile = {name: _text(root.find(name)) for name in fields}
    item = root.find(f"AdditionalData/DataItem[@id='{PERSONAL_CODE_ITEM}']")
    profile["personal_code"] = _text(item)
    return profile


def _text(element: ElementTree.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


class EklaseProvider(OAuthProvider):
    """E-klase login (no PKCE: E-klase does not support it)."""

    name = "eklase"
    uses_pkce = False

    def __init__(self, endpoints: OAuthEndpoints, profile_url: str) -> None:
        super().__init__(endpoints)
        self.profile_url = profile_url

    def prepare(self, client: AsyncOAuth2Client) -> None:
        """Turn E-klase's query-string token response into what Authlib parses."""
        client.register_compliance_hook("access_token_response", form_encoded_token)

    async def identity(self, client: AsyncOAuth2Client, now: dt.datetime) -> IdentityAssertion:
        """Read the XML profile."""
        profile = parse_profile((await get_ok(client, self.profile_url)).content)
        code = profile["personal_code"]
        if not code:
            raise ValueError("E-klase profile without a personal code")
        return IdentityAssertion(
            personal_code=code,
            given_name=profile["FirstName"],
            family_name=profile["LastName"],
            idp=self.name,
            amr=self.amr,
            auth_time=now,
            school_reg_no=profile["SchoolViisId"],
            person_type=profile["PersonType"],
        )
