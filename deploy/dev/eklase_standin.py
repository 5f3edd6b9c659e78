"""An E-klase stand-in: a real OAuth 2.0 authorization server (Authlib) with E-klase's quirks.

Its token endpoint answers query-string encoded (`access_token=…&token_type=…`), not JSON, and
its profile is XML with the personal code in `AdditionalData/DataItem[@id=2]`. For the tests
and the local stack only. Run it alone with

    uv run uvicorn --app-dir deploy/dev eklase_standin:app --port 8191
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from oauth_standin import (
    Client,
    Login,
    Server,
    authorize_get,
    authorize_post,
    bearer_login,
    to_response,
    token_endpoint,
    unauthorized,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_CLIENT_ID = "datori-gateway"
DEFAULT_CLIENT_SECRET = "dev-eklase-secret"  # a stand-in's dev secret
TITLE = "E-klase"


def query_string_token(status: int, body: Any, headers: Any) -> Response:
    """E-klase's token response: the RFC 6749 §5.1 fields, form-encoded; errors stay JSON."""
    if status != 200:
        return to_response(status, body, headers)
    text = urlencode({k: str(v) for k, v in dict(body).items()})
    no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(text, media_type="application/x-www-form-urlencoded", headers=no_store)


def person_type(login: Login) -> str:
    """E-klase's PersonType for the demo person."""
    person = login.person
    if person.learner is not None:
        return "Student"
    if person.staff:
        return "Teacher"
    return "Parent" if person.guardian_of else "Other"


def profile_xml(login: Login) -> bytes:
    """The profile document in E-klase's shape."""
    person = login.person
    root = ElementTree.Element("Profile")
    values = {
        "FirstName": person.given_name,
        "LastName": person.family_name,
        "PersonType": person_type(login),
        "SchoolViisId": login.school or "",
        "ClassLevel": str(person.learner.grade) if person.learner else "",
        "ClassName": person.learner.class_name if person.learner else "",
    }
    for name, value in values.items():
        ElementTree.SubElement(root, name).text = value
    extra = ElementTree.SubElement(root, "AdditionalData")
    ElementTree.SubElement(extra, "DataItem", id="1").text = person.viis_id
    ElementTree.SubElement(extra, "DataItem", id="2").text = person.personal_code
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def create_app(
    client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET
) -> Starlette:
    """The stand-in app for one registered client."""
    server = Server(Client(client_id, client_secret))

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            return await authorize_post(server, request)
        return await authorize_get(server, TITLE, request)

    async def token(request: Request) -> Response:
        return await token_endpoint(server, request, query_string_token)

    async def profile(request: Request) -> Response:
        login = bearer_login(server, request)
        if login is None:
            return unauthorized()
        return Response(profile_xml(login), media_type="application/xml")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/authorize", authorize, methods=["GET", "POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/profile", profile),
            Route("/healthz", healthz),
        ]
    )


app = create_app(
    os.environ.get("EKLASE_STANDIN_CLIENT_ID", DEFAULT_CLIENT_ID),
    os.environ.get("EKLASE_STANDIN_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
)
