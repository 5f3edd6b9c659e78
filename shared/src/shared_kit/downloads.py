"""File downloads: headers that make a browser take a stored file for what it is, and no more.

Every file we serve carries `X-Content-Type-Options: nosniff`, so a browser never guesses
another type from the bytes (an "image" that looks like HTML stays an image), and a
`Content-Disposition` whose filename cannot break the header: an ASCII `filename` and the
exact name as `filename*` (RFC 6266, RFC 8187).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi import Response

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ -]+")


def ascii_filename(name: str, default: str = "download") -> str:
    """The name in plain ASCII letters, digits, dots, dashes and underscores."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_PLAIN.sub("_", folded).strip(" ._")[:150] or default


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment` (or `inline`) with the filename in both its ASCII and its exact form."""
    kind = "inline" if inline else "attachment"
    exact = quote(filename, safe="")
    return f"{kind}; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{exact}"


def download_headers(filename: str, *, inline: bool = False) -> dict[str, str]:
    """`Content-Disposition` and `nosniff` for a file answer."""
    return {"Content-Disposition": content_disposition(filename, inline=inline), **NOSNIFF}


def file_response(
    content: bytes,
    *,
    media_type: str,
    filename: str,
    inline: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """A stored file, served with its stored type, `nosniff` and `Content-Disposition`."""
    all_headers = {**(headers or {}), **download_headers(filename, inline=inline)}
    return Response(content, media_type=media_type, headers=all_headers)
