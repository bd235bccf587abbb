from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from arrears.governance.services import RetentionReport, retention_run


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from exc


class Command(BaseCommand):
    help = "Apply the retention policies: `retention run [--dry-run] [--today YYYY-MM-DD]`."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run", help="anonymise and delete what is past its retention period")
        run.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
        run.add_argument("--today", type=_date, help="the date to apply the policies as of (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"] or timezone.localdate()
        report = retention_run(today=today, dry_run=options["dry_run"])
        self.stdout.write(format_report(report))


def format_report(report: RetentionReport) -> str:
    title = f"retention as of {report.today}" + (
        " (dry run: nothing changed)" if report.dry_run else f" (run #{report.run_id})"
    )
    lines = [
        title,
        f"{'data class':<30} {'action':<10} {'days':>5} {'cutoff':<10} {'done':>8} {'held':>6}  details",
    ]
    for result in report.classes:
        cutoff = result.cutoff.isoformat() if result.cutoff else "-"
        details = ", ".join(f"{name} {value}" for name, value in result.counts.items())
        if result.note:
            details = f"{details}; {result.note}" if details else result.note
        lines.append(
            f"{result.data_class:<30} {result.action:<10} {result.days:>5} {cutoff:<10} "
            f"{result.affected:>8} {result.skipped_for_hold:>6}  {details}"
        )
    return "\n".join(lines) + "\n"
