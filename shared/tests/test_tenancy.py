"""The one tenancy scope: which rows it lets through, in Python and in SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, String, Table, Uuid, select
from sqlalchemy.dialects import postgresql

from shared_kit.auth import Principal
from shared_kit.tenancy import Scope, TenantForbidden, actor_of

ROWS = Table(
    "row",
    MetaData(),
    Column("municipality", String),
    Column("institution", String),
    Column("person", Uuid),
    Column("person_text", String),
)


def sql(scope: Scope, **columns: object) -> str:
    condition = scope.condition(**columns)
    stmt = select(ROWS.c.municipality)
    if condition is not None:
        stmt = stmt.where(condition)
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


class TestCondition:
    def test_everything_needs_no_condition(self) -> None:
        assert Scope.all().condition(municipality=ROWS.c.municipality) is None

    def test_an_empty_scope_matches_nothing(self) -> None:
        assert "false" in sql(Scope(), municipality=ROWS.c.municipality).lower()

    def test_any_of_the_sets_lets_a_row_through(self) -> None:
        scope = Scope.of(municipalities=["0001000"], institutions=["4311900001"])
        text = sql(scope, municipality=ROWS.c.municipality, institution=ROWS.c.institution)
        assert "municipality IN ('0001000')" in text
        assert "institution IN ('4311900001')" in text
        assert " OR " in text

    def test_a_set_without_a_column_is_ignored(self) -> None:
        scope = Scope.of(persons=["p-1"])
        assert "false" in sql(scope, municipality=ROWS.c.municipality).lower()

    def test_person_ids_take_the_columns_type(self) -> None:
        person = uuid.uuid4()
        scope = Scope.of(persons=[person, "not-a-uuid"])
        text = sql(scope, person=ROWS.c.person)
        assert person.hex in text.replace("-", "")
        assert "not-a-uuid" not in text
        assert "'p-1'" in sql(Scope.of(persons=["p-1"]), person=ROWS.c.person_text)


class TestAllows:
    def test_rows_inside_and_outside(self) -> None:
        scope = Scope.of(municipalities=["0001000"], persons=["child-1"])
        assert scope.allows(municipality="0001000")
        assert scope.allows(municipality="0002000", person="child-1")
        assert not scope.allows(municipality="0002000", person="child-2")
        assert not scope.allows()
        assert Scope.all().allows()

    def test_emptiness(self) -> None:
        assert Scope().is_empty
        assert not Scope.all().is_empty
        assert not Scope.of(institutions=["1"]).is_empty


class TestActor:
    def test_a_person_and_a_client_are_named_alike_everywhere(self) -> None:
        person = Principal(subject="abc", roles=frozenset())
        client = Principal(subject="svc", roles=frozenset(), client_id="riga-platform")
        assert actor_of(person) == "person:abc"
        assert actor_of(client) == "client:riga-platform"

    def test_the_error_is_a_403_problem(self) -> None:
        assert TenantForbidden.status == 403
        assert TenantForbidden.type == "tenant-forbidden"
