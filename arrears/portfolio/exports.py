"""Downloadable error reports of an import batch: every rejected row, streamed.

A million-row file can have a million row errors, so neither format holds them in memory:
the CSV is generated row by row into the response, and the XLSX is written by xlsxwriter in
constant-memory mode into a temporary file that the response then streams.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from arrears.portfolio.importing.messages import render_message
from arrears.portfolio.models import ImportBatch
from arrears.portfolio.selectors import import_row_errors

# Excel's last row is 1,048,576; the header takes one.
XLSX_MAX_ERROR_ROWS = 1_048_575 - 1
_ITERATOR_CHUNK = 2000
_NUMBER = re.compile(r"^[+-]?\d[\d,]*(\.\d+)?$")


def spreadsheet_safe(value: Any) -> str:
    """A cell a spreadsheet shows as text and never runs as a formula (CSV injection).

    Values from creditors' files are untrusted: text starting with = + - @ or a control
    character gets a leading apostrophe; plain numbers such as "-100.00" are left alone.
    """
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _NUMBER.match(text):
        return "'" + text
    return text


def _headers() -> list[str]:
    return [_("行号"), _("列"), _("值"), _("原因")]


def _error_rows(batch: ImportBatch) -> Iterator[list[Any]]:
    for error in import_row_errors(batch=batch).iterator(chunk_size=_ITERATOR_CHUNK):
        yield [error.row_number, error.column, error.value, render_message(error.code, error.params)]


def _filename(batch: ImportBatch, suffix: str) -> str:
    return f"import-{batch.pk}-errors.{suffix}"


class _Echo:
    """A file-like object whose write() returns what it was given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def errors_csv_response(*, batch: ImportBatch) -> StreamingHttpResponse:
    """All row errors as CSV in UTF-8 with a BOM (so Excel opens the Chinese text correctly)."""
    # The body is produced after the view returns; keep the language the request asked for.
    language = translation.get_language()

    def lines() -> Iterator[bytes]:
        with translation.override(language):
            writer = csv.writer(_Echo())
            yield "\ufeff".encode()
            yield writer.writerow(_headers()).encode("utf-8")
            for row in _error_rows(batch):
                yield writer.writerow([spreadsheet_safe(cell) for cell in row]).encode("utf-8")

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(batch, "csv")}"'
    return response


def errors_xlsx_response(*, batch: ImportBatch) -> FileResponse:
    """All row errors (up to Excel's row limit) as XLSX, built in constant memory."""
    output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 — FileResponse closes (and so deletes) it.
    workbook = xlsxwriter.Workbook(
        output, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(_("错误明细"))
    bold = workbook.add_format({"bold": True})
    for col, (title, width) in enumerate(zip(_headers(), (8, 20, 30, 80), strict=True)):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, bold)
    for row_index, (row_number, column, value, message) in enumerate(_error_rows(batch), start=1):
        if row_index > XLSX_MAX_ERROR_ROWS:
            sheet.write_string(row_index, 0, _("超过 Excel 行数上限，其余错误请下载 CSV 查看"))
            break
        sheet.write_number(row_index, 0, row_number)
        sheet.write_string(row_index, 1, column or "")
        sheet.write_string(row_index, 2, value or "")
        sheet.write_string(row_index, 3, message)
    sheet.freeze_panes(1, 0)
    workbook.close()
    output.seek(0)
    return FileResponse(
        output,
        as_attachment=True,
        filename=_filename(batch, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
