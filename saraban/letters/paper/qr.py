"""QR codes printed on letters: handbook links, meeting links, (later) tracking links."""

from __future__ import annotations

import io

import numpy as np
import qrcode
import zxingcpp
from PIL import Image
from qrcode import util
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


# Tracking codes: one per recipient of a circular, all of one payload length. Their version is fixed
# by the length, so every code of a length has the same pixel size: a copy of a letter swaps its
# placeholder image for the recipient's code, pixel for pixel.
TRACKING_ERROR_CORRECTION = ERROR_CORRECT_M
TRACKING_BOX_SIZE = 8  # pixels per module
TRACKING_BORDER = 4  # modules of quiet zone


def tracking_qr_version(length: int) -> int:
    """The smallest QR version that holds ``length`` bytes in byte mode at error correction M.

    >>> [tracking_qr_version(n) for n in (14, 15, 42, 46, 62, 63)]
    [1, 2, 3, 4, 4, 5]
    """
    if length < 1:
        raise ValueError(f"a tracking payload has at least one byte, not {length}")
    for version in range(1, 41):
        count_bits = util.length_in_bits(util.MODE_8BIT_BYTE, version)
        if 4 + count_bits + 8 * length <= util.BIT_LIMIT_TABLE[TRACKING_ERROR_CORRECTION][version]:
            return version
    raise ValueError(f"{length} bytes do not fit in a QR code at error correction M")


def qr_capacity() -> int:
    """The most UTF-8 bytes a QR code holds in byte mode at error correction M (version 40): 2331.

    >>> qr_capacity()
    2331
    """
    count_bits = util.length_in_bits(util.MODE_8BIT_BYTE, 40)
    return (util.BIT_LIMIT_TABLE[TRACKING_ERROR_CORRECTION][40] - 4 - count_bits) // 8


def qr_problem(payload: str) -> str | None:
    """Why ``payload`` cannot be drawn as a QR code (too long), or None: checked before a number is taken."""
    size = len(payload.encode("utf-8"))
    if size <= qr_capacity():
        return None
    return (f"ยาวเกินกว่าที่ QR code บรรจุได้ ({size} ไบต์ เกิน {qr_capacity()}) ใช้ลิงก์ที่สั้นกว่า / too long for a QR "
            f"code: {size} bytes, at most {qr_capacity()}; use a shorter link")


def tracking_qr_size(length: int) -> int:
    """The width and height in pixels of the tracking code of a ``length``-byte payload."""
    modules = 17 + 4 * tracking_qr_version(length) + 2 * TRACKING_BORDER
    return modules * TRACKING_BOX_SIZE


def tracking_qr_image(payload: str) -> Image.Image:
    """The tracking code as a 1-bit image (black on white), see :func:`tracking_qr_png`.

    Drawn by zxing-cpp's writer (~1 ms; the qrcode package takes ~3 ms in pure Python, which a national
    circular's 9,000 copies feel) at the version the payload's length calls for.
    """
    version = tracking_qr_version(len(payload.encode("utf-8")))
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M", version=version)
    pixels = np.asarray(code.to_image(scale=TRACKING_BOX_SIZE, add_quiet_zones=True))
    return Image.fromarray(pixels).convert("1", dither=Image.Dither.NONE)


def tracking_qr_png(payload: str) -> bytes:
    """A tracking code as PNG bytes: error correction M, the version a byte-mode payload of its length
    calls for, 8 pixels a module, a 4-module quiet zone. Codes of payloads of the
    same length (in UTF-8 bytes) have the same version and the same pixel size.

    >>> from PIL import Image
    >>> Image.open(io.BytesIO(tracking_qr_png("https://saraban.example/t/" + 22 * "A"))).size
    (328, 328)
    """
    out = io.BytesIO()
    tracking_qr_image(payload).save(out, format="PNG", compress_level=6)
    return out.getvalue()


def placeholder_qr_png(length: int) -> bytes:
    """The stand-in for the tracking codes of ``length``-byte payloads in a master copy: a valid code
    ("x" repeated) of the same version and pixel size.

    >>> placeholder_qr_png(48) == tracking_qr_png(48 * "x")
    True
    """
    return tracking_qr_png("x" * length)
