"""The whole test suite: lint (ruff), types (mypy), then pytest. `python -m tests [pytest args]`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT)


def main() -> int:
    python = sys.executable
    for step in ((python, "-m", "ruff", "check", "."), (python, "-m", "mypy")):
        if run(*step) != 0:
            return 1
    return run(python, "-m", "pytest", *sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
