"""QR codes printed on letters: handbook links, meeting links, (later) tracking links."""

from __future__ import annotations

import io
import struct
import zlib

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
TRACKING_BOX_SIZE = 8  # pixels per module: one byte of a 1-bit row (tracking_qr_rows counts on it)
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


def tracking_qr_version_of(pixels: int) -> int:
    """The version of a tracking code ``pixels`` wide (the inverse of :func:`tracking_qr_size`).

    >>> tracking_qr_version_of(tracking_qr_size(48))
    4
    """
    return (pixels // TRACKING_BOX_SIZE - 2 * TRACKING_BORDER - 17) // 4


def tracking_qr_rows(payload: str, version: int | None = None) -> tuple[bytes, int, int]:
    """The tracking code's pixel rows packed 8 pixels a byte (1 = white, as PNG and PDF 1-bit grey read
    them), quiet zone included; and its width and height in pixels: a PDF copy's image samples as they are.

    zxing-cpp draws the modules (~0.2 ms; the qrcode package takes ~3 ms in pure Python, which a national
    circular's 9,000 copies feel); numpy scales them: no image library between the code and its bytes."""
    needed = tracking_qr_version(len(payload.encode("utf-8")))
    if version is not None and version < needed:
        raise ValueError(f"{payload!r} needs a QR code of version {needed}, more than {version}")
    version = version or needed
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M", version=version)
    white = np.pad(np.asarray(code.to_image(scale=1, add_quiet_zones=False)) != 0, TRACKING_BORDER,
                   constant_values=True)
    # 8 pixels a module: a module is one byte of a packed row, 0xFF white, 0x00 black.
    rows = np.where(white, np.uint8(0xFF), np.uint8(0)).repeat(TRACKING_BOX_SIZE, axis=0)
    height, width = rows.shape[0], rows.shape[1] * 8
    return rows.tobytes(), width, height


def tracking_qr_image(payload: str, version: int | None = None) -> Image.Image:
    """The tracking code as a 1-bit image (black on white), see :func:`tracking_qr_png`; at the version the
    payload's length calls for, or at ``version`` (at least that: a copy's codes all take the size of its
    master's placeholder, which fits the longest of them)."""
    rows, width, height = tracking_qr_rows(payload, version)
    return Image.frombytes("1", (width, height), rows)


def tracking_qr_png(payload: str, version: int | None = None) -> bytes:
    """A tracking code as PNG bytes: error correction M, the version a byte-mode payload of its length
    calls for (or ``version``), 8 pixels a module, a 4-module quiet zone. Codes of payloads of the
    same length (in UTF-8 bytes) have the same version and the same pixel size.

    Written directly (1-bit grey, no row filter, deflate level 1: ~650 bytes, and no slower to read): ~0.2 ms,
    a quarter of what an image library takes.

    >>> from PIL import Image
    >>> Image.open(io.BytesIO(tracking_qr_png("https://saraban.example/t/" + 22 * "A"))).size
    (328, 328)
    """
    rows, width, height = tracking_qr_rows(payload, version)
    stride = len(rows) // height
    scanlines = np.zeros((height, stride + 1), dtype=np.uint8)  # each row led by its filter byte 0: none
    scanlines[:, 1:] = np.frombuffer(rows, dtype=np.uint8).reshape(height, stride)
    header = struct.pack(">2I5B", width, height, 1, 0, 0, 0, 0)  # 1 bit, grey, deflate, no filter, no interlace
    return b"".join([_PNG_SIGNATURE, _png_chunk(b"IHDR", header),
                     _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 1)), _png_chunk(b"IEND", b"")])


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def placeholder_qr_png(length: int) -> bytes:
    """The stand-in for the tracking codes of ``length``-byte payloads in a master copy: a valid code
    ("x" repeated) of the same version and pixel size.

    >>> placeholder_qr_png(48) == tracking_qr_png(48 * "x")
    True
    """
    return tracking_qr_png("x" * length)
