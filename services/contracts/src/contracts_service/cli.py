"""Every command of the contracts service (`[project.scripts]` in its pyproject).

- `contracts-demo-ca DIR`: make the demo CA and seal certificate in DIR once (for `make run`
  and local experiments) and print the file paths as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts_service.document import seal


def demo_ca(argv: list[str] | None = None) -> int:
    """`contracts-demo-ca DIR`: make the demo CA and print the file paths as JSON."""
    parser = argparse.ArgumentParser(prog="contracts-demo-ca", description=seal.demo_ca.__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    paths = seal.demo_ca(args.directory)
    print(json.dumps({k: str(v) for k, v in paths.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(demo_ca())
