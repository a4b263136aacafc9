"""A zip archive (a .docx) written again with some members' bytes replaced, the others copied as they are.

A .docx of ~30 members whose text changes in one or two of them need not be compressed again whole: the
archive is parsed once (:class:`ZipSplice`), and each new archive is its bytes with the replaced members'
local headers, data and central records rewritten (offsets moved), everything else copied still
compressed. A replaced member keeps its compression method; deflated at zipfile's level (zlib's default,
6), the result is byte for byte what ``zipfile`` writes for the same members in the same order.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_CDH = struct.Struct("<4s6H3L5H2L")  # central directory header
_LFH = struct.Struct("<4s5H3L2H")  # local file header
DEFLATE_LEVEL = zlib.Z_DEFAULT_COMPRESSION  # what zipfile uses for ZIP_DEFLATED without compresslevel


class ZipSpliceError(ValueError):
    """Not a zip archive this module can splice (unreadable, multi-disk, ZIP64), or no such member."""


@dataclass
class _Entry:
    name: str
    offset: int  # of the local header
    block: bytes  # local header + data (+ data descriptor), as in the archive
    central: bytes  # central directory record, as in the archive
    compress_type: int


class ZipSplice:
    """A zip archive parsed once; :meth:`with_members` gives it with members' bytes replaced."""

    def __init__(self, archive: bytes) -> None:
        self.archive = archive
        eocd_at = archive.rfind(b"PK\x05\x06")
        if eocd_at < 0:
            raise ZipSpliceError("not a zip archive (no end of central directory)")
        _sig, disk, cd_disk, n_disk, n_total, _size, cd_offset, _comment = _EOCD.unpack_from(archive, eocd_at)
        if disk or cd_disk or n_disk != n_total or cd_offset == 0xFFFFFFFF or n_total == 0xFFFF:
            raise ZipSpliceError("a multi-disk or ZIP64 archive")
        self.eocd = archive[eocd_at:]
        entries: list[_Entry] = []
        at = cd_offset
        for _ in range(n_total):
            fields = _CDH.unpack_from(archive, at)
            name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
            name = archive[at + 46:at + 46 + name_len].decode("utf-8" if fields[3] & 0x800 else "cp437")
            end = at + 46 + name_len + extra_len + comment_len
            entries.append(_Entry(name, fields[16], b"", archive[at:end], fields[4]))
            at = end
        entries.sort(key=lambda e: e.offset)
        ends = [e.offset for e in entries[1:]] + [cd_offset]
        for entry, end in zip(entries, ends, strict=True):
            entry.block = archive[entry.offset:end]
        self.entries = entries
        self.names = {e.name for e in entries}
        self.prefix = archive[:entries[0].offset] if entries else b""

    def read(self, name: str) -> bytes:
        """A member's bytes, uncompressed."""
        with zipfile.ZipFile(io.BytesIO(self.archive)) as z:
            return z.read(name)

    @staticmethod
    def _member(entry: _Entry, data: bytes) -> tuple[bytes, bytes]:
        """The new local block and central record of a replaced member."""
        if entry.compress_type == zipfile.ZIP_STORED:
            packed = data
        elif entry.compress_type == zipfile.ZIP_DEFLATED:
            compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
            packed = compressor.compress(data) + compressor.flush()
        else:
            raise ZipSpliceError(f"{entry.name}: compression method {entry.compress_type} is not spliced")
        crc = zlib.crc32(data)
        local = list(_LFH.unpack_from(entry.block, 0))
        name_extra = entry.block[30:30 + local[9] + local[10]]
        local[2] &= ~0x08  # sizes in the header, no data descriptor
        local[6], local[7], local[8] = crc, len(packed), len(data)
        central = bytearray(entry.central)
        flags, = struct.unpack_from("<H", central, 8)
        struct.pack_into("<H", central, 8, flags & ~0x08)
        struct.pack_into("<3L", central, 16, crc, len(packed), len(data))
        return _LFH.pack(*local) + name_extra + packed, bytes(central)

    def with_members(self, replaced: Mapping[str, bytes], added: Mapping[str, bytes] | None = None) -> bytes:
        """The archive with each member named in ``replaced`` holding those bytes instead, and the members of
        ``added`` after its own (deflated)."""
        if unknown := set(replaced) - self.names:
            raise ZipSpliceError(f"no member {sorted(unknown)} in the archive")
        if twice := set(added or ()) & self.names:
            raise ZipSpliceError(f"members {sorted(twice)} are in the archive already")
        parts = [self.prefix]
        centrals = []
        offset = len(self.prefix)
        for entry in self.entries:
            if entry.name in replaced:
                block, central = self._member(entry, replaced[entry.name])
            else:
                block, central = entry.block, entry.central
            if offset != entry.offset:
                central = bytearray(central)
                struct.pack_into("<L", central, 42, offset)
            parts.append(block)
            centrals.append(bytes(central))
            offset += len(block)
        for name, data in (added or {}).items():
            block, central = _new_member(name, data, offset)
            parts.append(block)
            centrals.append(central)
            offset += len(block)
        directory = b"".join(centrals)
        eocd = bytearray(self.eocd)
        struct.pack_into("<2H2L", eocd, 8, len(centrals), len(centrals), len(directory), offset)
        return b"".join(parts) + directory + bytes(eocd)


def _new_member(name: str, data: bytes, offset: int) -> tuple[bytes, bytes]:
    """The local block and central record of a member written as ``zipfile`` would (deflated, fixed time)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    raw = archive.getvalue()
    eocd_at = raw.rfind(b"PK\x05\x06")
    cd_offset = _EOCD.unpack_from(raw, eocd_at)[6]
    central = bytearray(raw[cd_offset:eocd_at])
    struct.pack_into("<L", central, 42, offset)
    return raw[:cd_offset], bytes(central)


__all__ = ["ZipSplice", "ZipSpliceError"]
