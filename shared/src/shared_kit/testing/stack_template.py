"""A migrated PostgreSQL data directory to start whole-system stacks from (`DevStack`).

A stack's embedded PostgreSQL spends seconds of CPU on initdb (2-15 s on this 2-core machine,
depending on what else runs) and on the eight services' migrations before anything else can
start. Tests that start many stacks make that once: `postgres_template()` runs
`stack.py --migrate-only` into a folder, and `start_from()` copies its stopped data directory
into a new stack's data directory, where the stack finds the databases created and migrated
(and migrates them to head again, a no-op). The demo data is still seeded through the APIs.
The template's server does not sync to disk (`NO_SYNC`): a test stack's data dies with it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared_kit.testing.infra import NO_SYNC
from shared_kit.testing.stack import REPO, STACK_SCRIPT, START_TIMEOUT_S, StackError


def postgres_template(folder: Path) -> Path:
    """The template's data directory, made once in `folder` (locked across processes: xdist
    workers given the same folder make it once between them)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = folder / "made"
    with (folder / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            shutil.rmtree(folder / "postgres", ignore_errors=True)
            shared = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")  # always the embedded one
            env = {k: v for k, v in os.environ.items() if k not in shared}
            done = subprocess.run(
                [sys.executable, str(STACK_SCRIPT), "--migrate-only"],
                cwd=REPO,
                env={**env, "STACK_DATA_DIR": str(folder)},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S,
            )
            if done.returncode != 0:
                raise StackError(
                    f"the PostgreSQL template was not made:\n{done.stdout}\n{done.stderr}"
                )
            with (folder / "postgres" / "postgresql.auto.conf").open("a") as conf:
                conf.write(NO_SYNC)
            made.touch()
    return folder / "postgres"


def start_from(template: Path, data_dir: Path) -> None:
    """Give a stack's data directory (before it starts) a copy of the template's PostgreSQL."""
    target = data_dir / "postgres"
    if not target.exists():  # `cp -a`: the files keep their owner (the server's own user)
        subprocess.run(["cp", "-a", str(template), str(target)], check=True)
