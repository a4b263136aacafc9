"""QR codes printed on letters: handbook links, meeting links, (later) tracking links."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import NamedTuple

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

    zxing-cpp draws the modules (the qrcode package takes ~3 ms in pure Python, which a national circular's
    9,000 copies feel) and :func:`_dark_modules` picks the mask; numpy scales them: no image library between
    the code and its bytes."""
    return tracking_qr_rows_many([payload], version)[0]


def tracking_qr_rows_many(payloads: Sequence[str], version: int | None = None) -> list[tuple[bytes, int, int]]:
    """:func:`tracking_qr_rows` of each payload, the codes of one version computed together (numpy's cost is
    in its calls, not in the size of their arrays: a letter's ten copies cost little more than one)."""
    rows: list[tuple[bytes, int, int]] = [(b"", 0, 0)] * len(payloads)
    for at, pixels in _pixel_stacks(payloads, version):
        height, width = pixels.shape[1], pixels.shape[2] * 8
        for i, code in zip(at, pixels, strict=True):
            rows[i] = (code.tobytes(), width, height)
    return rows


def _pixel_stacks(payloads: Sequence[str], version: int | None) -> Iterator[tuple[list[int], np.ndarray]]:
    """The payloads' codes a version at a time: their places in ``payloads`` and their pixel rows packed 8 pixels
    a byte (a module is one byte: 0xFF white, 0x00 black), one code a layer."""
    versions = [_version_for(payload, version) for payload in payloads]
    for v in dict.fromkeys(versions):
        at = [i for i, w in enumerate(versions) if w == v]
        white = np.pad(~_dark_modules([payloads[i] for i in at], v),
                       ((0, 0), (TRACKING_BORDER, TRACKING_BORDER), (TRACKING_BORDER, TRACKING_BORDER)),
                       constant_values=True)
        yield at, np.where(white, np.uint8(0xFF), np.uint8(0)).repeat(TRACKING_BOX_SIZE, axis=1)


def _version_for(payload: str, version: int | None) -> int:
    needed = tracking_qr_version(len(payload.encode("utf-8")))
    if version is not None and version < needed:
        raise ValueError(f"{payload!r} needs a QR code of version {needed}, more than {version}")
    return version or needed


def _dark_modules(payloads: Sequence[str], version: int) -> np.ndarray:
    """The codes' modules (True: dark; one code a layer), each masked with the data mask of least penalty
    (ISO/IEC 18004 7.8.3) as zxing-cpp chooses it. zxing-cpp spends 0.25 of its 0.3 ms trying its eight masks:
    here it encodes once, with mask 0, and the other seven are that code's data modules masked again
    (:func:`_mask_layers`), their penalties counted on rows of bits, all eight of every code at once
    (:func:`_penalties`)."""
    if version > MAX_FAST_VERSION:
        return np.stack([_zxing_modules(payload, version) for payload in payloads])
    layers = _mask_layers(version)
    data = np.stack([_zxing_modules(payload, version, 0) for payload in payloads]) & layers.data  # masked with 0
    lines = np.concatenate([_bit_rows(data), _bit_rows(data.transpose(0, 2, 1))], axis=-1)
    penalties = _penalties(layers.fixed_lines | (lines[:, None, :] ^ layers.mask_lines), data.shape[1])
    best = np.argmin(penalties, axis=-1)  # the first of equal ones, as zxing-cpp
    return layers.fixed[best] | (data ^ layers.masks[0] ^ layers.masks[best])


def _zxing_modules(payload: str, version: int, mask: int | None = None) -> np.ndarray:
    """zxing-cpp's code (True: dark), with data ``mask`` or (None) the one it chooses."""
    options = {} if mask is None else {"data_mask": mask}
    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M", version=version, **options)
    return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) == 0


MAX_FAST_VERSION = 9  # a row of a code and 4 light modules each side in 64 bits (tracking codes are ~version 4)


class _MaskLayers(NamedTuple):
    """What the 8 data masks of one version print, each: ``fixed``, the function patterns with that mask's
    format information (nothing in the data region); ``masks``, the mask on the data region only; ``data``, where
    the data region is; and as bits, the rows then the columns (:func:`_bit_rows`) of ``fixed`` (``fixed_lines``)
    and of each mask after mask 0 (``mask_lines``: what turns a code masked with 0 into one masked with it)."""

    fixed: np.ndarray
    masks: np.ndarray
    data: np.ndarray
    fixed_lines: np.ndarray
    mask_lines: np.ndarray


def _bit_rows(modules: np.ndarray) -> np.ndarray:
    """Each row of ``modules`` (a stack of them or one) as one unsigned 64-bit number, bit x the module in column x."""
    packed = np.packbits(modules, axis=-1, bitorder="little")
    wide = np.zeros((*packed.shape[:-1], 8), dtype=np.uint8)
    wide[..., :packed.shape[-1]] = packed
    return wide.view("<u8")[..., 0]


