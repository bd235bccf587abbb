from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arrears.core.backup import BackupError, backup_key_load, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `arrears backup` into an empty database and an empty media folder, "
        "after checking the whole file. The key comes from ARREARS_BACKUP_KEY or ARREARS_BACKUP_KEY_FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--database",
            help="target database: a name on the configured server, or a postgresql:// URL "
            "(default: the configured database)",
        )
        parser.add_argument("--media-dir", type=Path, help="where the media files go (default: MEDIA_ROOT)")

    def handle(self, *args: Any, **options: Any) -> None:
        media_dir = options["media_dir"] or Path(settings.MEDIA_ROOT)
        try:
            manifest = backup_restore(
                path=options["file"], key=backup_key_load(), database=options["database"], media_dir=media_dir
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        media_count = len(manifest["members"]) - 1
        self.stdout.write(
            f"restored the backup of {manifest['created_at']} (Arrears {manifest['app_version']}, "
            f"database {manifest['database']}, PostgreSQL {manifest['postgresql_version']}) "
            f"and {media_count} media file{'s' if media_count != 1 else ''} into {media_dir}"
        )
        self.stdout.write("Run `arrears migrate` next if this Arrears is newer than the backup.")
