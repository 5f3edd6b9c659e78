"""HTTP endpoints of the inventory under `/api/v1/inventory`."""

from fastapi import APIRouter

from inventory_service.router import catalogue, devices, imports, reference, viis

router = APIRouter()
router.include_router(reference.router)
router.include_router(viis.router)
router.include_router(catalogue.router)
# Before the devices: `/devices/imports` must not be read as a device id.
router.include_router(imports.router)
router.include_router(devices.router)
