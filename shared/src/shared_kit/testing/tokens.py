"""A token issuer for tests and the local stack, serving its JWKS over real HTTP.

It stands in for the auth gateway's signing side until a test runs the real gateway.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

DEFAULT_AUDIENCE = "datori"
DEFAULT_ISSUER = "http://127.0.0.1/dev-issuer"


class TokenIssuer:
    """Mints ES256 access tokens; `rotate()` adds a new key and keeps the old one published."""

    def __init__(self, audience: str = DEFAULT_AUDIENCE, issuer: str = DEFAULT_ISSUER) -> None:
        self.audience = audience
        self.issuer = issuer
        self._keys: list[ECKey] = []
        self.rotate()

    def rotate(self) -> str:
        """Create a new signing key; return its kid."""
        key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex[:16], "use": "sig"})
        self._keys.append(key)
        return str(key.kid)

    def jwks(self) -> dict[str, Any]:
        """Public keys as a JWK Set."""
        return dict(KeySet(list[Any](self._keys)).as_dict(private=False))

    def mint(
        self,
        subject: str | None = None,
        *,
        roles: list[str] | tuple[str, ...] = (),
        municipalities: list[str] | tuple[str, ...] = (),
        institutions: list[str] | tuple[str, ...] = (),
        learners: list[str] | tuple[str, ...] = (),
        scope: str | None = None,
        client_id: str | None = None,
        # Session-wide test tokens must outlive a slow run of the whole suite.
        ttl_s: int = 6 * 3600,
        audience: str | list[str] | None = None,
        **extra: Any,
    ) -> str:
        """A signed access token with the platform's claims (`audience`: one or several)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject or str(uuid.uuid4()),
            "aud": audience or self.audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
            "municipalities": list(municipalities),
            "institutions": list(institutions),
            "learners": list(learners),
            **extra,
        }
        if scope is not None:
            claims["scope"] = scope
        if client_id is not None:
            claims["client_id"] = client_id
        key = self._keys[-1]
        return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


class JWKSServer:
    """Serves `/.well-known/jwks.json` (and a dev `/token` endpoint) on a loopback port."""

    def __init__(self, issuer: TokenIssuer, port: int = 0, allow_minting: bool = False) -> None:
        self.issuer = issuer
        handler = _handler_for(issuer, allow_minting)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def jwks_url(self) -> str:
        """URL of the key set."""
        return f"{self.url}/.well-known/jwks.json"

    def start(self) -> JWKSServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def _handler_for(issuer: TokenIssuer, allow_minting: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/jwks.json":
                self._send(200, issuer.jwks())
            elif url.path == "/token" and allow_minting:
                self._send(200, _mint_from_query(issuer, parse_qs(url.query)))
            else:
                self._send(404, {"title": "Not found", "status": 404})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _mint_from_query(issuer: TokenIssuer, query: dict[str, list[str]]) -> dict[str, Any]:
    def many(name: str) -> list[str]:
        return [v for value in query.get(name, []) for v in value.split(",") if v]

    token = issuer.mint(
        query.get("sub", [None])[0],
        roles=many("role"),
        municipalities=many("municipality"),
        institutions=many("institution"),
        ttl_s=int(query.get("ttl", ["3600"])[0]),
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}


class AudienceTokens:
    """Tokens for one service's audience; a service's test kit subclasses it to name its callers."""

    def __init__(self, issuer: TokenIssuer, audience: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience or issuer.audience

    def mint(self, subject: str | None = None, **claims: Any) -> str:
        """A token for this audience."""
        claims.setdefault("audience", self.audience)
        return self.issuer.mint(subject, **claims)
