"""Store and deliver applications the way the confirm view does.

Run by the fault-injection test as a process it can kill. Settings come from the
hall's environment variables. Application `index` for each index from `--first` to
`--last` is stored, its number printed as `stored INDEX NUMBER`, and then its delivery
tried at once. With `--pause-at INDEX` the process prints `paused` after storing that
application and waits to be killed before it delivers.
"""

from __future__ import annotations

import argparse
import sys
import time

from delivery_support import UNIT_A, base_change, store_application

from connectors.base import Caller
from engine import create_app
from engine.delivery import DeliveryWorker, RetryPolicy

# Every REJECT_EVERY-th application has a base below the floor, which the core rejects.
REJECT_EVERY = 25


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--last", type=int, required=True)
    parser.add_argument("--pause-at", type=int, default=0)
    options = parser.parse_args()

    app = create_app()
    hall = app.extensions["hall"]
    sessions = hall.session_factory
    accounts = [
        row["person_account"]
        for row in hall.router.connectors["embedded"].call(
            "unit.employees", Caller("unit", unit_account=UNIT_A), {}
        )
    ]
    worker = DeliveryWorker(
        sessions, hall.router, RetryPolicy(first_delay=0.05, max_delay=0.4, lease=2)
    )
    for index in range(options.first, options.last + 1):
        base = "1" if index % REJECT_EVERY == 0 else f"{5000 + index}"
        data = base_change(accounts[index % len(accounts)], base)
        number = store_application(sessions, app, data)
        print(f"stored {index} {number}", flush=True)
        if index == options.pause_at:
            print("paused", flush=True)
            time.sleep(600)
        worker.deliver_now(number)
    print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
