"""Benchmark: requests per second of the engine's loan trial page vs a hand-written one.

Both apps run under gunicorn with 2 workers of 4 threads each (the worker class and
thread count of `hall serve --workers`), on loopback ports above 20000, against one
temporary SQLite database seeded with `hall db upgrade` and `hall demo seed`. The
script logs the demo depositor in and checks that both apps return the same page.
Then it loads each app in turn with `wrk` for three requests: GET of the page, a POST
that fails validation and shows the form with its errors, and a POST that passes and
shows the trial's result. Runs alternate between the apps so both share the machine's
noise. It prints the median rate of each app and the median of the ratios
engine/hand-written of the two runs of each round. Other jobs on the machine sway
those paired ratios less than a ratio of medians, so the targets (0.9 for GET, 0.85
for each POST) are checked against them.

Run it with `.venv/bin/python benchmarks/page_throughput.py`; it needs Debian's `wrk`
(`apt-get install wrk`). It exits non-zero only on an error, never on a missed target.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.baseline.outline import normalised, outline  # noqa: E402

PAGE = "/person/person-loan-trial"
DEMO_LOGIN = "44020319850305021X"
DEMO_PASSWORD = "Person@2026"
APPS = {
    "engine": "engine:create_app()",
    "hand-written": "benchmarks.baseline.app:create_app()",
}
# Inputs that break six checks at once: a range, a required field, two minimums, a
# maximum from the policy and an unknown option.
INVALID_FORM = {
    "house_price": "5000",
    "home": "first",
    "income": "",
    "co_borrower": "on",
    "co_income": "0",
    "existing_debt": "-1",
    "term_years": "40",
    "method": "x",
}
VALID_FORM = {
    "house_price": "2000000",
    "home": "first",
    "income": "20000",
    "existing_debt": "0",
    "term_years": "20",
    "method": "equal-instalments",
}
# (name, form or None for a GET, expected status, target ratio engine/hand-written)
REQUESTS = (
    ("GET page", None, 200, 0.9),
    ("POST invalid", INVALID_FORM, 400, 0.85),
    ("POST valid", VALID_FORM, 200, 0.85),
)
# wrk counts 4xx and 5xx responses as errors, so a run of a 400 page reports all.
WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "session={cookie}"
"""


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each request")
    parser.add_argument(
        "--seconds", type=int, default=8, help="length of one wrk run, in seconds"
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="open keep-alive connections"
    )
    options = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is missing: install it with 'apt-get install wrk' first")
    print_machine(wrk)
    with tempfile.TemporaryDirectory(prefix="page-throughput-") as folder:
        environment = hall_environment(Path(folder))
        seed_database(environment)
        with running(environment) as servers:
            cookie, token = log_in(servers["engine"].port)
            check_pages(servers, cookie, token)
            rates = measure(wrk, servers, cookie, token, options)
    report(rates, options)


def print_machine(wrk: str) -> None:
    import gunicorn

    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, check=False
    ).stdout.split("[")[0].strip()
    print(f"machine: {model}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"Python {platform.python_version()}, gunicorn {gunicorn.__version__}")
    print(f"load generator: {version} (compiled, one thread)")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")


def hall_environment(folder: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        HALL_INSTANCE=str(folder),
        HALL_DATABASE_URL=f"sqlite:///{folder / 'hall.db'}",
        HALL_ATTACHMENTS_DIR=str(folder / "attachments"),
        HALL_SECRET_KEY=secrets.token_hex(32),
        HALL_DEMO="1",
        HALL_DEV="0",
    )
    return environment


def seed_database(environment: dict[str, str]) -> None:
    hall = str(Path(sys.executable).parent / "hall")
    for command in ([hall, "db", "upgrade"], [hall, "demo", "seed"]):
        subprocess.run(
            command, env=environment, check=True, capture_output=True, cwd=REPO_ROOT
        )


@contextmanager
def running(environment: dict[str, str]) -> Iterator[dict[str, Server]]:
    """Start both apps under gunicorn and stop them, by process id, at the end."""
    servers: dict[str, Server] = {}
    try:
        for name, target in APPS.items():
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers=2",
                "--worker-class=gthread",
                "--threads=4",
                f"--bind=127.0.0.1:{port}",
                f"--chdir={REPO_ROOT}",
                "--log-level=warning",
                target,
            ]
            process = subprocess.Popen(command, env=environment, cwd=REPO_ROOT)
            servers[name] = Server(name, port, process)
        for server in servers.values():
            wait_until_up(server)
        yield servers
    finally:
        for server in servers.values():
            server.process.terminate()
        for server in servers.values():
            server.process.wait(timeout=30)


