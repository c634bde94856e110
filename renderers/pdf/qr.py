"""QR codes of verification links, as PNG data URIs for print templates."""

from __future__ import annotations

import segno

# ISO/IEC 18004 requires four light modules around the code, because scanners lose
# the finder patterns when text or lines come closer.
QUIET_ZONE = 4
# Poppler smooths a bitmap that it scales up, even with `image-rendering: pixelated`.
# At one pixel a module, pdftoppm (Debian 12's poppler-utils) blurred neighbouring
# modules into grey at 72 to 150 dpi and zbarimg read none of those pages. At four
# pixels a module the smoothing stays at the module edges.
PIXELS_PER_MODULE = 4


def qr_data_uri(text: str) -> str:
    """Encode `text` in a QR code with medium error correction, as a PNG data URI.

    A bitmap of a few pixels a module stays small (under 1 KB) and lays out much
    faster in WeasyPrint than an SVG path of hundreds of squares.
    """
    code = segno.make_qr(text, error="m")
    return code.png_data_uri(scale=PIXELS_PER_MODULE, border=QUIET_ZONE)
