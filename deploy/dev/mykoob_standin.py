"""A Mykoob stand-in: a real OAuth 2.0 authorization server (Authlib) requiring PKCE (S256).

JSON resources under `/api/v1`: `user` (names), `user/schools` (`school_reg_no`, roles) and
`user/personal_code`. For the tests and the local stack only. Run it alone with

    uv run uvicorn --app-dir deploy/dev mykoob_standin:app --port 8192
"""

from __future__ import annotations

import os
from typing import Any

from oauth_standin import (
    Client,
    Login,
    Server,
    authorize_get,
    authorize_post,
    bearer_login,
    token_endpoint,
    unauthorized,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_CLIENT_ID = "datori-gateway"
DEFAULT_CLIENT_SECRET = "dev-mykoob-secret"  # a stand-in's dev secret
TITLE = "Mykoob"


def roles_of(login: Login) -> list[str]:
    """Mykoob's roles for the demo person at the reported school."""
    person = login.person
    roles = ["student"] if person.learner is not None else []
    roles += [role for _, role in person.staff]
    return roles + (["parent"] if person.guardian_of else [])


def resources(login: Login) -> dict[str, dict[str, Any]]:
    """The JSON resources of one login."""
    person = login.person
    schools = [{"school_reg_no": login.school, "roles": roles_of(login)}] if login.school else []
    return {
        "user": {
            "id": person.viis_id,
            "first_name": person.given_name,
            "last_name": person.family_name,
        },
        "user/schools": {"schools": schools},
        "user/personal_code": {"personal_code": person.personal_code},
    }


def create_app(
    client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET
) -> Starlette:
    """The stand-in app for one registered client (PKCE required)."""
    server = Server(Client(client_id, client_secret), pkce_required=True)

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            return await authorize_post(server, request)
        return await authorize_get(server, TITLE, request)

    async def token(request: Request) -> Response:
        return await token_endpoint(server, request)

    async def resource(request: Request) -> Response:
        login = bearer_login(server, request)
        if login is None:
            return unauthorized()
        body = resources(login).get(request.path_params["name"])
        if body is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(body)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/v1/{name:path}", resource),
            Route("/healthz", healthz),
        ]
    )


app = create_app(
    os.environ.get("MYKOOB_STANDIN_CLIENT_ID", DEFAULT_CLIENT_ID),
    os.environ.get("MYKOOB_STANDIN_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
)
