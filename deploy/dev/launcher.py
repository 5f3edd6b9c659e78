"""A pre-loaded parent that forks the stack's processes (`stack.py` starts it first).

Each service process used to import FastAPI, SQLAlchemy, pydantic, aiokafka, the kit and the
rest by itself: 2.5-4 s of CPU per process, sixteen processes per stack. This parent imports
those libraries once (never a service's or a stand-in's own modules, which build their state at
import: those the child imports itself, as a fresh process would) and forks a child per request;
the child takes its own session, environment, working directory and log, and runs
`python -m uvicorn …` as the stack would have started it.

Protocol, one JSON object per line: the stack writes `{"name", "argv", "env", "cwd", "log",
"append"}` to stdin; the launcher answers `{"started": pid}` and, whenever a child ends,
`{"exited": pid, "code": c}` (negative: killed by that signal, as `subprocess` says it). At the
end of its stdin it kills what is left and exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import queue
import random
import runpy
import select
import signal
import subprocess
import sys
import threading
from typing import Any

# What every service (and the stand-ins) imports; a child imports only its own modules after.
PRELOAD = (
    "uvicorn.main",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "fastapi.templating",
    "starlette.staticfiles",
    "jinja2",
    "authlib.jose",
    "authlib.integrations.httpx_client",
    "saml2.server",
    "saml2.client",
    "fpdf",
    "pypdf",
    "pyhanko.sign",
    "aiohttp",
    "PIL.Image",
    "aiosmtpd.controller",
)
POLL_S = 0.1


def preload() -> None:
    """Import the kit (its testing helpers aside) and the libraries of `PRELOAD`."""
    import shared_kit

    names = [m.name for m in pkgutil.walk_packages(shared_kit.__path__, "shared_kit.")]
    for name in [n for n in names if ".testing" not in n] + list(PRELOAD):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def child(request: dict[str, Any]) -> None:
    """In the forked child: become the process the stack asked for; never returns."""
    code = 1
    try:
        os.setsid()  # Ctrl-C reaches only the stack, which stops its processes in order
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh Python
        for sig in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if request["append"] else os.O_TRUNC)
        log = os.open(request["log"], flags, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        random.seed()  # not the parent's sequence
        sys.path[0] = request["cwd"]  # as `python -m` puts the working directory first
        sys.argv = ["uvicorn", *request["argv"]]
        runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def tell(message: dict[str, Any]) -> None:
    """A line to the stack."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def reap(children: set[int]) -> None:
    """Report every child that ended."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        tell({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def serve() -> None:
    """Fork a child per request line until stdin ends; then kill what is left."""
    children: set[int] = set()
    pending = b""
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([stdin], [], [], POLL_S)
        reap(children)
        if not readable:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                child(json.loads(line))
            children.add(pid)
            tell({"started": pid})
    for pid in children:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    while children:
        try:
            children.discard(os.waitpid(-1, 0)[0])
        except ChildProcessError:
            return


def main() -> None:
    """Preload, say so, and serve."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stack decides when its processes stop
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    preload()
    tell({"ready": os.getpid()})
    serve()
    sys.stdout.flush()
    os._exit(0)  # nothing to tear down: skip unloading the two thousand modules


if __name__ == "__main__":
    main()


# The stack's side ------------------------------------------------------------------------------


class Forked:
    """A process the launcher forked: the part of `subprocess.Popen` the stack uses."""

    def __init__(self, launcher: Launcher, pid: int) -> None:
        self.launcher = launcher
        self.pid = pid

    @property
    def returncode(self) -> int | None:
        """Its exit code once it ended (negative: the signal that killed it)."""
        return self.launcher.codes.get(self.pid)

    def poll(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until it ends; `subprocess.TimeoutExpired` after `timeout` seconds."""
        with self.launcher.changed:
            ended = self.launcher.changed.wait_for(
                lambda: self.pid in self.launcher.codes or self.launcher.gone, timeout
            )
        if self.pid in self.launcher.codes:
            return self.launcher.codes[self.pid]
        if ended:  # the launcher itself is gone: nobody reaps the child any more
            raise LauncherError(f"the launcher exited; process {self.pid} is orphaned")
        raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)


class LauncherError(RuntimeError):
    """The launcher did not start a process (or died)."""


class Launcher:
    """The launcher process, started by the stack with `open()`, ended with `close()`."""

    def __init__(self, cwd: str, env: dict[str, str], log: str) -> None:
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__)],
                cwd=cwd,
                env={**env, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
                start_new_session=True,
            )
        self.codes: dict[int, int] = {}
        self.changed = threading.Condition()
        self.gone = False
        self._started: queue.Queue[int | None] = queue.Queue()
        threading.Thread(target=self._read, name="launcher", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            if "started" in message:
                self._started.put(message["started"])
            elif "exited" in message:
                with self.changed:
                    self.codes[message["exited"]] = message["code"]
                    self.changed.notify_all()
        with self.changed:
            self.gone = True
            self.changed.notify_all()
        self._started.put(None)

    def start(self, argv: list[str], env: dict[str, str], cwd: str, log: str, *,
              append: bool = False, timeout_s: float = 300) -> Forked:  # fmt: skip
        """Fork `python -m uvicorn <argv>` with this environment and log; the child."""
        request = {"argv": argv, "env": env, "cwd": cwd, "log": log, "append": append}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            pid = self._started.get(timeout=timeout_s)
        except (OSError, queue.Empty) as exc:
            raise LauncherError(f"the launcher did not start {argv[0]}: {exc}") from exc
        if pid is None:
            raise LauncherError(f"the launcher exited before it started {argv[0]}")
        return Forked(self, pid)

    def close(self, timeout_s: float = 15) -> None:
        """End its input (it kills what is left and exits); kill it when it takes too long."""
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
