"""Inventory app factory: `uvicorn inventory_service.main:create_app --factory`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from fastapi import FastAPI

from inventory_service.config import InventorySettings
from inventory_service.consumers import build_consumers
from inventory_service.router import router
from inventory_service.service.lifecycle import hold_purge
from inventory_service.service.viis import ViisFactory
from inventory_service.workers import build_workers
from shared_kit.app import ServiceSpec, create_service_app
from shared_kit.viis import HttpViisDirectory, ViisInstitutionRegister

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """
The stock of the municipal computer libraries: municipalities and institutions (reference
data), the procurement catalogue, and every device with its status, warranty, insurance,
funding source and full history. Deliveries are imported from CSV; a municipality's schools
from VIIS.
"""


def http_viis(settings: InventorySettings) -> ViisFactory:
    """Opens the HTTP VIIS client (the kit's, as the gateway and statistics use it)."""

    def open_client() -> AbstractAsyncContextManager[ViisInstitutionRegister]:
        key = settings.viis_api_key.get_secret_value()
        return HttpViisDirectory(settings.viis_url, key, timeout_s=settings.viis_timeout_s)

    return open_client


def create_app(
    settings: InventorySettings | None = None, viis: ViisFactory | None = None
) -> FastAPI:
    """Build the inventory service; `viis` replaces the HTTP VIIS client."""
    settings = settings or InventorySettings()
    app = create_service_app(
        ServiceSpec(
            name="inventory",
            title="Inventory service",
            description=DESCRIPTION,
            settings=settings,
            routers=[router],
            migrations=MIGRATIONS,
            consumers=build_consumers,
            housekeeping=[hold_purge(settings.inbox_retention_hours)],
            workers=build_workers,
            openapi_tags=[
                {"name": "devices", "description": "Devices, their status and history"},
                {"name": "catalogue", "description": "What can be procured"},
                {"name": "reference data", "description": "Municipalities and institutions"},
                {"name": "operations", "description": "Health, readiness, dead letters"},
            ],
        )
    )
    app.state.viis = viis or http_viis(settings)
    return app
