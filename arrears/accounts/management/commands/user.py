from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.accounts.models import Role
from arrears.accounts.services import AccountsError, agency_get_or_create, team_get_or_create, user_create


class Command(BaseCommand):
    help = "Add a user: `user add USERNAME --role ROLE [--team T] [--agency A] [--creditor CODE] [--password-file F]`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add"])
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--team", help="team code (created if new)")
        parser.add_argument("--agency", help="agency code (created if new)")
        parser.add_argument("--creditor", default="", help="creditor code (for creditor_viewer)")
        parser.add_argument("--password-file", type=Path, help="file whose first line is the password")
        parser.add_argument("--name", default="", help="display name")

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_file"]:
            password = options["password_file"].read_text().splitlines()[0]
        try:
            user = user_create(
                username=options["username"],
                role=options["role"],
                password=password,
                team=team_get_or_create(code=options["team"]) if options["team"] else None,
                agency=agency_get_or_create(code=options["agency"]) if options["agency"] else None,
                display_name=options["name"],
                creditor_code=options["creditor"],
            )
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created: user {user.username} ({user.role})")
