"""The long run of the console/admin link property test (tests/bot/web/test_url_properties.py): 10,000 odd GET
links per backend and a third as many POSTs, each printed as requests by status and the slowest request found.

    python -m bench.url_properties [--examples 10000] [--backend embedded|production|all]

Production needs APPEALBOT_TEST_DATABASE_URL and APPEALBOT_TEST_REDIS_URL (as the suite).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^(GET|POST): (\d+) requests, statuses (\{.*\}); slowest ([\d.]+) s: (.*)$", re.M)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--backend", choices=["embedded", "production", "all"], default="all")
    args = parser.parse_args()
    selection = "" if args.backend == "all" else f" and {args.backend}"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/bot/web/test_url_properties.py",
         "-k", "odd" + selection],
        cwd=ROOT, env={**os.environ, "APPEALBOT_URL_EXAMPLES": str(args.examples)}, capture_output=True, text=True,
    )  # fmt: skip
    print(f"{'method':<6} {'requests':>9}  {'statuses':<44} {'slowest':>8}  request")
    for method, count, statuses, slowest, what in LINE.findall(result.stdout):
        print(f"{method:<6} {count:>9}  {statuses:<44} {float(slowest):>7.3f}s  {what}")
    outcome = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    if result.returncode:  # what failed, with Hypothesis's falsifying example
        print("\n".join(line for line in result.stdout.splitlines() if line.startswith("E ") or "Falsifying" in line))
    print(f"pytest: {outcome}  ({time.monotonic() - started:.0f} s)")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
