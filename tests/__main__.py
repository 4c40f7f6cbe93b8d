"""The test suite: lint (ruff check, ruff format --check), types (mypy), then pytest.

    python -m tests [pytest args]          everything, PostgreSQL, Redis and the browser included
    python -m tests --fast [pytest args]   the inner loop: the same checks, then pytest without the tests
                                           marked browser, postgres, redis or slow (well under a minute)

Arguments after `--fast` (or all of them, without it) go to pytest: `python -m tests -k callback -x`,
`python -m tests --fast tests/routing`. A `-m EXPRESSION` given with `--fast` narrows the fast lane further.
The ruff steps run first and stop the run when they fail; mypy runs beside pytest (its report is printed
after pytest's), and the run fails when either does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = "not (browser or postgres or redis or slow)"


def run(*command: str) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT)


def with_fast_lane(args: list[str]) -> list[str]:
    """The pytest arguments with the fast lane's marker expression (and-ed with a -m of the caller's)."""
    args = list(args)
    for index, arg in enumerate(args):
        if arg == "-m" and index + 1 < len(args):
            args[index + 1] = f"({args[index + 1]}) and {FAST}"
            return args
        if arg.startswith("-m") and arg != "-m" and not arg.startswith("--"):
            args[index] = f"-m({arg[2:].lstrip('=')}) and {FAST}"
            return args
    return ["-m", FAST, *args]


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    pytest_args = [arg for arg in argv if arg != "--fast"]
    if fast:
        pytest_args = with_fast_lane(pytest_args)
    python = sys.executable
    for step in ((python, "-m", "ruff", "check", "."), (python, "-m", "ruff", "format", "--check", ".")):
        if run(*step) != 0:
            return 1
    # mypy beside pytest: most of pytest's time is spent waiting (servers, browser, subprocesses).
    mypy_command = (python, "-m", "mypy")
    mypy = subprocess.Popen(mypy_command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        tested = run(python, "-m", "pytest", *pytest_args)
    except BaseException:  # e.g. Ctrl-C
        mypy.kill()
        mypy.wait()
        raise
    report, _ = mypy.communicate()
    print("$", " ".join(mypy_command), flush=True)
    print(report, end="", flush=True)
    return 1 if mypy.returncode != 0 else tested


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
