"""A layout that waits for the test, for tests that end its serving process mid-layout.

A test puts `functools.partial(gated_pdf, port)` in place of the layout process's
function. The layout process then connects to the test's loopback port, sends its
process id and lays out nothing until the test closes the connection.
"""

from __future__ import annotations

import os
import socket

from renderers.pdf.renderer import PdfRenderer


def gated_pdf(port: int, page: str) -> bytes:
    """Send this process's id to the test, wait for it to hang up, then lay out."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(f"{os.getpid()}\n".encode("ascii"))
        while connection.recv(64):
            pass
    return PdfRenderer().pdf(page)
