"""Benchmark: load, check and build every spec of the repository, as start-up does.

Prints the median and the slowest of several runs and compares the median with the
target of 150 ms. Run it with `make bench`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from engine.cli import known_operations
from engine.policy import Policy
from engine.service import build_service
from engine.spec_check import load_specs, spec_paths

SPECS = Path(__file__).resolve().parents[1] / "specs"
TARGET_MS = 150.0
RUNS = 15


def load_all() -> int:
    """Read the policy and every spec, check them and build their services."""
    policy = Policy.from_file(SPECS / "policy.yaml")
    known = known_operations()
    specs, errors = load_specs(
        spec_paths(SPECS), policy_names=policy.names(), known_operations=known
    )
    if errors:
        raise SystemExit(f"{len(errors)} spec errors: run `hall specs check`")
    services = [build_service(spec) for spec in specs.values()]
    return len(services)


def main() -> None:
    count = load_all()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        load_all()
        timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    verdict = "meets" if median <= TARGET_MS else "misses"
    print(f"specs loaded, checked and built: {count}")
    print(f"median {median:.1f} ms, slowest {max(timings):.1f} ms over {RUNS} runs")
    print(f"{verdict} the target of {TARGET_MS:.0f} ms")
    sys.exit(0)


if __name__ == "__main__":
    main()
