"""The benchmark's reference data and device deliveries, created through the public API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import httpx

from shared_kit.testing.tokens import TokenIssuer

API = "/api/v1/inventory"
TOKEN_TTL_S = 3 * 3600


@dataclass(frozen=True)
class Place:
    """A municipality with its schools; deliveries cycle through these."""

    code: str
    name: str
    prefix: str  # asset tag prefix
    schools: tuple[str, ...]


PLACES = (
    Place("0010000", "Rīgas valstspilsēta", "RIX", ("3113900001", "3113900002")),
    Place("0940200", "Valmieras novads", "VLM", ("4213900001", "4213900002")),
    Place("0050000", "Daugavpils valstspilsēta", "DGP", ("4513900001", "4513900002")),
    Place("0090000", "Jelgavas valstspilsēta", "JGV", ("5413900001", "5413900002")),
    Place("0170000", "Liepājas valstspilsēta", "LPX", ("6513900001", "6513900002")),
)

CATALOGUE = (
    {
        "code": "CB-11-GR1-3",
        "name": 'Chromebook 11.6" grades 1-3',
        "manufacturer": "Acer",
        "model": "Chromebook Spin 311",
        "category": "chromebook",
        "os": "chromeos",
        "screen_inches": "11.6",
        "touch": True,
        "base_warranty_months": 36,
        "options": {"extra_warranty_months": 24, "bag": True},
        "school_levels": ["grades 1-3"],
    },
    {
        "code": "NB-14-GR7-12",
        "name": 'Laptop 14" grades 7-12',
        "manufacturer": "Lenovo",
        "model": "ThinkPad E14",
        "category": "laptop",
        "os": "windows",
        "screen_inches": "14.0",
        "base_warranty_months": 36,
        "school_levels": ["grades 7-12"],
    },
    {
        "code": "TB-10-GR1-6",
        "name": 'Tablet 10" grades 1-6',
        "manufacturer": "Lenovo",
        "model": "Tab M10",
        "category": "tablet",
        "os": "none",
        "screen_inches": "10.1",
        "touch": True,
        "base_warranty_months": 24,
        "school_levels": ["grades 1-6"],
    },
)

ITEM_CODES = tuple(str(item["code"]) for item in CATALOGUE)
FUNDING = ("recovery_fund", "react_eu", "eu_funds_2021_2027", "municipal_budget")
COLUMNS = (
    "serial_number",
    "asset_tag",
    "catalogue_item_code",
    "funding_source",
    "institution_registration_number",
    "order_reference",
    "delivery_date",
    "purchase_price",
    "status",
)


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def platform_admin(issuer: TokenIssuer) -> str:
    """A platform administrator's token."""
    return issuer.mint(roles=["platform_admin"], ttl_s=TOKEN_TTL_S)


def municipality_admin(issuer: TokenIssuer, place: Place) -> str:
    """A municipality administrator's token for one place."""
    return issuer.mint(roles=["municipality_admin"], municipalities=[place.code], ttl_s=TOKEN_TTL_S)


async def seed(client: httpx.AsyncClient, issuer: TokenIssuer) -> None:
    """Municipalities, schools and catalogue items, as a platform administrator makes them."""
    headers = bearer(platform_admin(issuer))
    for place in PLACES:
        await post(client, "/municipalities", {"code": place.code, "name": place.name}, headers)
        for i, number in enumerate(place.schools, 1):
            body = {
                "registration_number": number,
                "name": f"{place.name}, {i}. pamatskola",
                "municipality_code": place.code,
            }
            await post(client, "/institutions", body, headers)
    for item in CATALOGUE:
        await post(client, "/catalogue-items", item, headers)


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    """POST that must succeed with 201."""
    response = await client.post(API + path, json=body, headers=headers)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path} → {response.status_code}: {response.text}")


BATCH_SERIALS = 1_000_000  # delivery n's serial numbers start at n * this


def serial_range(batch: int) -> tuple[str, str]:
    """The serial numbers of delivery `batch`: from the first (inclusive) to the last (not)."""
    return f"SN{batch * BATCH_SERIALS:09d}", f"SN{(batch + 1) * BATCH_SERIALS:09d}"


def delivery_place(batch: int) -> Place:
    """Deliveries go round the municipalities."""
    return PLACES[batch % len(PLACES)]


def delivery_csv(batch: int, rows: int) -> bytes:
    """CSV of delivery number `batch`: unique serials and asset tags, varied attributes."""
    place = delivery_place(batch)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        writer.writerow(delivery_row(batch, i, place))
    return out.getvalue().encode()


def delivery_row(batch: int, i: int, place: Place) -> list[str]:
    """One device of a delivery."""
    n = batch * BATCH_SERIALS + i
    delivered = dt.date(2021, 1, 4) + dt.timedelta(days=(n * 7) % 1500)
    return [
        f"SN{n:09d}",
        f"{place.prefix}-{batch:02d}{i:06d}",
        ITEM_CODES[i % len(ITEM_CODES)],
        FUNDING[i % len(FUNDING)],
        place.schools[i % len(place.schools)] if i % 5 else "",
        f"PO-{batch:02d}-{i // 500:03d}",
        delivered.isoformat(),
        f"{289 + (i % 40) * 10}.00",
        "available" if i % 3 else "in_stock",
    ]


@dataclass(frozen=True)
class Delivery:
    """A ready-to-send import request: the CSV, its municipality and a token that manages it."""

    batch: int
    rows: int
    place: Place
    content: bytes
    token: str


def delivery(issuer: TokenIssuer, batch: int, rows: int) -> Delivery:
    """Build delivery number `batch` (outside any timing)."""
    place = delivery_place(batch)
    content = delivery_csv(batch, rows)
    return Delivery(batch, rows, place, content, municipality_admin(issuer, place))


async def import_delivery(client: httpx.AsyncClient, d: Delivery) -> dict[str, Any]:
    """Import one delivery through the API (all or nothing); returns the report."""
    response = await client.post(
        f"{API}/devices/imports",
        headers=bearer(d.token),
        files={"file": (f"delivery-{d.batch:02d}.csv", d.content, "text/csv")},
        data={"municipality": d.place.code, "mode": "all_or_nothing"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"import {d.batch} → {response.status_code}: {response.text[:2000]}")
    report = response.json()
    if report["created_rows"] != d.rows:
        raise RuntimeError(f"import {d.batch} created {report['created_rows']} of {d.rows} rows")
    return report
