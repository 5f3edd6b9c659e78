"""Demo data of the local stack (all invented) and the seeding that loads it through the APIs.

Reference records and 200 devices go in through the inventory API; role grants for the demo
people VIIS does not know as staff (municipality admin, technician, ministry analyst) go in
through the gateway's operator functions; once statistics counts the devices, today's VIIS
feed snapshots are refreshed. Everything is safe to repeat.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass
from typing import Any

import httpx
from viis_standin import DEMO_PEOPLE, DEMO_SCHOOL_1, DEMO_SCHOOL_2

from gateway_service.config import GatewaySettings
from gateway_service.models import GrantedRole
from gateway_service.schemas import GrantTarget
from gateway_service.service import people
from shared_kit.clock import system_clock
from shared_kit.db import create_engine, create_session_factory, session_scope

# Demo data (invented for the local stack) ---------------------------------------------------

API = "/api/v1/inventory"
RIGA = "0010000"
MUNICIPALITY: dict[str, Any] = {"code": RIGA, "name": "Rīgas valstspilsēta"}
SCHOOLS: list[dict[str, Any]] = [  # demo data: invented schools
    {
        "registration_number": DEMO_SCHOOL_1,
        "name": "Rīgas Demo 1. pamatskola",
        "municipality_code": RIGA,
    },
    {
        "registration_number": DEMO_SCHOOL_2,
        "name": "Rīgas Demo 2. vidusskola",
        "municipality_code": RIGA,
    },
]
CATALOGUE: list[
    dict[str, Any]
] = [  # demo data: a small catalogue in the shape of the ministry's one
    {
        "code": "CB-116-TOUCH-G1-3",
        "name": 'Chromebook 11.6" touch, grades 1-3',
        "manufacturer": "Acer",
        "model": "Chromebook Spin 311",
        "category": "chromebook",
        "os": "chromeos",
        "screen_inches": "11.6",
        "touch": True,
        "specs": {"cpu": "MediaTek Kompanio 500", "ram_gb": 4, "storage_gb": 64},
        "options": {"management_software": True, "bag": True, "extra_warranty_months": 24},
        "base_warranty_months": 36,
        "school_levels": ["grades 1-3"],
    },
    {
        "code": "NB-14-WIN",
        "name": 'Windows laptop 14"',
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14 Gen 5",
        "category": "laptop",
        "os": "windows",
        "screen_inches": "14.0",
        "touch": False,
        "specs": {"cpu": "Intel Core i5-1335U", "ram_gb": 16, "storage_gb": 512},
        "options": {"management_software": True, "bag": True, "mouse": True},
        "base_warranty_months": 36,
        "school_levels": ["grades 7-9", "grades 10-12"],
    },
    {
        "code": "AIO-27-WIN",
        "name": '27" all-in-one',
        "manufacturer": "Lenovo",
        "model": "ThinkCentre neo 50a 27 Gen 4",
        "category": "all_in_one",
        "os": "windows",
        "screen_inches": "27.0",
        "touch": False,
        "specs": {"cpu": "Intel Core i5-13420H", "ram_gb": 16, "storage_gb": 512},
        "options": {"management_software": True, "mouse": True},
        "base_warranty_months": 36,
        "school_levels": ["grades 10-12"],
    },
]


@dataclass(frozen=True)
class Delivery:
    """A demo delivery: how many devices of which item went where."""

    count: int
    item: str
    school: str | None
    status: str
    funding: str
    date: str
    price: str
    order: str
    accessories: str


DELIVERIES = [  # demo data: 200 devices in all
    Delivery(80, "CB-116-TOUCH-G1-3", DEMO_SCHOOL_1, "available", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(30, "CB-116-TOUCH-G1-3", DEMO_SCHOOL_2, "available", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(10, "CB-116-TOUCH-G1-3", None, "in_stock", "recovery_fund",
             "2024-08-26", "329.00", "RD-IKSD-2024/118", "charger;sleeve"),
    Delivery(60, "NB-14-WIN", DEMO_SCHOOL_2, "available", "react_eu",
             "2024-09-16", "689.00", "RD-IKSD-2024/131", "charger;mouse;bag"),
    Delivery(20, "AIO-27-WIN", DEMO_SCHOOL_2, "available", "municipal_budget",
             "2025-01-13", "1049.00", "RD-IKSD-2025/007", "keyboard;mouse"),
]  # fmt: skip
CSV_COLUMNS = [
    "serial_number",
    "asset_tag",
    "catalogue_item_code",
    "funding_source",
    "institution_registration_number",
    "status",
    "order_reference",
    "delivery_date",
    "purchase_price",
    "accessories",
]


def demo_devices_csv() -> bytes:
    """The demo deliveries as an import CSV (invented serial numbers and asset tags)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for d in DELIVERIES:
        for _ in range(d.count):
            n += 1
            writer.writerow(
                [f"DEMO-SN-{n:05d}", f"RIX-DEMO-{n:04d}", d.item, d.funding, d.school or "",
                 d.status, d.order, d.date, d.price, d.accessories]
            )  # fmt: skip
    return out.getvalue().encode()


# Seeding ------------------------------------------------------------------------------------


class SeedError(Exception):
    """Seeding failed; the message says where."""


