"""Photo uploads: decoded to be accepted, stored re-encoded without metadata, served safely."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from shared_kit.downloads import content_disposition, download_headers
from shared_kit.problems import PayloadTooLarge
from shared_kit.testing import images
from shared_kit.uploads import (
    EXTENSIONS,
    InvalidPhoto,
    PhotoDimensionsTooLarge,
    UnreadablePhoto,
    Upload,
    clean,
    clean_all,
    photo_filename,
)

LIMIT = 1024 * 1024
METADATA = {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"}


def upload(content: bytes, declared: str | None = None, name: str = "x") -> Upload:
    return Upload(name, declared, content)


def decoded(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


class TestAccepted:
    @pytest.mark.parametrize(
        ("content", "media_type", "image_format"),
        [
            (images.jpeg(), "image/jpeg", "JPEG"),
            (images.png(), "image/png", "PNG"),
            (images.webp(), "image/webp", "WEBP"),
        ],
    )
    def test_each_accepted_format_is_stored_in_its_own(
        self, content: bytes, media_type: str, image_format: str
    ) -> None:
        photo = clean(upload(content, media_type, "a.bin"), max_bytes=LIMIT)
        assert photo.media_type == media_type and photo.filename == "a" + EXTENSIONS[media_type]
        assert decoded(photo.content).format == image_format
        assert decoded(photo.content).size == (16, 8)
        assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
        assert photo.size == len(photo.content)

    def test_a_neutral_declared_type_is_fine(self) -> None:
        for declared in (None, "", "application/octet-stream"):
            assert clean(upload(images.png(), declared), max_bytes=LIMIT).media_type == "image/png"

    def test_png_transparency_is_kept(self) -> None:
        content = images.encode("PNG", mode="P", color=0, transparency=0)
        stored = decoded(clean(upload(content), max_bytes=LIMIT).content)
        assert stored.mode == "RGBA" and stored.getpixel((0, 0)) == (0, 0, 0, 0)

    async def test_clean_all_keeps_the_order(self) -> None:
        photos = await clean_all([upload(images.png()), upload(images.jpeg())], max_bytes=LIMIT)
        assert [p.media_type for p in photos] == ["image/png", "image/jpeg"]


class TestMetadataIsStripped:
    def test_a_jpeg_with_gps_exif_comes_back_without_any_metadata(self) -> None:
        original = images.revealing_jpeg()
        assert decoded(original).getexif().get_ifd(0x8825)  # the GPS position is there
        photo = clean(upload(original, "image/jpeg"), max_bytes=LIMIT)
        stored = decoded(photo.content)
        assert not stored.getexif()
        assert not METADATA & set(stored.info)
        for leak in (b"Exif", images.XMP, images.COMMENT, b"Phone"):
            assert leak not in photo.content

    def test_the_exif_orientation_is_applied_before_it_goes(self) -> None:
        photo = clean(upload(images.revealing_jpeg((16, 8), orientation=6)), max_bytes=LIMIT)
        assert decoded(photo.content).size == (8, 16)

    def test_png_and_webp_metadata_goes_too(self) -> None:
        exif = images.revealing_exif()
        for content in (images.png(exif=exif), images.webp(exif=exif)):
            stored = decoded(clean(upload(content), max_bytes=LIMIT).content)
            assert not stored.getexif() and not METADATA & set(stored.info)

    def test_what_follows_the_image_is_dropped(self) -> None:
        photo = clean(upload(images.jpeg_then_html(), "image/jpeg"), max_bytes=LIMIT)
        assert b"<html" not in photo.content and decoded(photo.content).format == "JPEG"


class TestRefused:
    def test_jpeg_magic_bytes_that_go_on_as_html_are_not_a_photo(self) -> None:
        with pytest.raises(InvalidPhoto):
            clean(upload(images.polyglot(), "image/jpeg"), max_bytes=LIMIT)

    @pytest.mark.parametrize(
        "content",
        [b"", b"GIF89a" + images.png(), b"%PDF-1.7", images.HTML, images.encode("GIF")],
    )
    def test_anything_but_the_accepted_formats(self, content: bytes) -> None:
        with pytest.raises(InvalidPhoto, match="JPEG, PNG or WebP"):
            clean(upload(content), max_bytes=LIMIT)

    def test_heic_is_refused_naming_the_accepted_types(self) -> None:
        with pytest.raises(InvalidPhoto, match=r"HEIC/HEIF.*JPEG, PNG or WebP"):
            clean(upload(images.heic(), "image/heic"), max_bytes=LIMIT)

    def test_a_declared_type_must_agree(self) -> None:
        with pytest.raises(InvalidPhoto, match="image/jpeg but was sent as image/png"):
            clean(upload(images.jpeg(), "image/png"), max_bytes=LIMIT)

    @pytest.mark.parametrize("content", [images.noisy("JPEG"), images.noisy("PNG")])
    def test_a_truncated_image_is_unreadable(self, content: bytes) -> None:
        with pytest.raises(UnreadablePhoto):
            clean(upload(images.truncated(content)), max_bytes=LIMIT)

    def test_a_decompression_bomb(self) -> None:
        bomb = images.png_bomb()
        assert len(bomb) < 2000
        with pytest.raises(PhotoDimensionsTooLarge):
            clean(upload(bomb, "image/png"), max_bytes=LIMIT)

    def test_more_pixels_than_allowed(self) -> None:
        with pytest.raises(PhotoDimensionsTooLarge, match="16x8"):
            clean(upload(images.png()), max_bytes=LIMIT, max_pixels=100)
        with pytest.raises(PhotoDimensionsTooLarge):
            clean(upload(images.png()), max_bytes=LIMIT, max_side=10)
        bomb = images.png_bomb(20_000, 4_000)  # below Pillow's own limit, above ours
        with pytest.raises(PhotoDimensionsTooLarge):
            clean(upload(bomb), max_bytes=LIMIT)

    def test_too_many_bytes(self) -> None:
        with pytest.raises(PayloadTooLarge):
            clean(upload(images.png()), max_bytes=10)


class TestNames:
    @pytest.mark.parametrize(
        ("name", "media_type", "expected"),
        [
            ("side.JPG", "image/jpeg", "side.jpg"),
            ("../../etc/passwd", "image/png", "passwd.png"),
            ("C:\\Users\\x\\ekrāns.html", "image/jpeg", "ekrāns.jpg"),
            ('a"b;\r\nc.png', "image/png", "a_b___c.png"),
            (None, "image/webp", "photo.webp"),
            ("...", "image/jpeg", "photo.jpg"),
        ],
    )
    def test_stored_name(self, name: str | None, media_type: str, expected: str) -> None:
        assert photo_filename(name, media_type) == expected

    def test_download_headers(self) -> None:
        headers = download_headers('ekrāns "1"\r\n.pdf')
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Disposition"] == (
            "attachment; filename=\"ekrans _1_.pdf\"; filename*=UTF-8''ekr%C4%81ns%20%221%22%0D%0A.pdf"
        )
        assert content_disposition("a.png", inline=True).startswith('inline; filename="a.png"')
