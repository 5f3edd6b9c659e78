"""HTTP endpoints of the contracts service under `/api/v1/contracts`."""

from fastapi import APIRouter

from contracts_service.router import contracts, lenders, verification

router = APIRouter()
# Fixed paths first: `/lenders`, `/verify` and `/consent` must not be read as a contract id.
router.include_router(lenders.router)
router.include_router(verification.router)
router.include_router(contracts.router)
