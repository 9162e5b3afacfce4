"""Just enough of a PNG reader (stdlib zlib) to check a screenshot: size and pixel colours.

Reads 8-bit truecolour images without interlacing, which is what Chromium
writes; anything else is refused loudly rather than misread.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel: RGB, RGBA


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]  # unfiltered scanlines

    def colours(self, step: int = 1) -> Counter[bytes]:
        """How often each colour occurs, looking at every `step`-th pixel of every row."""
        found: Counter[bytes] = Counter()
        size = self.channels
        for row in self.rows:
            found.update(row[x : x + 3] for x in range(0, len(row), size * step))
        return found


def read_png(data: bytes) -> Image:
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG: bad signature")
    position, header, compressed = len(SIGNATURE), None, bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"not a PNG: chunk {kind!r} fails its CRC")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
        position += 12 + length
    if header is None:
        raise ValueError("not a PNG: no IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour {colour}, interlace {interlace}")
    channels = _CHANNELS[colour]
    raw = zlib.decompress(bytes(compressed))
    return Image(width, height, channels, _unfilter(raw, width, height, channels))


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise ValueError("not a PNG: image data has the wrong length")
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:  # Average
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + previous[x]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                corner = previous[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + _paeth(left, previous[x], corner)) & 0xFF
        elif kind != 0:
            raise ValueError(f"not a PNG: filter {kind} on row {y}")
        rows.append(bytes(line))
        previous = rows[-1]
    return rows


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
