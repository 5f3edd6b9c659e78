"""Small real images for tests: plain ones, ones full of metadata, and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import ExifTags, Image, ImageCms

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
GPS_LATITUDE = (56.0, 57.0, 12.5)  # a child's home, say
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">where-we-live</x:xmpmeta>'
COMMENT = b"taken at home"


def encode(
    image_format: str,
    size: tuple[int, int] = (16, 8),
    *,
    mode: str = "RGB",
    color: int | tuple[int, ...] = 128,
    **save: Any,
) -> bytes:
    """A one-colour image of the given size, encoded in the format with Pillow."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, image_format, **save)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (16, 8), **save: Any) -> bytes:
    """A small real JPEG."""
    return encode("JPEG", size, color=(200, 30, 30), **save)


def png(size: tuple[int, int] = (16, 8), **save: Any) -> bytes:
    """A small real PNG."""
    return encode("PNG", size, color=(30, 200, 30), **save)


def webp(size: tuple[int, int] = (16, 8), **save: Any) -> bytes:
    """A small real WebP."""
    return encode("WEBP", size, color=(30, 30, 200), **save)


def noisy(image_format: str, size: tuple[int, int] = (32, 32)) -> bytes:
    """An image of random grey noise: most of its bytes are pixel data."""
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, image_format)
    return out.getvalue()


def revealing_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, orientation and the GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    return exif


def revealing_jpeg(size: tuple[int, int] = (16, 8), orientation: int = 1) -> bytes:
    """A JPEG carrying GPS EXIF, XMP, a comment and an ICC profile."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return jpeg(size, exif=revealing_exif(orientation), xmp=XMP, comment=COMMENT, icc_profile=icc)


def polyglot() -> bytes:
    """JPEG magic bytes that go on as an HTML page."""
    return b"\xff\xd8\xff\xe0" + HTML


def jpeg_then_html() -> bytes:
    """A complete, valid JPEG with an HTML page appended after its end."""
    return jpeg() + HTML


def truncated(image: bytes) -> bytes:
    """An image cut short: its last quarter (pixel data, for a noisy one) is missing."""
    return image[: len(image) * 3 // 4]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes of PNG that claim width x height pixels of one colour."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def heic() -> bytes:
    """The start of a HEIC file (an ISO-BMFF `ftyp` box of brand `heic`)."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
