"""Photo uploads: accepted only when they decode as an image, stored re-encoded and clean.

- Accepted: JPEG, PNG and WebP, recognised by decoding them with Pillow (only those three
  decoders are tried), never by their first bytes; a declared type, if any, must agree.
  HEIC/HEIF is refused with the accepted types named: Pillow reads it only through a plug-in
  with native libraries, which we do not ship.
- Refused: more than `max_bytes` (413 `payload-too-large`); anything else than those images
  (415 `invalid-photo`); an image that does not decode to its end, e.g. a truncated one
  (422 `unreadable-photo`); more than `MAX_PIXELS` pixels or `MAX_SIDE` on a side, as a
  decompression bomb has (422 `photo-dimensions-too-large`). Callers check every photo of a
  request before they store one, so a refusal leaves nothing half-written.
- Stored: the decoded pixels, turned upright by the EXIF orientation and into sRGB by their
  ICC profile, re-encoded in the same format with no metadata at all (no EXIF, so no GPS
  position of a child's home; no XMP, ICC profile or comments) and nothing of what followed
  the image in the file; the sha256 and size are those of the stored bytes. An animated image
  keeps its first frame.
- Served: with the stored type, `nosniff` and an inline `Content-Disposition` whose name has
  the extension of that type (`photo_response`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Response
from PIL import Image, ImageCms, ImageOps
from starlette.datastructures import UploadFile

from shared_kit.downloads import file_response
from shared_kit.problems import PayloadTooLarge, Unprocessable, UnsupportedMediaType

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
ACCEPTED = "JPEG, PNG or WebP"
NEUTRAL_TYPES = ("", "application/octet-stream")
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo fits; decoded, it takes about 150 MB
MAX_SIDE = 12_000
# Pixel modes each encoder is given as they are; any other mode is converted to RGB(A).
MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA")}
SAVE: dict[str, dict[str, object]] = {"JPEG": {"quality": 90}, "PNG": {}, "WEBP": {"quality": 90}}
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")
UNSAFE_IN_NAMES = frozenset('/\\"*:<>?|;')
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class InvalidPhoto(UnsupportedMediaType):
    type, title = "invalid-photo", f"Photos must be {ACCEPTED}"


class UnreadablePhoto(Unprocessable):
    type, title = "unreadable-photo", "The photo cannot be decoded"


class PhotoDimensionsTooLarge(Unprocessable):
    type, title = "photo-dimensions-too-large", "The photo has too many pixels"


class TooManyPhotos(Unprocessable):
    type, title = "too-many-photos", "Too many photos"


@dataclass(frozen=True)
class Upload:
    """An uploaded file as received (its content cut at one byte past the limit)."""

    filename: str | None
    declared_type: str | None
    content: bytes


@dataclass(frozen=True)
class Photo:
    """A photo as it is stored: re-encoded without metadata, under a safe name."""

    filename: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the stored bytes."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        """Size of the stored bytes."""
        return len(self.content)


# Starlette's UploadFile (FastAPI's subclasses it): a form read with `request.form()` holds those.
async def receive(files: Sequence[UploadFile], max_bytes: int) -> list[Upload]:
    """The uploaded files, each read up to one byte past `max_bytes` (enough to refuse it)."""
    return [Upload(f.filename, f.content_type, await f.read(max_bytes + 1)) for f in files]


async def clean_all(uploads: Sequence[Upload], *, max_bytes: int) -> list[Photo]:
    """Every upload checked and cleaned, off the event loop; the first bad one raises."""
    return [await asyncio.to_thread(clean, u, max_bytes=max_bytes) for u in uploads]


def clean(
    upload: Upload, *, max_bytes: int, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE
) -> Photo:
    """The photo to store for an upload; a problem (413, 415, 422) when it cannot be one."""
    if len(upload.content) > max_bytes:
        raise PayloadTooLarge(f"A photo may have at most {max_bytes} bytes", max_bytes=max_bytes)
    image = _open(upload, max_pixels)
    assert image.format is not None  # opened by one of the FORMATS' decoders
    media_type = FORMATS[image.format]
    declared = (upload.declared_type or "").split(";")[0].strip().lower()
    if declared not in (media_type, *NEUTRAL_TYPES):
        raise InvalidPhoto(f"{_name(upload)} is {media_type} but was sent as {declared}")
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise PhotoDimensionsTooLarge(
            f"{_name(upload)} has {width}x{height} pixels; a photo may have at most "
            f"{max_pixels} pixels and {max_side} on a side",
            max_pixels=max_pixels,
            max_side=max_side,
        )
    content = _reencode(image, upload)
    return Photo(photo_filename(upload.filename, media_type), media_type, content)


def photo_filename(name: str | None, media_type: str) -> str:
    """The uploaded name without folders or characters that break headers, with the extension
    of the photo's type."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = "".join(c if c.isprintable() and c not in UNSAFE_IN_NAMES else "_" for c in stem)
    return (stem.strip(" ._")[:200].strip(" ._") or "photo") + EXTENSIONS.get(media_type, "")


def photo_response(
    *, content: bytes, media_type: str, filename: str | None, headers: dict[str, str]
) -> Response:
    """A stored photo, inline, with its stored type, `nosniff` and a safe filename."""
    name = photo_filename(filename, media_type)
    return file_response(
        content, media_type=media_type, filename=name, inline=True, headers=headers
    )


def _name(upload: Upload) -> str:
    return upload.filename or "The photo"


def _open(upload: Upload, max_pixels: int) -> Image.Image:
    try:
        return Image.open(io.BytesIO(upload.content), formats=list(FORMATS))
    except Image.DecompressionBombError as exc:
        raise PhotoDimensionsTooLarge(
            f"{_name(upload)} has far more than {max_pixels} pixels", max_pixels=max_pixels
        ) from exc
    except Exception as exc:  # whatever a decoder raises on garbage, the answer is the same
        raise InvalidPhoto(_not_accepted(upload)) from exc


def _not_accepted(upload: Upload) -> str:
    if upload.content[4:8] == b"ftyp" and upload.content[8:12] in HEIF_BRANDS:
        return f"{_name(upload)} is HEIC/HEIF, which is not accepted: send {ACCEPTED}"
    return f"{_name(upload)} is not a {ACCEPTED} image"


def _reencode(image: Image.Image, upload: Upload) -> bytes:
    image_format = image.format
    assert image_format is not None
    icc = image.info.get("icc_profile")
    try:
        image.load()
        pixels = _in_srgb(_plain(ImageOps.exif_transpose(image), image_format), icc)
    except Exception as exc:  # truncated, corrupt, or a bomb hidden in a chunk
        raise UnreadablePhoto(f"{_name(upload)} cannot be decoded (cut short or corrupt)") from exc
    pixels.info = {}  # encoders fall back to `info`: nothing of the upload's metadata stays
    out = io.BytesIO()
    pixels.save(out, image_format, **SAVE[image_format])
    return out.getvalue()


def _plain(image: Image.Image, image_format: str) -> Image.Image:
    """The image in a pixel mode its encoder takes as it is (transparency kept but in JPEG)."""
    if image.mode in MODES[image_format] and "transparency" not in image.info:
        return image
    alpha = image.has_transparency_data and image_format != "JPEG"
    return image.convert("RGBA" if alpha else "RGB")


def _in_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """The colours converted from the upload's ICC profile to sRGB, since the profile goes."""
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, profile, SRGB) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are
