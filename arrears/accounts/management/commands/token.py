from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.accounts.models import User
from arrears.accounts.services import AccountsError, token_create, token_create_for_role


class Command(BaseCommand):
    help = (
        "Create an API token: `token create NAME --role admin|supervisor` (a service user) or "
        "`token create NAME --user USERNAME` (acts as that user, with exactly their scope). "
        "Prints the secret once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("name")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--role")
        who.add_argument("--user")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["user"]:
                user = User.objects.filter(username=options["user"], is_active=True).first()
                if user is None:
                    raise CommandError(f"no active user {options['user']!r}")
                _, secret = token_create(name=options["name"], user=user)
            else:
                _, secret = token_create_for_role(name=options["name"], role=options["role"])
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(secret)
