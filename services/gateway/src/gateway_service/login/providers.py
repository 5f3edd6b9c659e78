"""The identity providers this gateway offers, configured from its settings."""

from __future__ import annotations

from gateway_service.config import GatewaySettings
from gateway_service.exceptions import UnknownProvider
from gateway_service.login.base import IdentityProvider, OAuthEndpoints
from gateway_service.login.eklase import EklaseProvider
from gateway_service.login.latvija import LatvijaProvider, SamlEndpoints, dev_sp_key_pair
from gateway_service.login.mykoob import MykoobProvider

PROVIDER_LABELS = {"latvija": "Latvija.lv", "eklase": "E-klase", "mykoob": "Mykoob"}


def providers(settings: GatewaySettings) -> dict[str, IdentityProvider]:
    """The identity providers this gateway offers, by name."""
    base = settings.issuer.rstrip("/")
    eklase = OAuthEndpoints(
        authorize_url=settings.eklase_authorize_url,
        token_url=settings.eklase_token_url,
        client_id=settings.eklase_client_id,
        client_secret=settings.eklase_client_secret.get_secret_value(),
        redirect_uri=f"{base}/login/eklase/callback",
    )
    mykoob = OAuthEndpoints(
        authorize_url=settings.mykoob_authorize_url,
        token_url=settings.mykoob_token_url,
        client_id=settings.mykoob_client_id,
        client_secret=settings.mykoob_client_secret.get_secret_value(),
        redirect_uri=f"{base}/login/mykoob/callback",
    )
    return {
        "latvija": LatvijaProvider(saml_endpoints(settings)),
        "eklase": EklaseProvider(eklase, settings.eklase_profile_url),
        "mykoob": MykoobProvider(mykoob, settings.mykoob_api_url),
    }


def saml_endpoints(settings: GatewaySettings) -> SamlEndpoints:
    """Our Latvija.lv SP: entity id, ACS, key pair (a generated one outside production)."""
    base = settings.issuer.rstrip("/")
    key, cert = settings.saml_sp_key_pem, settings.saml_sp_cert_pem
    if key is None or not cert:
        key_pem, cert = dev_sp_key_pair()  # the prod guard in settings refuses this path
    else:
        key_pem = key.get_secret_value()
    return SamlEndpoints(
        entity_id=f"{base}/login/latvija/metadata",
        acs_url=f"{base}/login/latvija/acs",
        slo_url=f"{base}/login/latvija/slo",
        key_pem=key_pem,
        cert_pem=cert,
        idp_metadata=settings.latvija_idp_metadata_url,
    )


def provider_named(settings: GatewaySettings, name: str) -> IdentityProvider:
    """The provider with this name (404 problem when there is none)."""
    provider = providers(settings).get(name)
    if provider is None:
        raise UnknownProvider(f"No identity provider '{name[:40]}'")
    return provider
