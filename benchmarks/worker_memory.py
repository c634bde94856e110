"""Benchmark: resident memory of one hall process after it has loaded every spec.

A fresh interpreter builds the app as a worker does (specs, schemas, templates, the
database engine) and reports its resident set size, compared with the target of
120 MB. Run it with `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap

TARGET_MB = 120.0

WORKER = textwrap.dedent(
    """
    import sys
    from engine import create_app
    from engine.migrate import upgrade

    folder = sys.argv[1]
    url = f"sqlite:///{folder}/hall.db"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": folder})
    client = app.test_client()
    client.get("/")
    client.get("/unit/login")
    client.get("/person/login")
    services = len(app.extensions["hall"].services)
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                print(services, int(line.split()[1]))
    """
)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        output = subprocess.run(
            [sys.executable, "-c", WORKER, folder],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    services, kilobytes = int(output[-2]), int(output[-1])
    megabytes = kilobytes / 1024
    verdict = "meets" if megabytes <= TARGET_MB else "misses"
    print(f"one process with {services} services: {megabytes:.1f} MB resident")
    print(f"{verdict} the target of {TARGET_MB:.0f} MB")


if __name__ == "__main__":
    main()
