"""Portal settings: production refuses development defaults; cookies follow https."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from portal_service.config import SERVICE_URLS, PortalSettings

PROD = {
    "environment": "prod",
    "database_url": "postgresql+asyncpg://portal@db.internal/portal",
    "public_url": "https://www.datori.example",
    "gateway_public_url": "https://api.datori.example",
    "gateway_url": "https://api.datori.example",
    **{name: "https://api.datori.example" for name in SERVICE_URLS},
}


class TestProduction:
    def test_a_real_configuration_is_accepted_without_a_broker(self) -> None:
        settings = PortalSettings(**PROD, session_key=Fernet.generate_key().decode())
        assert settings.secure_cookies
        assert settings.session_cookie == "__Host-portal_session"

    def test_the_dev_session_key_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="PORTAL_SESSION_KEY"):
            PortalSettings(**PROD)

    @pytest.mark.parametrize("name", ["public_url", "gateway_public_url"])
    def test_plain_http_is_refused(self, name: str) -> None:
        config = {**PROD, name: "http://127.0.0.1:8110"}
        with pytest.raises(ValidationError, match=name.upper()):
            PortalSettings(**config, session_key=Fernet.generate_key().decode())

    @pytest.mark.parametrize("name", SERVICE_URLS)
    def test_a_services_dev_url_is_refused(self, name: str) -> None:
        config = {**PROD, name: "http://127.0.0.1:8101"}
        with pytest.raises(ValidationError, match=name.upper()):
            PortalSettings(**config, session_key=Fernet.generate_key().decode())

    def test_a_malformed_key_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            PortalSettings(session_key="not-a-key")


def test_dev_cookies_are_not_secure_over_http() -> None:
    settings = PortalSettings()
    assert not settings.secure_cookies and settings.session_cookie == "portal_session"