@cache
def _mask_layers(version: int) -> _MaskLayers:
    size = 17 + 4 * version
    layout = qrcode.QRCode(version=version, error_correction=TRACKING_ERROR_CORRECTION, border=0)
    layout.modules_count = size
    layout.modules = [[None] * size for _ in range(size)]
    for row, col in ((0, 0), (size - 7, 0), (0, size - 7)):
        layout.setup_position_probe_pattern(row, col)
    layout.setup_position_adjust_pattern()
    layout.setup_timing_pattern()
    layout.setup_type_info(True, 0)
    if version >= 7:
        layout.setup_type_number(True)
    data = ~np.array([[m is not None for m in row] for row in layout.modules])
    i, j = np.indices((size, size))  # row, column
    masks = np.stack([(i + j) % 2 == 0, i % 2 == 0, j % 3 == 0, (i + j) % 3 == 0, (i // 2 + j // 3) % 2 == 0,
                      (i * j) % 2 + (i * j) % 3 == 0, ((i * j) % 2 + (i * j) % 3) % 2 == 0,
                      ((i * j) % 3 + (i + j) % 2) % 2 == 0]) & data  # ISO/IEC 18004 table 10
    fixed = np.stack([_zxing_modules("x", version, k) & ~data for k in range(8)])  # any payload: data off
    again = masks ^ masks[0]
    layers = _MaskLayers(fixed, masks, data,
                         np.concatenate([_bit_rows(fixed), _bit_rows(fixed.transpose(0, 2, 1))], axis=1),
                         np.concatenate([_bit_rows(again), _bit_rows(again.transpose(0, 2, 1))], axis=1))
    for array in layers:
        array.flags.writeable = False
    return layers


def _penalties(lines: np.ndarray, size: int) -> np.ndarray:
    """The mask penalty (ISO/IEC 18004 7.8.3.1, counted as zxing-cpp counts it) of each of a stack (of any
    shape) of codes given as their rows then their columns of bits (:func:`_bit_rows`, dark 1): runs of 5 or
    more alike, 2x2 blocks alike, finder-like patterns (1011101) with 4 light modules on one side (outside the
    code is light), and the balance of dark and light. Numpy on a few hundred numbers: the calls are the cost,
    so few of them."""
    alike = ~(lines ^ (lines >> 1)) & ((1 << (size - 1)) - 1)  # bit x: modules x and x + 1 alike
    five = alike & (alike >> 1) & (alike >> 2) & (alike >> 3)  # bit x: modules x .. x + 4 alike
    padded = lines << 4  # 4 light modules before each line; bit x + 4 is module x
    light = ~(padded | (padded >> 1) | (padded >> 2) | (padded >> 3))  # bit x: 4 light modules from x
    finder = ((padded & (padded >> 2) & (padded >> 3) & (padded >> 4) & (padded >> 6))
              & ~((padded >> 1) | (padded >> 5)) & (((1 << (size - 6)) - 1) << 4) & ((light << 4) | (light >> 7)))
    blocks = np.zeros_like(lines)  # only along the rows: the first half
    blocks[..., :size - 1] = (alike[..., :size - 1] & alike[..., 1:size]
                              & ~(lines[..., :size - 1] ^ lines[..., 1:size]))
    counts = np.bitwise_count(np.stack([five, five & ~(alike << 1), blocks, finder, lines])).sum(axis=-1)
    # a run of n >= 5 alike: n - 4 fives, and 2 more where it starts (3 + (n - 5)); the dark modules: twice
    runs, starts, alike_blocks, finders, dark = counts.astype(np.int64)
    return (runs + 2 * starts + 3 * alike_blocks + 40 * finders
            + 10 * (np.abs(dark - size * size) * 10 // (size * size)))


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
    return tracking_qr_pngs([payload], version)[0]


def tracking_qr_pngs(payloads: Sequence[str], version: int | None = None) -> list[bytes]:
    """:func:`tracking_qr_png` of each payload, computed together (:func:`tracking_qr_rows_many`)."""
    pngs: list[bytes] = [b""] * len(payloads)
    for at, pixels in _pixel_stacks(payloads, version):
        count, height, stride = pixels.shape
        scanlines = np.zeros((count, height, stride + 1), dtype=np.uint8)  # each row led by its filter byte 0: none
        scanlines[:, :, 1:] = pixels
        header = _png_chunk(b"IHDR", struct.pack(">2I5B", stride * 8, height, 1, 0, 0, 0, 0))  # 1-bit grey, deflate
        for i, code in zip(at, scanlines, strict=True):
            pngs[i] = b"".join([_PNG_SIGNATURE, header, _png_chunk(b"IDAT", zlib.compress(code.tobytes(), 1)),
                                _PNG_END])
    return pngs


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_PNG_END = _png_chunk(b"IEND", b"")


def placeholder_qr_png(length: int) -> bytes:
    """The stand-in for the tracking codes of ``length``-byte payloads in a master copy: a valid code
    ("x" repeated) of the same version and pixel size.

    >>> placeholder_qr_png(48) == tracking_qr_png(48 * "x")
    True
    """
    return tracking_qr_png("x" * length)
