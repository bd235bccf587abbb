from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.portfolio.models import ProductKind
from arrears.portfolio.services import PortfolioError, product_add


class Command(BaseCommand):
    help = "Add a product of a creditor: `product add CODE --creditor CODE [--name NAME] [--kind KIND]`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add"])
        parser.add_argument("code")
        parser.add_argument("--creditor", required=True)
        parser.add_argument("--name")
        parser.add_argument("--kind", choices=ProductKind.values, default=ProductKind.LOAN)
        parser.add_argument("--ladder", default="default", help="bucket ladder code")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            product, created = product_add(
                code=options["code"],
                creditor_code=options["creditor"],
                name=options["name"],
                kind=options["kind"],
                ladder_code=options["ladder"],
            )
        except PortfolioError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{'created' if created else 'exists'}: product {product.creditor.code}/{product.code}"
        )
