"""Image type from content, never from the file name or the client's Content-Type.

Magic numbers as listed by the formats' specifications (PNG 1.2 §3.1, JFIF SOI marker,
GIF87a/89a, RIFF/WEBP). A hand-written table because the candidates (python-magic needs
libmagic in the image; `imghdr` left the standard library in 3.13) cost more than these
ten lines.
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 12


@dataclass(frozen=True)
class ImageType:
    content_type: str
    extension: str


PNG = ImageType("image/png", "png")
JPEG = ImageType("image/jpeg", "jpg")
GIF = ImageType("image/gif", "gif")
WEBP = ImageType("image/webp", "webp")
ACCEPTED = (PNG, JPEG, GIF, WEBP)


def sniff_image(head: bytes) -> ImageType | None:
    """The image type of a file whose first `SNIFF_BYTES` bytes are `head`, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= SNIFF_BYTES and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    return None
