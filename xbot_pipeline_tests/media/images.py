"""Tiny real image files for the media tests (valid PNG and GIF bytes, a few dozen bytes each)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_bytes(seed: int, size: int = 2) -> bytes:
    """A ``size`` x ``size`` RGB PNG whose colour (and so digest) depends on ``seed``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour = bytes(((seed * 37) % 256, (seed * 91) % 256, (seed * 53 + 1) % 256))
    raw = b"".join(b"\x00" + colour * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def gif_bytes(seed: int = 0) -> bytes:
    """A 1x1 GIF89a (two-colour palette chosen by ``seed``)."""
    palette = bytes((seed % 256, 0, 0, 255, 255, 255))
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
        + palette
        + b"!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def write_png(folder: Path, seed: int, size: int = 2) -> Path:
    path = folder / f"image-{seed}.png"
    path.write_bytes(png_bytes(seed, size))
    return path


def write_gif(folder: Path, seed: int = 0) -> Path:
    path = folder / f"anim-{seed}.gif"
    path.write_bytes(gif_bytes(seed))
    return path
