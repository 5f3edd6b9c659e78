"""Reading an uploaded CSV file: its text and records, or a 422 naming the line at fault."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inventory_service.exceptions import InvalidImport

CELL_LIMIT = csv.field_size_limit()  # the csv module's limit on one cell: 131,072 characters
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_NEWLINE = re.compile(r"\r\n?|\n")  # what `newline=""` splits lines at, as the csv module does
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)("?)')  # unrolled: linear on a 20 MB cell
_PLAIN = re.compile(r"[^,\r\n]*")

OPEN_QUOTE = 'a quoted cell is not closed (a closing " is missing)'
AFTER_QUOTE = 'text follows a closing quote (a " inside a quoted cell is written "")'
TOO_LONG = f"a cell is longer than {CELL_LIMIT:,} characters (is a quote left open?)"


@dataclass(frozen=True)
class Record:
    """The cells of one CSV record and the line it starts on (the header is line 1)."""

    line: int
    cells: list[str]


def read_records(content: bytes) -> Iterator[Record]:
    """The file's records, blank lines skipped; the first is the header."""
    text = decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise malformed(text, line, header, str(exc)) from exc
        if cells:
            header = header or cells
            yield Record(line, cells)


def decode(content: bytes) -> str:
    """The file as text: UTF-8 (a byte order mark is allowed) without NUL characters."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidImport("The file is UTF-16 text; save it as CSV UTF-8")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = content[: exc.start].decode("utf-8-sig")
        line = line_at(before, len(before))
        raise InvalidImport(
            f"Line {line} is not UTF-8 text (byte 0x{content[exc.start]:02x}); "
            "save the file as CSV UTF-8",
            line=line,
        ) from exc
    if (nul := text.find("\x00")) >= 0:
        line = line_at(text, nul)
        raise InvalidImport(
            f"Line {line} contains a NUL character; a CSV file is text (is it UTF-16?)",
            line=line,
        )
    return text


def line_at(text: str, position: int) -> int:
    """The line number of a position in the text."""
    return sum(1 for _ in _NEWLINE.finditer(text, 0, position)) + 1


def malformed(text: str, line: int, header: list[str], error: str) -> InvalidImport:
    """The rejection of a record the csv module cannot read, naming its line and cell."""
    fault = cell_at_fault(text, start_of_line(text, line))
    if fault is None:
        return InvalidImport(f"Line {line} cannot be read as CSV: {error}", line=line)
    column, reason = fault
    name = header[column].strip() if column < len(header) else str(column + 1)
    return InvalidImport(f"Line {line}, column {name}: {reason}", line=line, column=name)


def start_of_line(text: str, line: int) -> int:
    """Where line number `line` starts in the text."""
    for number, newline in enumerate(_NEWLINE.finditer(text), 2):
        if number == line:
            return newline.end()
    return 0


def cell_at_fault(text: str, position: int) -> tuple[int, str] | None:
    """(index, reason) of the first cell the csv module refuses in the record at `position`."""
    column = 0
    while position < len(text):
        if text[position] == '"':
            quoted = _QUOTED.match(text, position)
            assert quoted is not None
            if not quoted.group(2):
                return column, OPEN_QUOTE
            length = len(quoted.group(1)) - quoted.group(1).count('""')
            position = quoted.end()
            if position < len(text) and text[position] not in ",\r\n":
                return column, AFTER_QUOTE
        else:
            plain = _PLAIN.match(text, position)
            assert plain is not None
            length, position = len(plain.group()), plain.end()
        if length > CELL_LIMIT:
            return column, TOO_LONG
        if position >= len(text) or text[position] != ",":
            return None
        position, column = position + 1, column + 1
    return None


def separator_hint(header: list[str]) -> dict[str, Any]:
    """`separator`, when a one-cell header is split by something other than commas."""
    if len(header) != 1:
        return {}
    for separator, name in SEPARATORS.items():
        if separator in header[0]:
            return {"separator": separator, "separator_name": name}
    return {}
