"""All SQL of the gateway lives here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.models import (
    ApiClient,
    AuditEvent,
    AuthorizationCode,
    GrantedRole,
    KeyState,
    LoginAttempt,
    LogoutAttempt,
    Person,
    RefreshFamily,
    RefreshToken,
    RoleGrant,
    SigningKey,
)
from shared_kit.pagination import fetch_page
from shared_kit.tenancy import Scope

# pg_advisory_xact_lock key serialising key creation and rotation across replicas.
SIGNING_KEY_LOCK = 0x6761_7465_6B65_79  # "gatekey"


class SigningKeyRepository:
    """Signing keys."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        """Serialise key changes until the end of this transaction."""
        await self.session.execute(select(func.pg_advisory_xact_lock(SIGNING_KEY_LOCK)))

    async def by_state(self, state: KeyState) -> SigningKey | None:
        """The key in this state (at most one is active, one next), if any."""
        return await self.session.scalar(select(SigningKey).where(SigningKey.state == state))

    async def published(self, now: dt.datetime) -> Sequence[SigningKey]:
        """Keys in the JWKS: next, active, and retired ones whose tokens may still be alive."""
        stmt = (
            select(SigningKey)
            .where(
                or_(
                    SigningKey.state != KeyState.RETIRED,
                    SigningKey.publish_until > now,
                )
            )
            .order_by(SigningKey.created_at, SigningKey.kid)
        )
        return (await self.session.scalars(stmt)).all()

    async def drop_expired(self, now: dt.datetime) -> None:
        """Delete retired keys whose last token has expired."""
        await self.session.execute(
            delete(SigningKey).where(
                SigningKey.state == KeyState.RETIRED, SigningKey.publish_until <= now
            )
        )

    async def add(self, key: SigningKey) -> None:
        """Store a new key."""
        self.session.add(key)
        await self.session.flush()


class ClientRepository:
    """Machine clients."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_client_id(self, client_id: str, *, for_update: bool = False) -> ApiClient | None:
        """The client with this client id, if any (locked when `for_update`)."""
        stmt = select(ApiClient).where(ApiClient.client_id == client_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def page(
        self, scope: Scope, cursor: str | None, limit: int, municipality_code: str | None = None
    ) -> Sequence[ApiClient]:
        """A page of the clients in the scope (of one municipality when given), by client id."""
        stmt = select(ApiClient)
        if (condition := scope.condition(municipality=ApiClient.municipality_code)) is not None:
            stmt = stmt.where(condition)
        if municipality_code is not None:
            stmt = stmt.where(ApiClient.municipality_code == municipality_code)
        return await fetch_page(self.session, stmt, [ApiClient.client_id], cursor, limit)

    async def add(self, client: ApiClient) -> None:
        """Store a new client."""
        self.session.add(client)
        await self.session.flush()


class PersonRepository:
    """People."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: uuid.UUID) -> Person | None:
        """The person with this id, if any."""
        return await self.session.get(Person, person_id)

    async def lock(self, person_id: uuid.UUID) -> Person | None:
        """The person with this id re-read under a row lock, if any.

        FOR NO KEY UPDATE, not FOR UPDATE: the caller changes no key, and a row this
        transaction (or a concurrent one) points at by a foreign key holds a key-share lock,
        which FOR UPDATE waits for. Two logins of one person at once, each having added its
        code (key-sharing the person), each then waited for the other: a deadlock.
        """
        stmt = (
            select(Person)
            .where(Person.id == person_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def by_code_hmac(self, code_hmac: str) -> Person | None:
        """The person with this personal-code HMAC, if any."""
        return await self.session.scalar(
            select(Person).where(Person.personal_code_hmac == code_hmac)
        )

    async def insert_or_get(self, values: dict[str, Any]) -> tuple[Person, bool]:
        """Insert a person unless the code is known (a concurrent first login); True if new."""
        new_id = await self.session.scalar(
            pg_insert(Person)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=[Person.personal_code_hmac])
            .returning(Person.id)
        )
        person = await self.by_code_hmac(values["personal_code_hmac"])
        assert person is not None
        return person, new_id is not None

    async def names(self, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The known names ("Given Family") of these people, by id."""
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        stmt = select(Person.id, Person.given_name, Person.family_name).where(Person.id.in_(wanted))
        rows = (await self.session.execute(stmt)).all()
        return {i: " ".join(n for n in (g, f) if n) for i, g, f in rows if g or f}

    async def by_viis_id(self, viis_id: str) -> Person | None:
        """The person with this VIIS id, if any."""
        return await self.session.scalar(select(Person).where(Person.viis_id == viis_id))

    async def insert_or_get_by_viis_id(self, viis_id: str) -> Person:
        """The person with this VIIS id, created without a personal code when new."""
        await self.session.execute(
            pg_insert(Person)
            .values(id=uuid.uuid4(), viis_id=viis_id)
            .on_conflict_do_nothing(index_elements=[Person.viis_id])
        )
        person = await self.by_viis_id(viis_id)
        assert person is not None
        return person


class GrantRepository:
    """Role grants."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, grant_id: uuid.UUID, *, for_update: bool = False) -> RoleGrant | None:
        """The grant with this id, if any (locked when `for_update`)."""
        return await self.session.get(RoleGrant, grant_id, with_for_update=for_update)

    async def live_for(self, person_id: uuid.UUID) -> Sequence[RoleGrant]:
        """Grants of a person that are not revoked."""
        stmt = select(RoleGrant).where(
            RoleGrant.person_id == person_id, RoleGrant.revoked_at.is_(None)
        )
        return (await self.session.scalars(stmt)).all()

    async def live(
        self,
        person_id: uuid.UUID,
        role: GrantedRole,
        municipality_code: str | None,
        institution_number: str | None,
    ) -> RoleGrant | None:
        """The person's unrevoked grant of this role there, if any."""
        return await self.session.scalar(
            select(RoleGrant).where(
                RoleGrant.person_id == person_id,
                RoleGrant.role == role,
                RoleGrant.municipality_code.is_not_distinct_from(municipality_code),
                RoleGrant.institution_number.is_not_distinct_from(institution_number),
                RoleGrant.revoked_at.is_(None),
            )
        )

    async def live_exists(
        self,
        person_id: uuid.UUID,
        role: GrantedRole,
        municipality_code: str | None,
        institution_number: str | None,
    ) -> bool:
        """Whether the person holds this role there, unrevoked."""
        stmt = select(RoleGrant.id).where(
            RoleGrant.person_id == person_id,
            RoleGrant.role == role,
            RoleGrant.municipality_code.is_not_distinct_from(municipality_code),
            RoleGrant.institution_number.is_not_distinct_from(institution_number),
            RoleGrant.revoked_at.is_(None),
        )
        return await self.session.scalar(stmt) is not None

    async def page(
        self,
        *,
        person_id: uuid.UUID | None,
        role: GrantedRole | None,
        scope: Scope,
        include_revoked: bool,
        cursor: str | None,
        limit: int,
        within: Scope | None = None,
    ) -> Sequence[RoleGrant]:
        """A page of the grants that match, in the scope (and `within`), oldest first."""
        stmt = select(RoleGrant)
        if person_id is not None:
            stmt = stmt.where(RoleGrant.person_id == person_id)
        if role is not None:
            stmt = stmt.where(RoleGrant.role == role)
        for limit_to in (scope, within or Scope.all()):
            condition = limit_to.condition(
                municipality=RoleGrant.municipality_code, institution=RoleGrant.institution_number
            )
            if condition is not None:
                stmt = stmt.where(condition)
        if not include_revoked:
            stmt = stmt.where(RoleGrant.revoked_at.is_(None))
        columns = [RoleGrant.granted_at, RoleGrant.id]
        return await fetch_page(self.session, stmt, columns, cursor, limit)

    async def add(self, grant: RoleGrant) -> None:
        """Store a new grant."""
        self.session.add(grant)
        await self.session.flush()


class RefreshRepository:
    """Refresh-token families and their tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def token_for_update(self, token_sha256: str) -> RefreshToken | None:
        """The token and its family, both locked: concurrent uses of one token serialise."""
        return await self.session.scalar(
            select(RefreshToken)
            .join(RefreshToken.family)
            .where(RefreshToken.token_sha256 == token_sha256)
            .with_for_update()
        )

    async def family(self, family_id: uuid.UUID) -> RefreshFamily | None:
        """The refresh family with this id, if any."""
        return await self.session.get(RefreshFamily, family_id)

    async def revoke_family(self, family_id: uuid.UUID, reason: str, now: dt.datetime) -> None:
        """End a family (unless it has ended already), saying why and when."""
        await self.session.execute(
            update(RefreshFamily)
            .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )

    async def live_saml_families(
        self, name_id_hmac: str, session_indexes: Sequence[str]
    ) -> Sequence[RefreshFamily]:
        """Unrevoked families of a SAML NameID, of these sessions (all when none are named)."""
        stmt = select(RefreshFamily).where(
            RefreshFamily.saml_name_id_hmac == name_id_hmac, RefreshFamily.revoked_at.is_(None)
        )
        if session_indexes:
            stmt = stmt.where(RefreshFamily.saml_session_index.in_(session_indexes))
        return (await self.session.scalars(stmt.with_for_update())).all()

    async def add_family(self, family: RefreshFamily) -> None:
        """Store a new refresh family."""
        self.session.add(family)
        await self.session.flush()

    async def add_token(self, token: RefreshToken) -> None:
        """Store a new refresh token."""
        self.session.add(token)
        await self.session.flush()

    async def delete_ended(self, before: dt.datetime) -> int:
        """Delete families (and, by cascade, their tokens) that expired or were revoked before."""
        result = await self.session.execute(
            delete(RefreshFamily).where(
                or_(RefreshFamily.expires_at < before, RefreshFamily.revoked_at < before)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class AuditRepository:
    """The audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        """Add an audit record to the session."""
        self.session.add(event)

    async def page(
        self, action: str | None, actor: str | None, cursor: str | None, limit: int
    ) -> Sequence[AuditEvent]:
        """A page of the audit log, oldest first, of one action or actor when given."""
        stmt = select(AuditEvent)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if actor:
            stmt = stmt.where(AuditEvent.actor == actor)
        return await fetch_page(self.session, stmt, [AuditEvent.seq], cursor, limit)

    async def delete_before(self, before: dt.datetime) -> int:
        """Delete the records older than `before`; how many."""
        result = await self.session.execute(delete(AuditEvent).where(AuditEvent.at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class LoginRepository:
    """Login and logout attempts and authorization codes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: LoginAttempt | AuthorizationCode | LogoutAttempt) -> None:
        """Store a new attempt or code."""
        self.session.add(row)
        await self.session.flush()

    async def attempt_for_update(self, state_sha256: str) -> LoginAttempt | None:
        """The attempt with this state, locked: a replayed callback waits and then sees it used."""
        return await self.session.scalar(
            select(LoginAttempt).where(LoginAttempt.state_sha256 == state_sha256).with_for_update()
        )

    async def attempt_lang(self, state_sha256: str) -> str | None:
        """The page language of the attempt with this state, if there is one."""
        return await self.session.scalar(
            select(LoginAttempt.lang).where(LoginAttempt.state_sha256 == state_sha256)
        )

    async def code_for_update(self, code_sha256: str) -> AuthorizationCode | None:
        """The authorization code, locked so that it is redeemed at most once."""
        return await self.session.scalar(
            select(AuthorizationCode)
            .where(AuthorizationCode.code_sha256 == code_sha256)
            .with_for_update()
        )

    async def logout_for_update(self, request_id: str) -> LogoutAttempt | None:
        """The logout with this LogoutRequest ID, locked: a replayed response sees it used."""
        return await self.session.scalar(
            select(LogoutAttempt).where(LogoutAttempt.request_id == request_id).with_for_update()
        )

    async def drop_expired(self, now: dt.datetime) -> None:
        """Delete attempts and codes past their expiry."""
        await self.session.execute(delete(LoginAttempt).where(LoginAttempt.expires_at <= now))
        await self.session.execute(
            delete(AuthorizationCode).where(AuthorizationCode.expires_at <= now)
        )
        await self.session.execute(delete(LogoutAttempt).where(LogoutAttempt.expires_at <= now))
