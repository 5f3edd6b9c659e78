"""Signing: the login policy, who may sign what, in which order, and the sealed result."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from pypdf import PdfReader

from contracts_service.document.template import CONSENT_VERSION
from shared_kit.testing.http import bearer, problem

from .conftest import CONTRACTS, GUARDIAN_CODE, SCHOOL_A, SCHOOL_B, Tokens, World, device_event


class TestLoginPolicy:
    async def test_strong_recent_latvija_login_signs(self, world: World, tokens: Tokens) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await world.sign(contract)
        assert r.status_code == 200, r.text
        signed = r.json()
        assert signed["state"] == "awaiting_lender" and signed["borrower_signed_at"]
        (signature,) = signed["signatures"]
        assert signature["party"] == "borrower" and signature["signer_name"] == "Ilze Bērziņa"
        assert (signature["idp"], signature["amr"]) == ("latvija", ["smartid"])
        assert signature["document_version"] == 1
        assert signature["document_sha256"] == await world.current_sha(contract)
        assert signature["consent_version"] == CONSENT_VERSION
        assert GUARDIAN_CODE not in r.text

    async def test_weak_login_is_refused(self, world: World, tokens: Tokens) -> None:
        await world.register_lender()
        contract = await world.draft()
        mykoob = tokens.guardian(idp="mykoob", amr=("pwd",))
        body = problem(await world.sign(contract, mykoob), 403, "login-too-weak")
        assert body["required_idp"] == "latvija" and "smartid" in body["allowed_amr"]
        assert "Latvija.lv" in body["detail"]
        password_at_latvija = tokens.guardian(amr=("saml",))
        problem(await world.sign(contract, password_at_latvija), 403, "login-too-weak")
        assert (await world.get(contract["id"]))["state"] == "awaiting_borrower"

    async def test_stale_login_is_refused(self, world: World, tokens: Tokens) -> None:
        await world.register_lender()
        contract = await world.draft()
        body = problem(
            await world.sign(contract, tokens.guardian(age_s=11 * 60)), 403, "login-too-old"
        )
        assert body["max_age_s"] == 600
        no_auth_time = tokens.mint(
            str(tokens.people.guardian), roles=["guardian"], idp="latvija", amr=["eid"]
        )
        problem(await world.sign(contract, no_auth_time), 403, "login-too-old")
        assert (await world.sign(contract, tokens.guardian(age_s=9 * 60))).status_code == 200

    async def test_policy_is_configurable(self, world: World, tokens: Tokens, app: Any) -> None:
        app.state.settings = app.state.settings.model_copy(
            update={"sign_required_idp": "", "sign_allowed_amr": [], "sign_max_age_s": 3600}
        )
        await world.register_lender()
        contract = await world.draft()
        r = await world.sign(contract, tokens.guardian(idp="mykoob", amr=("pwd",), age_s=1800))
        assert r.status_code == 200, r.text


class TestRefusals:
    async def test_someone_elses_contract(self, world: World, tokens: Tokens) -> None:
        await world.register_lender()
        contract = await world.draft()
        problem(await world.sign(contract, tokens.other()), 403, "not-the-borrower")
        problem(await world.sign(contract, tokens.school_a), 403, "not-the-borrower")
        problem(await world.sign(contract, tokens.riga_platform), 403, "not-the-borrower")

    async def test_signing_twice(self, world: World) -> None:
        await world.register_lender()
        contract = await world.draft()
        assert (await world.sign(contract)).status_code == 200
        problem(await world.sign(contract), 409, "already-signed")

    async def test_superseded_version(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        first = await world.current_sha(contract)
        r = await client.patch(
            f"{CONTRACTS}/lenders/institution/{SCHOOL_A}",
            json={"representative": "direktora vietniece Līga Ozola"},
            headers=bearer(tokens.riga),
        )
        assert r.status_code == 200, r.text
        body = problem(await world.sign(contract, document_sha256=first), 409, "superseded-version")
        assert body["current_version"] == 2
        problem(
            await world.sign(contract, document_sha256=None, document_version=1),
            409,
            "superseded-version",
        )
        problem(await world.sign(contract, document_sha256="ab" * 32), 422, "unknown-document")
        r = await world.sign(contract, document_sha256=None, document_version=2)
        assert r.status_code == 200, r.text
        assert r.json()["signatures"][0]["document_version"] == 2

    async def test_outdated_consent_and_missing_version(self, world: World) -> None:
        await world.register_lender()
        contract = await world.draft()
        problem(await world.sign(contract, consent_version="2020.1"), 409, "consent-outdated")
        problem(await world.sign(contract, document_sha256=None), 422, "validation")

    async def test_contract_without_lender_details_cannot_be_signed_until_registered(
        self, world: World, client: httpx.AsyncClient
    ) -> None:
        contract = await world.draft()
        assert contract["state"] == "drafted" and not contract["lender_complete"]
        problem(await world.sign(contract), 409, "contract-not-ready")
        await world.register_lender()
        contract = await world.get(contract["id"])
        assert contract["state"] == "awaiting_borrower" and contract["current_document"] == 2
        assert contract["lender"]["name"] == "Rīgas Demo 1. pamatskola"
        assert (await world.sign(contract)).status_code == 200

    async def test_countersigning_before_the_borrower(self, world: World) -> None:
        await world.register_lender()
        contract = await world.draft()
        problem(await world.countersign(contract), 409, "borrower-has-not-signed")

    async def test_only_the_lender_countersigns(self, world: World, tokens: Tokens) -> None:
        await world.register_lender()
        contract = await world.draft()
        assert (await world.sign(contract)).status_code == 200
        problem(await world.countersign(contract, tokens.school_b), 403, "not-the-lender")
        problem(await world.countersign(contract, tokens.guardian()), 403, "not-the-lender")
        problem(await world.countersign(contract, tokens.riga_platform), 403, "not-the-lender")

    async def test_a_device_out_of_service_or_at_another_school_is_not_handed_over(
        self, world: World
    ) -> None:
        await world.register_lender()
        contract = await world.draft()
        assert (await world.sign(contract)).status_code == 200
        device_id = uuid.UUID(contract["device_id"])
        await world.handle(device_event(device_id, version=2, status="in_repair"))
        body = problem(await world.countersign(contract), 409, "device-out-of-service")
        assert body["detail"] == "The device is in repair"
        moved = {"status": "reserved", "institution_registration_number": SCHOOL_B}
        await world.handle(device_event(device_id, version=3, **moved))
        body = problem(await world.countersign(contract), 409, "device-out-of-service")
        assert body["detail"] == "The device has moved to another school"
        await world.handle(device_event(device_id, version=4, status="reserved"))
        assert (await world.countersign(contract)).status_code == 200

    async def test_stale_if_match(self, world: World, client: httpx.AsyncClient) -> None:
        await world.register_lender()
        contract = await world.draft()
        r = await client.post(
            f"{CONTRACTS}/{contract['id']}/sign",
            json={"document_version": 1, "consent_version": CONSENT_VERSION},
            headers={**bearer(world.tokens.guardian()), "If-Match": '"99"'},
        )
        problem(r, 412, "precondition-failed")


class TestCountersignAndSeal:
    async def test_countersigning_seals_and_activates(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        active = await world.active()
        assert active["state"] == "active" and active["activated_at"]
        assert [s["party"] for s in active["signatures"]] == ["borrower", "lender"]
        docs = (
            await client.get(
                f"{CONTRACTS}/{active['id']}/documents", headers=bearer(tokens.school_a)
            )
        ).json()
        assert [(d["number"], d["kind"], d["current"]) for d in docs] == [
            (1, "draft", False),
            (2, "sealed", True),
        ]
        r = await client.get(f"{CONTRACTS}/{active['id']}/pdf", headers=bearer(tokens.guardian()))
        sealed = r.content
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sealed)).pages)
        assert "Parakstu lapa / Signature page" in text and "Ilze Bērziņa" in text
        assert docs[0]["sha256"] in text  # the signed version's hash is on the signature page
        problem(await world.countersign(active), 409, "already-signed")
        problem(await world.sign(active), 409, "already-signed")

    async def test_verification_endpoint(
        self, world: World, client: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        active = await world.active()
        sealed = (
            await client.get(f"{CONTRACTS}/{active['id']}/pdf", headers=bearer(tokens.school_a))
        ).content

        async def verify(pdf: bytes) -> dict[str, Any]:
            r = await client.post(
                f"{CONTRACTS}/verify",
                files={"file": ("contract.pdf", pdf, "application/pdf")},
                headers=bearer(tokens.analyst),
            )
            assert r.status_code == 200, r.text
            return dict(r.json())

        ours = await verify(sealed)
        assert ours["verdict"] == "authentic" and ours["known"] and ours["current"]
        assert ours["contract_number"] == active["number"] and ours["document_kind"] == "sealed"
        assert [s["ok"] for s in ours["seals"]] == [True]
        assert [(s["party"], s["name"]) for s in ours["signers"]] == [
            ("borrower", "Ilze Bērziņa"),
            ("lender", "Rīgas Demo 1. pamatskola"),
        ]
        assert GUARDIAN_CODE not in str(ours)

        changed = bytearray(sealed)
        changed[len(sealed) // 3] ^= 0x01
        altered = await verify(bytes(changed))
        assert altered["verdict"] == "altered" and not altered["known"]
        assert not any(s["ok"] for s in altered["seals"])

        draft = (
            await client.get(
                f"{CONTRACTS}/{active['id']}/documents/1/pdf", headers=bearer(tokens.school_a)
            )
        ).content
        first = await verify(draft)
        assert (first["verdict"], first["document_version"], first["current"]) == (
            "authentic",
            1,
            False,
        )
        # Both parties signed version 1; the sealed version 2 adds their signature page.
        assert [(s["party"], s["document_version"]) for s in first["signers"]] == [
            ("borrower", 1),
            ("lender", 1),
        ]

        unknown = await verify(b"%PDF-1.7\n%%EOF\n")
        assert unknown["verdict"] == "unknown" and unknown["seals"] == []
        r = await client.post(
            f"{CONTRACTS}/verify",
            files={"file": ("x.pdf", b"GIF89a", "application/pdf")},
            headers=bearer(tokens.analyst),
        )
        problem(r, 422, "invalid-pdf")
