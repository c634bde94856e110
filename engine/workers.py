"""Run the hall under gunicorn with several worker processes.

Each worker builds its own app, so database connections are never shared across a
fork. Everything workers share lives in the database or the instance folder: sessions
are signed cookies under the instance's secret key, SMS codes and login attempts are
rows, deliveries are claimed rows and attachments are files in the attachments folder.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


class HallGunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured from arguments, loading the hall in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        # Further gunicorn settings come from GUNICORN_CMD_ARGS, as with the
        # gunicorn command itself, and override the ones above.
        parsed = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for name, value in vars(parsed).items():
            if value is not None and name != "args":
                self.cfg.set(name.lower(), value)

    def load(self) -> Any:
        from engine import create_app

        return create_app()


def _start_delivery(worker: Any) -> None:
    from engine.delivery import BackgroundDelivery, DeliveryWorker

    hall = worker.wsgi.extensions["hall"]
    BackgroundDelivery(DeliveryWorker(hall.session_factory, hall.router))
    log.info("gunicorn worker %s delivers in a background thread", worker.pid)


def _quit_once(worker: Any) -> None:
    # Ctrl-C reaches both the worker and the arbiter, which then sends SIGQUIT. That
    # second signal would cut short the worker_exit hook that gives back print jobs.
    # A handler that returns, unlike SIG_IGN, also takes a signal already pending.
    # NOTE: in gunicorn 27.0.1 a second signal that comes before this hook, while the
    # first handler shuts down the gthread pool, deadlocks the worker. The arbiter
    # kills it after graceful_timeout, and its print job waits for the LEASE.
    def ignore(number: int, frame: object) -> None:
        log.info(
            "gunicorn worker %s is already quitting, so signal %s is ignored",
            worker.pid,
            number,
        )

    signal.signal(signal.SIGINT, ignore)
    signal.signal(signal.SIGQUIT, ignore)


def _stop_print_jobs(server: Any, worker: Any) -> None:
    # gunicorn also calls worker_exit in the arbiter for a worker that had already
    # ended. Only the worker's own process renders print jobs.
    if worker.pid == os.getpid():
        from engine.print_jobs import stop_rendering

        stop_rendering()


def run_gunicorn(host: str, port: int, workers: int, delivery: bool) -> None:
    """Serve on host:port with `workers` processes until gunicorn is stopped."""
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": "-",
        # The worker's process id in each line shows which worker served a request.
        "access_log_format": '%(h)s pid=%(p)s "%(r)s" %(s)s %(b)s %(M)sms',
        "timeout": 60,
        # A worker that exits (stopped, restarted or timed out) gives back its
        # print jobs at once, because otherwise it waits for their layouts to end.
        "worker_int": _quit_once,
        "worker_exit": _stop_print_jobs,
    }
    if delivery:
        options["post_worker_init"] = _start_delivery
    HallGunicorn(options).run()
