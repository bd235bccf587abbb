from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from arrears.cases.services import promises_settle_after_import
from arrears.portfolio.importing.messages import render_message
from arrears.portfolio.models import ImportKind, ImportStatus
from arrears.portfolio.selectors import import_row_errors
from arrears.portfolio.services import PortfolioError, import_file


class Command(BaseCommand):
    help = "Import a creditor file: `import FILE --creditor CODE --kind accounts|schedule|payments`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--creditor", required=True)
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument(
            "--errors", type=int, default=20, help="how many rejected rows to list (default 20)"
        )
        parser.add_argument(
            "--lang", default="zh-hans", choices=["zh-hans", "en"], help="language of messages"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(options["lang"])
        console = Console(file=cast(IO[str], self.stdout), highlight=False)
        path: Path = options["file"]
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=console,
            disable=options["quiet"],
            transient=True,
        ) as progress:
            task = progress.add_task(f"importing {path.name}", total=None)
            try:
                batch = import_file(
                    creditor_code=options["creditor"],
                    kind=options["kind"],
                    path=path,
                    progress=lambda rows: progress.update(task, completed=rows),
                )
            except PortfolioError as exc:
                raise CommandError(str(exc)) from exc
        promises_settle_after_import(batch=batch)
        table = Table(title=f"import batch #{batch.pk}: {batch.filename}")
        table.add_column("")
        table.add_column("", justify="right")
        for label, value in (
            ("status", batch.status),
            ("format / encoding", f"{batch.file_format} {batch.encoding}".strip()),
            ("rows read", f"{batch.rows_read:,}"),
            ("rows loaded", f"{batch.rows_loaded:,}"),
            ("  inserted", f"{batch.rows_inserted:,}"),
            ("  updated", f"{batch.rows_updated:,}"),
            ("  unchanged", f"{batch.rows_unchanged:,}"),
            ("rows rejected", f"{batch.rows_rejected:,}"),
        ):
            table.add_row(label, value)
        if batch.started_at and batch.finished_at:
            table.add_row("seconds", f"{(batch.finished_at - batch.started_at).total_seconds():.1f}")
        console.print(table)
        if batch.ignored_columns:
            console.print(f"ignored columns: {', '.join(batch.ignored_columns)}")
        if batch.status == ImportStatus.FAILED:
            raise CommandError(f"nothing was loaded: {render_message(batch.error_code, batch.error_params)}")
        errors = list(import_row_errors(batch=batch, limit=options["errors"]))
        if errors:
            rejected = Table(title=f"rejected rows (first {len(errors)} of {batch.rows_rejected:,} rows)")
            for column in ("row", "column", "value", "reason"):
                rejected.add_column(column)
            for error in errors:
                rejected.add_row(
                    str(error.row_number), error.column, error.value, render_message(error.code, error.params)
                )
            console.print(rejected)
