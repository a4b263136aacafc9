"""QR codes printed on letters: handbook links, meeting links, (later) tracking links."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(payload: str) -> bytes:
    """A QR code as PNG bytes, error correction M, the standard 4-module quiet zone.

    >>> qr_png("https://example.org").startswith(b"\\x89PNG")
    True
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(payload)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()
