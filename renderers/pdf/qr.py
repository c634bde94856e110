"""QR codes of verification links, as PNG data URIs for print templates."""

from __future__ import annotations

import segno


def qr_data_uri(text: str) -> str:
    """Encode `text` in a QR code with medium error correction, one pixel a module.

    The template scales the image up with `image-rendering: pixelated`, so the PDF
    keeps sharp module edges while the embedded image stays tiny; a small bitmap also
    lays out much faster in WeasyPrint than an SVG path of hundreds of squares.
    """
    code = segno.make_qr(text, error="m")
    return code.png_data_uri(scale=1, border=2)
