"""Development mode: reload changed specs without a restart, and preview any spec file.

Only `build_app` turns this on, when the DEVELOPMENT setting is true (HALL_DEV=1).
A spec with errors then no longer stops the hall: its page shows its errors while
every other service works. The preview pages open only in demo mode or for a
logged-in reviewer, so a hall in production never exposes them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from connectors.router import ConnectorRouter
from engine.app import Hall, current_hall
from engine.auth import login_required
from engine.service import build_service
from engine.spec_check import HALLS, SpecError, check_file, check_specs, display_name
from engine.spec_check import spec_paths as menu_spec_paths

log = logging.getLogger(__name__)

development = Blueprint("development", __name__, url_prefix="/dev/specs")

# A spec file's modification time and size, compared to notice an edit.
Stamp = tuple[int, int]


@dataclass
class SpecWatch:
    """The spec files of the menu as last loaded, and the errors of the broken ones."""

    specs_dir: Path
    stamps: dict[Path, Stamp] = field(default_factory=dict)
    # Errors of each broken spec by (hall folder, file name without .yaml).
    broken: dict[tuple[str, str], list[SpecError]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current_stamps(self) -> dict[Path, Stamp]:
        stamps = {}
        for path in menu_spec_paths(self.specs_dir):
            try:
                status = path.stat()
            except OSError:
                continue
            stamps[path] = (status.st_mtime_ns, status.st_size)
        return stamps

    def refresh(self, hall: Hall) -> bool:
        """Reload the specs if a file was added, changed or removed; return whether."""
        with self.lock:
            stamps = self.current_stamps()
            if stamps == self.stamps:
                return False
            self.reload(hall, stamps)
            return True

    def reload(self, hall: Hall, stamps: dict[Path, Stamp]) -> None:
        report = check_specs(
            sorted(stamps),
            policy_names=hall.policy.names(),
            known_operations=known_operations(hall.router),
        )
        # The services are replaced in one assignment, so a request running in
        # another thread uses either the old set or the new one.
        hall.services = {
            spec_id: build_service(spec) for spec_id, spec in report.specs.items()
        }
        for connector in hall.router.connectors.values():
            if hasattr(connector, "titles"):
                connector.titles = {
                    spec_id: service.title for spec_id, service in hall.services.items()
                }
        names = {display_name(path): path for path in stamps}
        broken: dict[tuple[str, str], list[SpecError]] = {}
        for error in report.errors:
            path = names.get(error.file, Path(error.file))
            broken.setdefault((path.parent.name, path.stem), []).append(error)
        self.broken = broken
        self.stamps = stamps
        log.info(
            "loaded %d specs; %d have errors", len(hall.services), len(self.broken)
        )


def known_operations(router: ConnectorRouter) -> set[str]:
    """Return every operation that some connector of `router` offers."""
    names: set[str] = set()
    for connector in router.connectors.values():
        names |= connector.operations()
    return names


def init_app(app: Flask) -> None:
    """Watch the specs of `app` and register the preview pages."""
    watch = SpecWatch(Path(app.config["SPECS_DIR"]))
    watch.refresh(app.extensions["hall"])
    app.extensions["spec_watch"] = watch
    app.before_request(_reload_and_show_errors)
    app.register_blueprint(development)


def _reload_and_show_errors() -> Any:
    """Reload edited specs, then render a broken service's page as its errors."""
    if request.endpoint == "static":
        return None
    watch: SpecWatch = current_app.extensions["spec_watch"]
    watch.refresh(current_hall())
    arguments = request.view_args or {}
    if (
        not (request.endpoint or "").startswith("halls.")
        or "service_id" not in arguments
    ):
        return None
    errors = watch.broken.get((arguments.get("hall", ""), arguments["service_id"]))
    if errors is None:
        return None
    body = render_template("dev_specs.html", errors=errors, file=errors[0].file)
    return body, 500


# Preview pages ---------------------------------------------------------------------


def _guarded(view: Any) -> Any:
    """Run `view` in demo mode, or otherwise only for a logged-in reviewer."""
    if current_hall().demo:
        return view()
    return login_required("staff")(view)()


def _spec_files(specs_dir: Path) -> list[Path]:
    """Return every YAML file under the specs folder, menu or not, but policy.yaml."""
    found = specs_dir.rglob("*.yaml")
    return sorted(path for path in found if path.name != "policy.yaml")


@development.get("")
def index() -> Any:
    """List every spec file with whether it is in the menu, broken or only a draft."""

    def view() -> Any:
        hall = current_hall()
        watch: SpecWatch = current_app.extensions["spec_watch"]
        rows = []
        for path in _spec_files(watch.specs_dir):
            relative = path.relative_to(watch.specs_dir).as_posix()
            key = (path.parent.name, path.stem)
            if key in watch.broken:
                status = "有错误"
            elif path.parent.name in HALLS and path.stem in hall.services:
                status = "已在菜单中"
            else:
                status = "不在菜单中"
            rows.append({"file": relative, "status": status})
        return render_template("dev_specs.html", rows=rows)

    return _guarded(view)


@development.get("/preview")
def preview() -> Any:
    """Check one spec file and open its page, or list its errors."""

    def view() -> Any:
        hall = current_hall()
        watch: SpecWatch = current_app.extensions["spec_watch"]
        path = _requested_file(watch.specs_dir, request.args.get("file", ""))
        spec, errors = check_file(
            path,
            policy_names=hall.policy.names(),
            known_operations=known_operations(hall.router),
        )
        if spec is None:
            return render_template(
                "dev_specs.html", errors=errors, file=display_name(path)
            )
        service = build_service(spec)
        menu_file = watch.specs_dir / service.hall / f"{service.id}.yaml"
        if service.id in hall.services and menu_file.resolve() != path:
            # The page address is the id, so the menu's service would open instead.
            notice = (
                f"草稿的 id“{service.id}”与菜单中的业务相同，预览会打开菜单中的业务；"
                "请先为草稿另起一个 id。"
            )
            return render_template("dev_specs.html", notice=notice, rows=[])
        if service.id not in hall.services:
            hall.previews[service.id] = service
        target = url_for("halls.service_page", hall=service.hall, service_id=service.id)
        return redirect(target)

    return _guarded(view)


def _requested_file(specs_dir: Path, name: str) -> Path:
    """Return the spec file `name` inside the specs folder; 404 for anything else."""
    root = specs_dir.resolve()
    path = (root / name).resolve()
    if not name or path.suffix != ".yaml" or not path.is_relative_to(root):
        abort(404)
    if not path.is_file() or path.name == "policy.yaml":
        abort(404)
    return path
