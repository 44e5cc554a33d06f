"""Location data out of the originals we store: the EXIF GPS IFD is cut from the file's own bytes.

Only the EXIF block is rewritten (by Pillow, which keeps IFD0 with the orientation and the Exif
sub-IFD); the compressed pixels and every other segment or chunk stay byte for byte, so a JPEG is
not re-encoded. An EXIF block Pillow cannot parse is dropped whole: it may hold GPS we cannot see.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from PIL import Image

GPS_IFD = 0x8825
_EXIF_HEADER = b"Exif\x00\x00"  # starts a JPEG APP1 payload; some WEBP writers put it in the chunk too
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length: TEM, RST0-7


def without_gps(data: bytes, fmt: str) -> bytes:
    """`data` (a JPEG, PNG or WEBP file) without EXIF GPS; `data` itself when it has none or is another format."""
    rewrite: Callable[[bytes], bytes] | None = {"JPEG": _jpeg, "PNG": _png, "WEBP": _webp}.get(fmt)
    return rewrite(data) if rewrite else data


def _exif(block: bytes) -> bytes | None:
    """The EXIF block (header style kept) without its GPS IFD; b"" to drop it; None when it has no GPS."""
    header = _EXIF_HEADER if block.startswith(_EXIF_HEADER) else b""
    exif = Image.Exif()
    try:
        exif.load(block)
        if GPS_IFD not in exif:
            return None
        del exif[GPS_IFD]
        return header + exif.tobytes()[len(_EXIF_HEADER) :]
    except Exception:  # hostile EXIF: whatever Pillow raises, the block goes
        return b""


def _jpeg(data: bytes) -> bytes:
    """Rewrite each APP1 Exif segment before the first scan; an MPO also loses its other images.

    The other images of an MPO (after the first one's EOI, indexed by the APP2 "MPF" segment)
    carry EXIF of their own, and GPS with it: when GPS is cut, the file keeps its first image only,
    the one that is decoded and trained on.
    """
    parts, pos, changed, mpo = [data[:2]], 2, False, False
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            parts.append(data[pos : pos + 1])
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            parts.append(data[pos : pos + 2])
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: the compressed pixels follow
            break
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        payload = data[pos + 4 : end]
        mpo = mpo or (marker == 0xE2 and payload.startswith(b"MPF\x00"))
        block = _exif(payload) if marker == 0xE1 and payload.startswith(_EXIF_HEADER) else None
        if block is None:
            parts.append(data[pos:end])
        else:
            changed = True
            if block and len(block) <= 0xFFFF - 2:  # else too long for a segment: dropped
                parts.append(b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block)
        pos = end
    if not changed:
        return data
    rest = data[pos:]
    if mpo and (eoi := rest.find(b"\xff\xd9")) >= 0:  # FF D9 cannot occur inside the entropy-coded data
        parts = [part for part in parts if not part.startswith(b"\xff\xe2") or part[4:8] != b"MPF\x00"]
        rest = rest[: eoi + 2]
    return b"".join(parts) + rest


def _png(data: bytes) -> bytes:
    """Rewrite the eXIf chunk (with its CRC); the other chunks, pixels included, stay as they are."""
    parts, pos, changed = [data[:8]], 8, False
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        block = _exif(data[pos + 8 : pos + 8 + length]) if kind == b"eXIf" else None
        if block is None:
            parts.append(data[pos:end])
        else:
            changed = True
            if block:
                crc = struct.pack(">I", zlib.crc32(kind + block))
                parts.append(struct.pack(">I4s", len(block), kind) + block + crc)
        pos = end
    return b"".join(parts) + data[pos:] if changed else data


def _webp(data: bytes) -> bytes:
    """Rewrite the EXIF chunk of an extended WEBP and the RIFF size; the image chunks stay as they are."""
    parts, pos, changed = [], 12, False
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        end = pos + 8 + length + (length & 1)  # chunks are padded to an even size
        block = _exif(data[pos + 8 : pos + 8 + length]) if kind == b"EXIF" else None
        if block is None:
            parts.append(data[pos:end])
        else:
            changed = True
            if block:
                parts.append(struct.pack("<4sI", kind, len(block)) + block + b"\x00" * (len(block) & 1))
            elif parts and parts[0].startswith(b"VP8X"):  # the header says which chunks follow
                parts[0] = parts[0][:8] + bytes([parts[0][8] & ~0x08 & 0xFF]) + parts[0][9:]
        pos = end
    if not changed:
        return data
    body = b"WEBP" + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body
