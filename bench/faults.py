"""The fault soak: the scenarios of tests/faults run longer (more messages, the fault repeated), with a table.

Each scenario starts a throwaway PostgreSQL cluster and Redis (temp folders, free ports), `appealbot serve`
processes and a separate `appealbot worker`, the WeChat API stand-in, and sends signed messages with WeChat's
retries (three deliveries, 5 s apart) while PostgreSQL restarts, Redis stops and starts, an app instance or the
worker is killed with -9; and the embedded default (one server on SQLite) killed with -9 and started again. It
prints, per scenario: sent, stored, answered (a passive reply or a customer-service message at the stand-in),
duplicates, lost (never answered), unreachable (never stored, no delivery answered, the last one refused: no server
listened through WeChat's three deliveries, so a single restarting server loses those by WeChat's rules; they are
not counted as lost), sends left uncertain, and the latency of the accepted answers (from the first delivery,
WeChat's retry waits included).

    PYTHONPATH=. python bench/faults.py [--messages 200] [--rate 20] [--repeat 2] [--embedder none|e5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.harness import Tally, cluster, embedded_rig, rig, run_scenario  # noqa: E402

# app instances; 0: the embedded default (one server on SQLite, in-process cache and timer worker)
SCENARIOS = {"postgres_restart": 1, "redis_outage": 1, "app_kill": 2, "worker_kill": 1, "embedded_app_kill": 0}


def table(rows: list[Tally]) -> str:
    head = "| scenario | sent | stored | answered | duplicates | lost | unreachable | uncertain | p50 s | p99 s |"
    lines = [head, "|" + "---|" * 10]
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.sent} | {row.stored} | {row.answered} | {row.duplicates} | {row.lost}"
            f" | {row.unreachable} | {row.uncertain} | {row.p50:.2f} | {row.p99:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages per scenario")
    parser.add_argument("--rate", type=float, default=20.0, help="messages a second")
    parser.add_argument("--repeat", type=int, default=2, help="times the fault happens in one scenario")
    parser.add_argument("--embedder", default="none", choices=["none", "e5"], help="the app's semantic layer")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all five")
    args = parser.parse_args()
    rows: list[Tally] = []
    period = max(4.0, args.messages / args.rate / max(1, args.repeat))
    with cluster() as (pg, template):
        for scenario in args.scenario or list(SCENARIOS):
            instances = SCENARIOS[scenario]
            with tempfile.TemporaryDirectory() as folder:
                servers = (
                    rig(pg, template, Path(folder), instances=instances, embedder=args.embedder)
                    if instances
                    else embedded_rig(Path(folder), embedder=args.embedder)
                )
                with servers as built:
                    found = run_scenario(
                        built, scenario, count=args.messages, rate=args.rate, repeat=args.repeat, period=period
                    )
            rows.append(found)
            print(f"{scenario}: done; {len(found.problems)} problems", file=sys.stderr, flush=True)
            for problem in found.problems[:10]:
                print("  " + problem, file=sys.stderr)
    print(table(rows))
    complete = all(row.lost == row.duplicates == 0 and row.stored + row.unreachable == row.sent for row in rows)
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