def free_port() -> int:
    """Pick a random loopback port above 20000 that nothing listens on."""
    for _ in range(100):
        port = random.randint(20001, 60999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port above 20000 found in 100 tries")


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        try:
            request(server.port, "GET", PAGE)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not respond on port {server.port} within 60 s")


def request(
    port: int, method: str, path: str, cookie: str = "", form: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """Send one request and return the status, the headers and the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        return response.status, dict(response.getheaders()), text
    finally:
        connection.close()


def session_cookie(headers: dict[str, str]) -> str:
    match = re.search(r"session=([^;]+)", headers.get("Set-Cookie", ""))
    if match is None:
        raise RuntimeError("the response set no session cookie")
    return match.group(1)


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("the page has no CSRF token")
    return match.group(1)


def log_in(port: int) -> tuple[str, str]:
    """Log the demo depositor into the hall and return the session cookie and CSRF token."""
    _, headers, page = request(port, "GET", "/person/login")
    form = {
        "csrf_token": csrf_token(page),
        "login_id": DEMO_LOGIN,
        "password": DEMO_PASSWORD,
    }
    status, headers, _ = request(
        port, "POST", "/person/login", session_cookie(headers), form
    )
    if status != 302:
        raise RuntimeError(f"the demo login failed with status {status}")
    # The login starts a new session, so the page issues it a new CSRF token.
    status, headers, page = request(port, "GET", PAGE, session_cookie(headers))
    if status != 200:
        raise RuntimeError(f"the page returned status {status} after the login")
    return session_cookie(headers), csrf_token(page)


def check_pages(servers: dict[str, Server], cookie: str, token: str) -> None:
    """Print how alike the two apps' pages are, and raise on an unexpected status."""
    print("\nsimilarity check (engine vs hand-written):")
    for name, form, expected, _ in REQUESTS:
        pages = {}
        for server in servers.values():
            method = "GET" if form is None else "POST"
            data = None if form is None else {"csrf_token": token, **form}
            status, _, page = request(server.port, method, PAGE, cookie, data)
            if status != expected:
                raise RuntimeError(
                    f"{server.name}: {name} returned {status}, expected {expected}"
                )
            pages[server.name] = page
        engine, baseline = pages["engine"], pages["hand-written"]
        engine_outline, baseline_outline = outline(engine), outline(baseline)
        print(
            f"  {name}: field names "
            f"{same(engine_outline.field_names, baseline_outline.field_names)}, "
            f"error messages "
            f"{same(engine_outline.error_messages, baseline_outline.error_messages)} "
            f"({len(engine_outline.error_messages)}), HTML without whitespace "
            f"{same(normalised(engine), normalised(baseline))}, "
            f"{len(engine.encode())} vs {len(baseline.encode())} bytes"
        )


def same(first: object, second: object) -> str:
    return "identical" if first == second else "DIFFERENT"


def measure(
    wrk: str,
    servers: dict[str, Server],
    cookie: str,
    token: str,
    options: argparse.Namespace,
) -> dict[tuple[str, str], list[float]]:
    """Run wrk on each app and request, alternating the apps, and return the rates."""
    rates: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        scripts = {}
        for name, form, _, _ in REQUESTS:
            body = "" if form is None else urlencode({"csrf_token": token, **form})
            script = Path(folder) / f"{len(scripts)}.lua"
            script.write_text(
                WRK_SCRIPT.format(
                    method="GET" if form is None else "POST", body=body, cookie=cookie
                ),
                encoding="ascii",
            )
            scripts[name] = script
        order = list(servers.values())
        print(
            f"\nwarm-up, then {options.rounds} rounds of {options.seconds} s runs "
            f"with {options.connections} connections:"
        )
        for server in order:
            for name, script in scripts.items():
                run_wrk(wrk, server.port, script, 2, options.connections)
        for round_number in range(options.rounds):
            # Alternate which app goes first, so neither always runs after the other.
            if round_number % 2:
                order.reverse()
            for name, form, expected, _ in REQUESTS:
                for server in order:
                    rate, errors, total = run_wrk(
                        wrk, server.port, scripts[name], options.seconds,
                        options.connections,
                    )
                    expected_errors = 0 if expected < 400 else total
                    if errors != expected_errors:
                        raise RuntimeError(
                            f"{server.name}: {name}: {errors} of {total} responses "
                            f"had an error status, expected {expected_errors}"
                        )
                    rates.setdefault((server.name, name), []).append(rate)
            print(f"  round {round_number + 1} done, load average "
                  f"{os.getloadavg()[0]:.2f}")
    return rates


def run_wrk(
    wrk: str, port: int, script: Path, seconds: int, connections: int
) -> tuple[float, int, int]:
    """Run wrk once and return requests per second, error responses and all responses."""
    output = subprocess.run(
        [
            wrk,
            "--threads=1",
            f"--connections={connections}",
            f"--duration={seconds}s",
            f"--script={script}",
            f"http://127.0.0.1:{port}{PAGE}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"([0-9]+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors is not None:
        raise RuntimeError(f"wrk had socket errors: {socket_errors.group(1)}")
    return float(rate.group(1)), int(errors.group(1)) if errors else 0, int(total.group(1))


def report(
    rates: dict[tuple[str, str], list[float]], options: argparse.Namespace
) -> None:
    print(f"\nrequests per second, median of {options.rounds} runs:")
    print(
        f"  {'request':<13} {'engine':>7} {'hand-written':>13} "
        f"{'paired ratios (min-max)':>24} {'median':>7}  target"
    )
    for name, _, _, target in REQUESTS:
        engine_runs = rates[("engine", name)]
        baseline_runs = rates[("hand-written", name)]
        ratios = [
            engine / baseline
            for engine, baseline in zip(engine_runs, baseline_runs, strict=True)
        ]
        ratio = statistics.median(ratios)
        verdict = "meets" if ratio >= target else "misses"
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(
            f"  {name:<13} {statistics.median(engine_runs):7.1f} "
            f"{statistics.median(baseline_runs):13.1f} {spread:>24} {ratio:7.2f}  "
            f"{verdict} {target}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
