"""Headers of file downloads."""

from __future__ import annotations

from urllib.parse import quote


def attachment_disposition(filename: str, ascii_filename: str) -> str:
    """Build a Content-Disposition that names a download in Chinese.

    `filename*` carries the UTF-8 name percent-encoded (RFC 6266 and RFC 8187), and
    `filename` the ASCII name for clients that do not read `filename*`.
    """
    return (
        f'attachment; filename="{ascii_filename}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
