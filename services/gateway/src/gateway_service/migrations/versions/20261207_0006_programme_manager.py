"""granted role programme_manager: the ministry's planning of surveys and allocations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = (
    "platform_admin",
    "ministry_analyst",
    "municipality_admin",
    "technician",
    "institution_admin",
)
# The check constraints compare the column with literals of the type, so they are rebuilt
# with it.
CHECKS = (
    (
        "ck_role_grant_institution_where_needed",
        "(role = 'institution_admin') = (institution_number IS NOT NULL)",
    ),
    (
        "ck_role_grant_municipality_where_needed",
        "(role IN ('municipality_admin', 'technician')) = (municipality_code IS NOT NULL)",
    ),
)


def upgrade() -> None:
    # Nothing in this transaction uses the new value, so ADD VALUE may run inside it.
    op.execute("ALTER TYPE granted_role ADD VALUE IF NOT EXISTS 'programme_manager'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value: the type is rebuilt without it, which only works
    # (and only keeps the history honest) while no grant, live or revoked, names the role.
    used = op.get_bind().execute(
        text("SELECT count(*) FROM role_grant WHERE role::text = 'programme_manager'")
    )
    if used.scalar_one():
        raise RuntimeError(
            "Cannot downgrade below 0006: role grants of programme_manager exist; "
            "delete them deliberately first (they are part of the audit trail)"
        )
    for name, _ in CHECKS:
        op.drop_constraint(op.f(name), "role_grant", type_="check")
    op.execute("ALTER TYPE granted_role RENAME TO granted_role_old")
    values = ", ".join(f"'{v}'" for v in OLD_ROLES)
    op.execute(f"CREATE TYPE granted_role AS ENUM ({values})")
    op.execute(
        "ALTER TABLE role_grant ALTER COLUMN role TYPE granted_role USING role::text::granted_role"
    )
    op.execute("DROP TYPE granted_role_old")
    for name, condition in CHECKS:
        op.create_check_constraint(op.f(name), "role_grant", condition)