async def post_once(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> bool:
    """POST a reference record; True when created, False when it already existed (409)."""
    response = await client.post(f"{API}{path}", json=body)
    if response.status_code == 409:
        return False
    if response.status_code != 201:
        raise SeedError(f"seeding POST {path} failed: {response.status_code} {response.text}")
    return True


async def import_demo_devices(client: httpx.AsyncClient) -> dict[str, Any]:
    """Import the demo devices from CSV; rows already there come back `unchanged`."""
    response = await client.post(
        f"{API}/devices/imports",
        data={"municipality": RIGA, "mode": "valid_rows"},
        files={"file": ("demo-devices.csv", demo_devices_csv(), "text/csv")},
    )
    if response.status_code != 200:
        raise SeedError(f"seeding the devices failed: {response.status_code} {response.text}")
    report: dict[str, Any] = response.json()
    if report["failed_rows"]:
        failed = [r for r in report["rows"] if r["errors"]][:5]
        raise SeedError(f"{report['failed_rows']} demo device rows failed, e.g. {failed}")
    return report


async def seed_inventory(inventory_url: str, token: str) -> str:
    """Seed the demo municipality through the inventory API; what was done, in a sentence."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=inventory_url, headers=headers, timeout=60) as client:
        records: list[tuple[str, dict[str, Any]]] = [("/municipalities", MUNICIPALITY)]
        records += [("/institutions", school) for school in SCHOOLS]
        records += [("/catalogue-items", item) for item in CATALOGUE]
        created = [await post_once(client, path, body) for path, body in records]
        report = await import_demo_devices(client)
    return (
        f"demo data: {sum(created)} of {len(records)} reference records created; devices "
        f"{report['created_rows']} created, {report['unchanged_rows']} unchanged"
    )


STATISTICS_API = "/api/v1/statistics"
DEMO_DEVICES = sum(d.count for d in DELIVERIES)


async def seed_statistics(statistics_url: str, token: str, timeout_s: float = 60.0) -> str:
    """Wait until statistics counts the demo devices (their events travel through the broker),
    then refresh today's provisional snapshots, so the VIIS feed's first reader sees them."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=statistics_url, headers=headers, timeout=30) as client:
        counted = await _devices_counted(client, DEMO_DEVICES, timeout_s)
        response = await client.post(f"{STATISTICS_API}/ops/snapshots")
        if response.status_code != 200:
            raise SeedError(f"statistics snapshots failed: {response.status_code} {response.text}")
    written = response.json()["result"]["snapshots"]
    return f"statistics: {counted} devices counted; today's snapshots: {written} records written"


async def _devices_counted(client: httpx.AsyncClient, at_least: int, timeout_s: float) -> int:
    """The national device count, once it reaches `at_least`."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = await client.get(f"{STATISTICS_API}/national")
        if response.status_code != 200:
            raise SeedError(f"statistics view failed: {response.status_code} {response.text}")
        counted = int(response.json()["figures"]["devices"]["total"])
        if counted >= at_least:
            return counted
        if time.monotonic() > deadline:
            raise SeedError(
                f"statistics counted {counted} of the {at_least} demo devices in {timeout_s:.0f} s"
            )
        await asyncio.sleep(0.2)


# The lenders named in loan contracts: the municipality and its schools (invented details).
LENDERS: list[dict[str, Any]] = [
    {"kind": "municipality", "code": RIGA, "municipality_code": RIGA,
     "name": "Rīgas valstspilsētas pašvaldība", "registration_number": "90000000001",
     "address": "Rātslaukums 1, Rīga, LV-1050", "representative": "Izglītības departaments"},
    *({"kind": "institution", "code": school["registration_number"], "municipality_code": RIGA,
       "name": school["name"], "registration_number": school["registration_number"],
       "address": "Skolas iela 1, Rīga, LV-1010", "representative": "direktors"}
      for school in SCHOOLS),
]  # fmt: skip


async def seed_lenders(contracts_url: str, token: str) -> str:
    """The lenders' legal details in the contracts service, so demo contracts can be signed."""
    headers = {"Authorization": f"Bearer {token}"}
    created = 0
    async with httpx.AsyncClient(base_url=contracts_url, headers=headers, timeout=30) as client:
        for lender in LENDERS:
            response = await client.post("/api/v1/contracts/lenders", json=lender)
            if response.status_code not in (201, 409):
                raise SeedError(f"seeding a lender failed: {response.status_code} {response.text}")
            created += response.status_code == 201
    return f"demo lenders: {created} of {len(LENDERS)} created"


# Roles VIIS does not know, granted in the gateway to demo people: (person, role, municipality).
DEMO_GRANTS = [
    ("municipality_admin", GrantedRole.MUNICIPALITY_ADMIN, RIGA),
    ("technician", GrantedRole.TECHNICIAN, RIGA),
    ("ministry_analyst", GrantedRole.MINISTRY_ANALYST, None),
    ("programme_manager", GrantedRole.PROGRAMME_MANAGER, None),
    ("platform_admin", GrantedRole.PLATFORM_ADMIN, None),
]


async def seed_grants(settings: GatewaySettings) -> str:
    """Grant the demo people their platform roles in the gateway's database."""
    engine = create_engine(settings.database_url, pool_size=1)
    created = 0
    try:
        factory = create_session_factory(engine, outbox_topic=settings.events_topic)
        async for session in session_scope(factory):
            for person, role, municipality in DEMO_GRANTS:
                grant, _ = await people.provision_grant(
                    session=session,
                    settings=settings,
                    personal_code=DEMO_PEOPLE[person].personal_code,
                    data=GrantTarget(role=role, municipality_code=municipality),
                    granted_by="dev-stack",
                    now=system_clock(),
                )
                created += grant is not None
    finally:
        await engine.dispose()
    return f"demo grants: {created} of {len(DEMO_GRANTS)} created"
