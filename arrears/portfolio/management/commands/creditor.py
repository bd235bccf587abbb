from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.portfolio.services import PortfolioError, creditor_add


class Command(BaseCommand):
    help = "Add a creditor (委托方): `creditor add CODE NAME`. Renames it if the code exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add"])
        parser.add_argument("code")
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            creditor, created = creditor_add(code=options["code"], name=options["name"])
        except PortfolioError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{'created' if created else 'exists'}: creditor {creditor.code} {creditor.name}")
