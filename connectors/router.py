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
