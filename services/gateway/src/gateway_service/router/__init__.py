"""HTTP endpoints: discovery, the JWKS and the OAuth endpoints at the root (`oauth_router`),
and the admin API under `/api/v1/gateway` (`router`). The login's pages are `login.router`'s."""

from fastapi import APIRouter

from gateway_service.router import audit, clients, grants, keys, oauth, people
from gateway_service.router.base import COMMON, PREFIX

oauth_router = oauth.router
router = APIRouter(prefix=PREFIX, responses=COMMON)
for part in (keys, clients, grants, audit, people):
    router.include_router(part.router)

__all__ = ["oauth_router", "router"]
