"""``arrears letters print [--limit N]``: print the waiting letters as one batch."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.comms.letter_batches import letter_batch_file, letter_batch_print, letters_waiting_count
from arrears.comms.letters import LetterFontError


class Command(BaseCommand):
    help = "Letters: `letters print [--limit N]` prints the waiting letters (one PDF and a CSV mailing list)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("print", help="print the sent letters that are not in a batch yet")
        run.add_argument("--limit", type=int, help="print at most this many letters")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = options.get("limit")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        try:
            batch = letter_batch_print(actor=None, limit=limit)
        except LetterFontError as exc:
            raise CommandError(str(exc)) from exc
        if batch is None:
            self.stdout.write("No letters waiting to print.")
            return
        pdf = letter_batch_file(batch=batch, kind="pdf")
        csv = letter_batch_file(batch=batch, kind="csv")
        self.stdout.write(f"Printed letter batch #{batch.pk}: {batch.letters} letter(s).")
        self.stdout.write(f"  PDF: {pdf}")
        self.stdout.write(f"  CSV: {csv}")
        waiting = letters_waiting_count()
        if waiting:
            self.stdout.write(
                f"  {waiting} letter(s) still waiting (over the limit or not printable: see the log)."
            )
