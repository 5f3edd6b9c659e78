"""The portal's page policy for the kit's security headers (a nonce'd script, logout origins)."""

from __future__ import annotations

from portal_service.config import PortalSettings, origin_of
from shared_kit.security_headers import PagePolicy


def page_policy(settings: PortalSettings) -> PagePolicy:
    """What the portal's pages may do beyond the kit's strict default."""
    # A form's navigation may be redirected on: logout goes to the gateway (and, after a
    # Latvija.lv login, through the IdP's single logout) before it comes back.
    origins = [origin_of(settings.gateway_public_url)]
    origins += [origin_of(o) for o in settings.logout_origins]
    return PagePolicy(
        form_action=tuple(dict.fromkeys(origins)),
        # The CSRF check reads Origin, which `no-referrer` would turn into `null` on POSTs.
        referrer="same-origin",
        no_store=True,
        hsts=settings.secure_cookies,
    )
