"""`make run` says how to point `gateway-admin` at the gateway's database, and that works.

The stack creates and migrates its databases on this test session's PostgreSQL server (the
same way `DATABASE_URL` points it at any server) and prints the line to export; the operator
CLI, given exactly that, registers a machine client.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from shared_kit.testing.infra import Postgres

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "deploy" / "dev" / "stack.py"
GATEWAY_ADMIN = Path(sys.executable).parent / "gateway-admin"
HINT = re.compile(r"export GATEWAY_DATABASE_URL='([^']+)'")


def test_the_printed_database_url_is_the_one_gateway_admin_needs(
    postgres: Postgres, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": postgres.admin_url, "STACK_DATA_DIR": str(tmp_path)}
    stack = subprocess.run(
        [sys.executable, str(STACK), "--migrate-only"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert stack.returncode == 0, stack.stdout + stack.stderr
    printed = HINT.search(stack.stdout)
    assert printed is not None, stack.stdout
    assert make_url(printed[1]) == make_url(postgres.url("gateway"))  # not the server's
    admin = subprocess.run(
        [str(GATEWAY_ADMIN), "client", "create", "--name", "stack check", "--scope",
         "inventory:read", "--municipality", "0010000"],
        env={**os.environ, "GATEWAY_DATABASE_URL": printed[1]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    assert json.loads(admin.stdout)["client_id"].startswith("cl_")
