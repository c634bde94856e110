"""A paged query through the HTTP core returns what the embedded core returns."""

from __future__ import annotations

from delivery_support import SECRET, UNIT_A, CoreServer

from connectors.base import PAGE_PARAM, PAGED_ROWS, Caller
from connectors.embedded.http_server import CoreHttpApp
from connectors.http import HttpCore

UNIT = Caller("unit", unit_account=UNIT_A)


def test_paged_list_crosses_wire(
    core_server: CoreServer, core_app: CoreHttpApp
) -> None:
    params = {
        "status": "01",
        PAGE_PARAM: {"number": 2, "size": 10, "sort": "balance", "descending": True},
    }
    expected = core_app.core.call("unit.employee_list", UNIT, params)
    served = HttpCore(core_server.url, SECRET).call("unit.employee_list", UNIT, params)
    assert served == expected
    assert served["page"] == 2
    assert len(served[PAGED_ROWS]) == 10
