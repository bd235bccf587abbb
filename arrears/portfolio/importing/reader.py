"""Streaming row readers for creditor files (CSV in UTF-8/UTF-8-BOM/GB18030, or XLSX).

A reader yields ``(row_number, cells)`` where ``row_number`` is what Excel shows (the
header is row 1). Nothing holds the whole file in memory. Problems that make the whole file
unreadable raise ``FileProblem``; the caller loads nothing then.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt", ""}


class FileProblem(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class OpenedFile:
    file_format: str  # "csv" | "xlsx"
    encoding: str
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for closer in self._closers:
            closer.close()


def open_file(path: Path, *, original_name: str) -> OpenedFile:
    """Open a stored upload; detect its format and encoding; read its header row."""
    if not path.is_file():
        raise FileProblem("missing_file")
    if path.stat().st_size == 0:
        raise FileProblem("empty_file")
    with path.open("rb") as probe:
        magic = probe.read(4)
    suffix = Path(original_name).suffix.lower()
    if magic.startswith(b"PK\x03\x04") or suffix in XLSX_SUFFIXES:
        return _open_xlsx(path)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls format
        raise FileProblem("unsupported_format", suffix=suffix or ".xls")
    if suffix not in CSV_SUFFIXES:
        raise FileProblem("unsupported_format", suffix=suffix)
    return _open_csv(path)


# --- CSV ---------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, decided over the *whole* file.

    UTF-8 is tried first: GBK bytes are almost never valid UTF-8, while UTF-8 Chinese text is
    often valid GB18030, so the other order would silently misread UTF-8 files. A file that
    has already shown several UTF-8 Chinese characters before a bad byte is a damaged UTF-8
    file, not a GBK one: it is refused with the line, never re-read as GB18030. A file that is
    neither is refused, naming charset-normalizer's best guess. NUL bytes are refused too.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem("undecodable", guess="UTF-16")
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        failure = _first_undecodable_line(path, encoding)
        if failure is None:
            return encoding
        kind, line, utf8_chars_before = failure
        if kind == "nul":
            raise FileProblem("nul_byte", row=line)
        if encoding != "gb18030" and (len(candidates) == 1 or utf8_chars_before >= UTF8_EVIDENCE):
            raise FileProblem("bad_encoding_at", row=line, encoding="UTF-8")
    raise FileProblem("undecodable", guess=_guess_encoding(path))


# This many non-ASCII characters decoded as UTF-8 before a bad byte settle that a file is UTF-8.
UTF8_EVIDENCE = 4


def _first_undecodable_line(path: Path, encoding: str) -> tuple[str, int, int] | None:
    """None if the file decodes strictly; else ("nul"|"bytes", line number, non-ASCII chars seen)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines_before = 0
    non_ascii = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                return ("nul", lines_before + chunk.count(b"\n", 0, nul) + 1, non_ascii)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                good = chunk[: max(exc.start, 0)]
                non_ascii += sum(1 for char in good.decode(encoding, errors="ignore") if ord(char) > 0x7F)
                return ("bytes", lines_before + chunk.count(b"\n", 0, max(exc.start, 0)) + 1, non_ascii)
            if non_ascii < UTF8_EVIDENCE and not text.isascii():
                non_ascii += sum(1 for char in text if ord(char) > 0x7F)
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return ("bytes", lines_before + 1, non_ascii)
    return None


def _guess_encoding(path: Path) -> str:
    from charset_normalizer import from_bytes

    with path.open("rb") as handle:
        sample = handle.read(64 * 1024)
    best = from_bytes(sample).best()
    return best.encoding if best is not None else "unknown"


def _sniff_delimiter(first_line: str) -> str:
    # Some bank exports use tabs or semicolons; commas win ties because they are the format.
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] > 0 else ","


def _open_csv(path: Path) -> OpenedFile:
    encoding = detect_encoding(path)
    text = open(path, encoding=encoding, errors="strict", newline="")  # noqa: SIM115 - closed by OpenedFile
    first_line = text.readline()
    text.seek(0)
    reader = csv.reader(text, delimiter=_sniff_delimiter(first_line))
    try:
        header = next(reader)
    except StopIteration:
        text.close()
        raise FileProblem("empty_file") from None
    except csv.Error as exc:
        text.close()
        raise FileProblem("bad_csv", row=1, detail=str(exc)) from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        row_number = 1
        try:
            for cells in reader:
                row_number += 1
                if not any(cell.strip() for cell in cells):
                    continue
                yield row_number, cells
        except csv.Error as exc:
            raise FileProblem("bad_csv", row=row_number + 1, detail=str(exc)) from None

    label = {"utf-8-sig": "UTF-8-BOM", "utf-8": "UTF-8", "gb18030": "GB18030"}[encoding]
    return OpenedFile(file_format="csv", encoding=label, header=header, rows=rows(), _closers=[text])


# --- XLSX --------------------------------------------------------------------------------


def _open_xlsx(path: Path) -> OpenedFile:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        header = list(next(iterator, ()) or ())
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, IndexError, ValueError) as exc:
        raise FileProblem("bad_xlsx", detail=type(exc).__name__) from None
    if not any(cell not in (None, "") for cell in header):
        workbook.close()
        raise FileProblem("empty_file")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        # Excel rows: the header is 1; iter_rows yields blank rows too, so numbering stays true.
        for row_number, cells in enumerate(iterator, start=2):
            values = list(cells)
            if not any(value not in (None, "") and str(value).strip() for value in values):
                continue
            yield row_number, values

    return OpenedFile(file_format="xlsx", encoding="", header=header, rows=rows(), _closers=[workbook])
