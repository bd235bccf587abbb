"""`arrears backup` / `arrears restore`: a round trip into a fresh database, and the refusals.

The code is in ``arrears.core.backup``; the test lives here, with the cross-app tests, because
it builds a book with the apps' factories and ``core`` tests may not import the apps.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from arrears.cases.models import CaseEvent, CaseEventKind
from arrears.core.backup import DatabaseTarget, database_target
from arrears.core.backup_format import verify_backup
from arrears.core.services import event_record
from arrears.tests.factories import AccountFactory, CaseFactory, PaymentFactory

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
KEY_TABLES = ("portfolio_account", "portfolio_payment", "cases_case", "cases_caseevent", "core_event")
UPLOAD = "imports/2026/accounts-示范银行.csv"
UPLOAD_BYTES = "账号,姓名\nA-1,张三\n".encode() + bytes(range(256)) * 3


@pytest.fixture(autouse=True)
def backup_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARREARS_BACKUP_KEY_FILE", raising=False)
    monkeypatch.setenv("ARREARS_BACKUP_KEY", KEY)


@pytest.fixture
def small_book(transactional_db: None, settings: Any, tmp_path: Path) -> None:
    """Two accounts, payments, a case with an event, an audit event, and one uploaded file."""
    case = CaseFactory(account=AccountFactory(account_no="A-1"))
    first = PaymentFactory(account=case.account, amount_fen=100_000)
    PaymentFactory(account=case.account, amount_fen=-100_000, txn_id="REV-1", reversal_of=first)
    PaymentFactory(account=AccountFactory(account_no="A-2"), amount_fen=1)
    CaseEvent.objects.create(case=case, kind=CaseEventKind.OPENED, data={"dpd": 31})
    event_record(kind="backup.test", subject=case.account, data={"note": "备份"})
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = settings.MEDIA_ROOT / UPLOAD
    upload.parent.mkdir(parents=True)
    upload.write_bytes(UPLOAD_BYTES)


@pytest.fixture
def empty_database() -> Iterator[DatabaseTarget]:
    """A fresh database on the test server, dropped at the end."""
    name = f"{connection.settings_dict['NAME']}_restore"
    with database_target("postgres").connect() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    yield database_target(name)
    with database_target("postgres").connect() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_backup(tmp_path: Path) -> Path:
    call_command("backup", "--out", str(tmp_path / "backups"), stdout=io.StringIO())
    [path] = (tmp_path / "backups").glob("*.enc")
    return path


def restore(path: Path, *args: str) -> str:
    buffer = io.StringIO()
    call_command("restore", str(path), *args, stdout=buffer)
    return buffer.getvalue()


def table_counts(target: DatabaseTarget) -> dict[str, int]:
    with target.connect() as conn:
        tables = [
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in sorted(tables)
        }


def table_checksums(target: DatabaseTarget) -> dict[str, str]:
    with target.connect() as conn:
        return {
            table: conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {table} t"
            ).fetchone()[0]
            for table in KEY_TABLES
        }


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


@pytest.mark.usefixtures("small_book")
def test_a_backup_restores_into_an_empty_database_with_the_same_rows_and_files(
    tmp_path: Path, empty_database: DatabaseTarget
) -> None:
    source = database_target()
    path = make_backup(tmp_path)

    printed = restore(path, "--database", empty_database.name, "--media-dir", str(tmp_path / "restored"))

    assert "and 1 media file into" in printed
    assert table_counts(empty_database) == table_counts(source)
    assert table_counts(empty_database)["portfolio_payment"] == 3
    assert table_checksums(empty_database) == table_checksums(source)
    assert (tmp_path / "restored" / UPLOAD).read_bytes() == UPLOAD_BYTES
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("small_book")
def test_the_manifest_describes_the_backup(tmp_path: Path) -> None:
    path = make_backup(tmp_path)

    manifest = verify_backup(path, base64.b64decode(KEY))

    assert manifest["database"] == connection.settings_dict["NAME"]
    assert manifest["app_version"] == "0.1.0"
    assert manifest["postgresql_version"].startswith("18")
    assert manifest["migrations"]["portfolio"].startswith("00")
    assert [member["name"] for member in manifest["members"]] == ["database.dump", f"media/{UPLOAD}"]
    assert manifest["members"][1]["size"] == len(UPLOAD_BYTES)
    assert (path.parent / f"{path.name}.sha256").read_text().endswith(f"  {path.name}\n")
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.usefixtures("small_book")
def test_a_wrong_key_is_refused_and_nothing_is_written(
    tmp_path: Path, empty_database: DatabaseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_backup(tmp_path)
    monkeypatch.setenv("ARREARS_BACKUP_KEY", OTHER_KEY)

    with pytest.raises(CommandError, match="nothing was restored: the key does not open this backup"):
        restore(path, "--database", empty_database.name, "--media-dir", str(tmp_path / "restored"))

    assert table_counts(empty_database) == {}
    assert not (tmp_path / "restored").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["middle", "last byte"])
@pytest.mark.usefixtures("small_book")
def test_a_tampered_byte_is_refused_and_nothing_is_written(
    tmp_path: Path, empty_database: DatabaseTarget, where: str
) -> None:
    path = make_backup(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if where == "middle" else -1] ^= 0x01
    path.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="nothing was restored: the backup file was changed or damaged"):
        restore(path, "--database", empty_database.name, "--media-dir", str(tmp_path / "restored"))

    assert table_counts(empty_database) == {}
    assert not (tmp_path / "restored").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("small_book")
def test_restore_into_a_non_empty_database_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    path = make_backup(tmp_path)
    before = table_counts(database_target())

    with pytest.raises(
        CommandError, match=r"database '\w+' is not empty .*restore only into an empty database"
    ):
        restore(path, "--media-dir", str(tmp_path / "restored"))

    assert table_counts(database_target()) == before
    assert not (tmp_path / "restored").exists()


@pytest.mark.usefixtures("small_book")
def test_restore_into_a_non_empty_media_folder_is_refused(
    tmp_path: Path, empty_database: DatabaseTarget, settings: Any
) -> None:
    path = make_backup(tmp_path)

    with pytest.raises(CommandError, match=r"media folder .* is not empty; empty it or pass --media-dir"):
        restore(path, "--database", empty_database.name)

    assert table_counts(empty_database) == {}
    assert sorted(p.name for p in (settings.MEDIA_ROOT / "imports").iterdir()) == ["2026"]


def test_a_missing_key_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARREARS_BACKUP_KEY")

    with pytest.raises(CommandError, match="ARREARS_BACKUP_KEY is not set"):
        call_command("backup", "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_short_key_file_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(base64.b64encode(bytes(16)).decode() + "\n")
    monkeypatch.setenv("ARREARS_BACKUP_KEY_FILE", str(key_file))

    with pytest.raises(
        CommandError, match=r"ARREARS_BACKUP_KEY_FILE \(.*\) must be 32 bytes .* holds 16 bytes"
    ):
        call_command("backup", "--out", str(tmp_path / "backups"))
    assert not (tmp_path / "backups").exists()


def test_new_key_prints_32_random_bytes_in_base64() -> None:
    buffer = io.StringIO()
    call_command("backup", "--new-key", stdout=buffer)

    assert len(base64.b64decode(buffer.getvalue().strip(), validate=True)) == 32
