"""Images and GIFs a post carries: what X accepts (type by content, size, count, alt text) and the
content-addressed copy under the media folder.

The type is read from the file's first bytes (PNG, JPEG, WebP, GIF), never trusted from its name, so a
renamed text file is refused at enqueue, not by X an hour later. Every check raises ``MediaError`` with
one sentence.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X: images up to 5 MB
MAX_GIF_BYTES = 15 * 1024 * 1024  # X: animated GIFs up to 15 MB
MAX_IMAGES = 4  # per post (per thread part)
MAX_GIFS = 1  # and a GIF goes alone
MAX_ALT_CHARS = 1000
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class MediaError(ValueError):
    """The file cannot go out with a post; the message says why in one line."""


@dataclass(frozen=True)
class MediaFile:
    """One checked file: its bytes' digest, type and size (the bytes themselves stay on disk)."""

    sha256: str
    mime: str
    size: int
    data: bytes

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.mime]

    @property
    def is_gif(self) -> bool:
        return self.mime == "image/gif"


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes show, or None when they are not an image X takes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def max_bytes(mime: str) -> int:
    return MAX_GIF_BYTES if mime == "image/gif" else MAX_IMAGE_BYTES


def read_media(path: Path | str, label: str = "media") -> MediaFile:
    """Read and check one file (bounded read: never more than the largest allowed size + 1 byte)."""
    p = Path(path)
    shown = str(path)[:200]
    try:
        if not p.is_file():
            raise MediaError(f"{label} {shown!r} is not a file")
        with p.open("rb") as fh:
            data = fh.read(MAX_GIF_BYTES + 1)
    except OSError as exc:
        raise MediaError(f"{label} {shown!r} cannot be read: {exc.strerror or exc}") from None
    if not data:
        raise MediaError(f"{label} {shown!r} is empty")
    mime = sniff(data[:16])
    if mime is None:
        raise MediaError(f"{label} {shown!r} is not a PNG, JPEG, WebP or GIF image (checked by its content)")
    limit = max_bytes(mime)
    if len(data) > limit:
        size = f"more than {MAX_GIF_BYTES:,}" if len(data) > MAX_GIF_BYTES else f"{len(data):,}"
        raise MediaError(
            f"{label} {shown!r} is {size} bytes; X takes {'GIFs' if mime == 'image/gif' else 'images'} "
            f"up to {limit // 1048576} MB ({limit:,} bytes)"
        )
    return MediaFile(hashlib.sha256(data).hexdigest(), mime, len(data), data)


def check_alt(alt: str | None, label: str) -> str | None:
    """Alt text X accepts (NFC is left to the caller): at most 1,000 characters, no control characters."""
    if alt is None:
        return None
    if not isinstance(alt, str):
        raise MediaError(f"alt text of {label} must be text")
    if len(alt) > MAX_ALT_CHARS:
        raise MediaError(f"alt text of {label} is {len(alt)} characters; X allows {MAX_ALT_CHARS}")
    if any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in alt):
        raise MediaError(f"alt text of {label} contains a control character")
    return alt.strip() or None


def check_set(files: list[MediaFile], label: str) -> None:
    """Up to 4 images, or 1 GIF alone, per post."""
    gifs = sum(1 for f in files if f.is_gif)
    if gifs and len(files) > 1:
        raise MediaError(f"{label} has a GIF and {len(files) - 1} more file(s); a GIF goes alone")
    if len(files) > MAX_IMAGES:
        raise MediaError(f"{label} has {len(files)} images; X allows {MAX_IMAGES} per post")


def store_file(folder: Path, media: MediaFile) -> tuple[Path, bool]:
    """Write ``media`` to ``folder/<sha256>.<ext>`` atomically (once: same bytes, same file); returns the
    path and whether this call created it (so a refused enqueue can take its new files back)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{media.sha256}.{media.ext}"
    if target.is_file() and target.stat().st_size == media.size:
        return target, False
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(media.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, True
