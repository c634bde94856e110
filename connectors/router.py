"""Route operation names to connectors by configuration."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connectors.base import Caller, Connector, UnknownOperation

log = logging.getLogger(__name__)


class ConnectorRouter:
    """Send each operation to the connector its route names.

    `routes` maps a pattern to a connector name: an exact operation (`loan.trial`), a
    family (`loan.*`) or everything (`*`). The most specific pattern wins.
    """

    def __init__(
        self, connectors: Mapping[str, Connector], routes: Mapping[str, str]
    ) -> None:
        for pattern, name in routes.items():
            if name not in connectors:
                raise ValueError(
                    f"route {pattern!r} names connector {name!r}, but only "
                    f"{sorted(connectors)} are configured; fix HALL_ROUTES"
                )
        self.connectors = dict(connectors)
        self.routes = dict(routes)

    def connector_for(self, operation: str) -> Connector:
        family = operation.split(".", 1)[0] + ".*"
        for pattern in (operation, family, "*"):
            name = self.routes.get(pattern)
            if name is not None:
                return self.connectors[name]
        raise UnknownOperation(f"no connector is routed for operation {operation!r}")

    def knows(self, operation: str) -> bool:
        try:
            connector = self.connector_for(operation)
        except UnknownOperation:
            return False
        return operation in connector.operations()

    def call(self, operation: str, caller: Caller, params: Mapping[str, Any]) -> Any:
        connector = self.connector_for(operation)
        log.debug("calling %s for %s", operation, caller.hall)
        return connector.call(operation, caller, params)


def routes_from_text(text: str) -> dict[str, str]:
    """Read routes written as `pattern=connector` pairs separated by commas."""
    routes = {}
    for part in text.split(","):
        pattern, _, name = part.strip().partition("=")
        if not pattern.strip() or not name.strip():
            raise ValueError(
                f"HALL_ROUTES entry {part.strip()!r} is not pattern=connector; "
                "write for example '*=http,applications.*=hall'"
            )
        routes[pattern.strip()] = name.strip()
    return routes


def configured_connectors(config: Mapping[str, Any]) -> dict[str, Connector]:
    """Build the connectors that settings add: `http` when HALL_CORE_URL is set."""
    from connectors.http import HttpCore

    url = config.get("HALL_CORE_URL")
    if not url:
        return {}
    return {
        "http": HttpCore(
            url,
            config.get("HALL_CORE_SECRET") or "",
            connect_timeout=float(config.get("HALL_CORE_CONNECT_TIMEOUT", 3)),
            read_timeout=float(config.get("HALL_CORE_READ_TIMEOUT", 10)),
        )
    }
