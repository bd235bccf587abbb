from __future__ import annotations

import datetime as dt
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from rich.console import Console
from rich.table import Table

from arrears.delinquency.models import EodRun, RunMode
from arrears.delinquency.services import EodRefused, eod_run, eod_run_range


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from exc


class Command(BaseCommand):
    help = (
        "Run the end-of-day batch: `eod --date D [--full]`, `eod --from D1 --to D2`, "
        "`eod --date D --rebuild-from D0`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, help="business date (default: yesterday in Asia/Shanghai)")
        parser.add_argument("--from", dest="first", type=_date, help="backfill: first business date")
        parser.add_argument("--to", dest="last", type=_date, help="backfill: last business date")
        parser.add_argument(
            "--full", action="store_true", help="recompute every account, not only changed ones"
        )
        parser.add_argument(
            "--rebuild-from",
            type=_date,
            help="discard history from this date and run every day again up to --date",
        )
        parser.add_argument(
            "--lang", default="zh-hans", choices=["zh-hans", "en"], help="language of messages"
        )
        parser.add_argument("--quiet", action="store_true", help="print only the summary")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(options["lang"])
        console = Console(file=cast(IO[str], self.stdout), highlight=False)

        def progress(step: str, rows: int, ms: int) -> None:
            if not options["quiet"]:
                console.print(f"  {step:<9} {rows:>10,} rows {ms:>8,} ms")

        try:
            if options["first"] or options["last"]:
                if not (options["first"] and options["last"]) or options["date"] or options["rebuild_from"]:
                    raise CommandError("--from and --to go together, without --date or --rebuild-from")
                runs = eod_run_range(first=options["first"], last=options["last"], progress=progress)
            else:
                day = options["date"] or _yesterday()
                mode = RunMode.FULL if options["full"] else RunMode.INCREMENTAL
                runs = [
                    eod_run(
                        business_date=day, mode=mode, rebuild_from=options["rebuild_from"], progress=progress
                    )
                ]
        except EodRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self._summary(console, runs)

    def _summary(self, console: Console, runs: list[EodRun]) -> None:
        table = Table(title="end of day")
        for column in ("run", "business date", "mode", "state", "accounts", "seconds"):
            table.add_column(column, justify="right" if column in ("accounts", "seconds") else "left")
        for run in runs:
            seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
            table.add_row(
                f"#{run.pk}",
                str(run.business_date),
                run.mode,
                run.state,
                f"{run.accounts:,}",
                f"{seconds:.2f}",
            )
        console.print(table)


def _yesterday() -> dt.date:
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=1)
