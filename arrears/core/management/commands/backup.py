from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.core.backup import BackupError, backup_create, backup_key_generate, backup_key_load


class Command(BaseCommand):
    help = (
        "Write an encrypted backup (database dump and media files) into --out (default var/backups). "
        "The key comes from ARREARS_BACKUP_KEY or ARREARS_BACKUP_KEY_FILE; --new-key prints a fresh one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="folder for the backup file (default: var/backups)")
        parser.add_argument("--new-key", action="store_true", help="print a fresh key and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(backup_key_generate())
            return
        out_dir = options["out"] or Path(settings.VAR_DIR) / "backups"
        try:
            result = backup_create(out_dir=out_dir, key=backup_key_load())
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        members = result.manifest["members"]
        media_count = len(members) - 1
        self.stdout.write(f"backup written: {result.path}")
        self.stdout.write(
            f"  database {result.manifest['database']} (PostgreSQL {result.manifest['postgresql_version']}), "
            f"{media_count} media file{'s' if media_count != 1 else ''}, {result.path.stat().st_size} bytes"
        )
        self.stdout.write(f"  sha256 {result.sha256}  (also in {result.path.name}.sha256)")
