"""Personal data at rest (issue #6 §2): ID numbers and contact values are encrypted in the tables,
found by their blind indexes, re-encrypted by rotation; the import compares hashes, not ciphertexts."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.test import Client

from arrears.accounts.models import Role
from arrears.accounts.services import token_create
from arrears.conftest import Book
from arrears.core import crypto
from arrears.core.crypto import DecryptionError, KeyRing
from arrears.core.fields import blind_index_of
from arrears.core.keys import encrypted_columns, key_file_add_key, keys_rotate, keys_status
from arrears.portfolio.importing import rows as row_parsers
from arrears.portfolio.models import AccountChange, ContactPoint, Customer, ImportBatch
from arrears.portfolio.selectors import account_list, contact_points_by_value, customers_by_id_number
from arrears.portfolio.services import creditor_add, import_file, product_add
from arrears.tests.factories import ContactPointFactory, CustomerFactory, UserFactory

HEADER = (
    "委托方,账号,产品,客户号,姓名,身份证号,手机,家庭电话,单位电话,邮箱,家庭地址,单位名称,本金,放款日,期数,"
    "首期还款日,联系人1姓名,联系人1关系,联系人1电话,联系人2姓名,联系人2关系,联系人2电话"
)
ROW_ZHANG = (
    "DEMOBANK,DB2026000001,CASHLOAN,C1001,张三,110105198803141237,18260181590,010-62345678,,"
    "zhangsan@example.com,北京市海淀区中关村大街1号,北京某科技有限公司,30000.00,2026-01-15,12,2026-02-15,"
    "李四,配偶,15016613186,王五,同事,13913909960"
)
ROW_CHEN = (
    "DEMOBANK,DB2026000002,CASHLOAN,C1002,陈晓梅,440304199208072340,15082462819,,0755-86001234,,"
    "深圳市南山区科技园,,8000.00,2026-03-01,6,2026-04-01,陈建华,父母,18821993518,刘芳,朋友,13909378657"
)
PLAINTEXTS = (
    "110105198803141237",
    "440304199208072340",
    "18260181590",
    "62345678",
    "zhangsan",
    "中关村大街",
    "15016613186",
    "13913909960",
    "15082462819",
    "86001234",
    "科技园",
    "18821993518",
    "13909378657",
)
K1, K2, INDEX = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))


@pytest.fixture
def creditor(db: None) -> None:
    creditor_add(code="DEMOBANK", name="示范银行")
    product_add(code="CASHLOAN", creditor_code="DEMOBANK", name="现金贷")


def load(tmp_path: Path, *rows: str, name: str = "a.csv") -> ImportBatch:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return import_file(creditor_code="DEMOBANK", kind="accounts", path=path)


def raw(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def raw_tables() -> str:
    """Every customer and contact point row as PostgreSQL prints it."""
    rows = raw("SELECT t::text FROM portfolio_customer t") + raw(
        "SELECT t::text FROM portfolio_contactpoint t"
    )
    return "\n".join(row for (row,) in rows)


# --- nothing in clear ---------------------------------------------------------------------------


def test_after_an_import_the_raw_tables_hold_no_plain_id_phone_email_or_address(
    creditor: None, tmp_path: Path
) -> None:
    batch = load(tmp_path, ROW_ZHANG, ROW_CHEN)

    assert (batch.status, batch.rows_inserted) == ("done", 2)
    ids = raw("SELECT id_number FROM portfolio_customer")
    values = raw("SELECT value FROM portfolio_contactpoint")
    assert len(ids) == 2 and len(values) == 11
    assert all(stored.startswith("v1:") for (stored,) in ids + values)
    dump = raw_tables()
    assert [text for text in PLAINTEXTS if text in dump] == []
    # The application reads them in clear.
    zhang = Customer.objects.get(customer_no="C1001")
    assert zhang.id_number == "110105198803141237"
    assert set(zhang.contact_points.values_list("value", flat=True)) == {
        "18260181590",
        "010-62345678",
        "zhangsan@example.com",
        "北京市海淀区中关村大街1号",
        "15016613186",
        "13913909960",
    }
    assert zhang.id_number_hash == blind_index_of(Customer, "id_number", "110105198803141237")


def test_rows_written_through_the_orm_are_encrypted_and_hashed(db: None) -> None:
    customer = CustomerFactory(id_number="11010519880314123X")
    point = ContactPointFactory(customer=customer, value="13812345678")
    ContactPointFactory(customer=customer, kind="email", value="Li.Si@example.com")

    assert "11010519880314123X" not in raw_tables() and "13812345678" not in raw_tables()
    assert "Li.Si" not in raw_tables()
    assert Customer.objects.get(pk=customer.pk).id_number == "11010519880314123X"
    assert point.value_hash == blind_index_of(ContactPoint, "value", "13812345678")

    # Saving only the value also saves its index.
    point.value = "13900000000"
    point.save(update_fields=["value"])
    stored = ContactPoint.objects.get(pk=point.pk)
    assert (stored.value, stored.value_hash) == (
        "13900000000",
        blind_index_of(ContactPoint, "value", "13900000000"),
    )


def test_an_encrypted_column_refuses_sql_lookups_and_points_at_the_index(db: None) -> None:
    with pytest.raises(FieldError, match="id_number is encrypted: look it up by its blind index"):
        list(Customer.objects.filter(id_number="110105198803141237"))
    with pytest.raises(FieldError, match="value is encrypted"):
        list(ContactPoint.objects.filter(value__startswith="138"))
    assert list(ContactPoint.objects.filter(value__isnull=True)) == []


def test_the_parser_contexts_are_the_columns() -> None:
    assert {column.context for column in encrypted_columns()} == {
        row_parsers.ID_NUMBER_CONTEXT,
        row_parsers.CONTACT_VALUE_CONTEXT,
    }


# --- the import compares hashes, not ciphertexts --------------------------------------------------


def test_the_same_file_again_changes_nothing_not_even_a_ciphertext(creditor: None, tmp_path: Path) -> None:
    load(tmp_path, ROW_ZHANG, ROW_CHEN)
    before = raw_tables()
    changes = AccountChange.objects.count()

    again = load(tmp_path, ROW_ZHANG, ROW_CHEN, name="b.csv")

    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    assert raw_tables() == before
    assert AccountChange.objects.count() == changes


def test_a_changed_id_number_or_new_phone_is_written_and_the_rest_kept(
    creditor: None, tmp_path: Path
) -> None:
    load(tmp_path, ROW_ZHANG, ROW_CHEN)
    chen_before = raw("SELECT t::text FROM portfolio_customer t WHERE customer_no = 'C1002'")
    zhang_points = dict(
        raw(
            "SELECT value_hash, value FROM portfolio_contactpoint WHERE customer_id = "
            "(SELECT id FROM portfolio_customer WHERE customer_no = 'C1001')"
        )
    )
    changed = ROW_ZHANG.replace("110105198803141237", "110105199001011232").replace(
        "18260181590", "18260181591"
    )

    again = load(tmp_path, changed, ROW_CHEN, name="b.csv")

    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    zhang = Customer.objects.get(customer_no="C1001")
    assert zhang.id_number == "110105199001011232"
    assert zhang.id_number_hash == blind_index_of(Customer, "id_number", "110105199001011232")
    assert raw("SELECT t::text FROM portfolio_customer t WHERE customer_no = 'C1002'") == chen_before
    after = dict(raw(f"SELECT value_hash, value FROM portfolio_contactpoint WHERE customer_id = {zhang.pk}"))
    # The old mobile stays (known contact points are never dropped), the new one is added, and
    # every known point keeps its ciphertext.
    assert set(after) - set(zhang_points) == {blind_index_of(ContactPoint, "value", "18260181591")}
    assert all(after[key] == value for key, value in zhang_points.items())


def test_two_rows_with_the_same_phone_spelled_alike_make_one_contact_point(
    creditor: None, tmp_path: Path
) -> None:
    second_account = ROW_ZHANG.replace("DB2026000001", "DB2026000009")
    batch = load(tmp_path, ROW_ZHANG, second_account)

    assert batch.rows_inserted == 2
    assert ContactPoint.objects.filter(customer__customer_no="C1001").count() == 6


# --- exact lookups ------------------------------------------------------------------------------


def test_find_by_id_number_and_by_phone_within_scope(book: Book) -> None:
    alice_customer = book.case_alice.customer
    ContactPointFactory(customer=alice_customer, value="13812345678")
    ContactPointFactory(customer=book.case_bob.customer, value="13987654321")
    Customer.objects.filter(pk=alice_customer.pk).update()  # no-op; ids below come from factories
    alice_customer.id_number = "440304199208072340"
    alice_customer.save()

    assert list(customers_by_id_number(user=book.sam, id_number="440304199208072340")) == [alice_customer]
    assert list(customers_by_id_number(user=book.sam, id_number="440304920807234")) == [alice_customer]
    assert list(customers_by_id_number(user=book.bob, id_number="440304199208072340")) == []
    for typed in ("13812345678", "138 1234 5678", "+86 138-1234-5678"):
        found = contact_points_by_value(user=book.alice, value=typed)
        assert [point.customer for point in found] == [alice_customer], typed
    assert list(contact_points_by_value(user=book.alice, value="13987654321")) == []
    assert list(contact_points_by_value(user=book.sam, value="1381234567")) == []  # exact only

    page = account_list(user=book.sam, phone_or_id="138 1234 5678")
    assert [account.account_no for account in page.accounts] == ["A-ALICE"]
    page = account_list(user=book.sam, phone_or_id="440304199208072340")
    assert [account.account_no for account in page.accounts] == ["A-ALICE"]
    assert account_list(user=book.bob, phone_or_id="13812345678").accounts == []


def test_the_account_page_and_api_search_by_phone_or_id(client: Client, book: Book) -> None:
    ContactPointFactory(customer=book.case_alice.customer, value="13812345678")
    _, secret = token_create(name="t", user=book.alice)

    response = client.get(
        "/api/v1/accounts", {"phone_or_id": "13812345678"}, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    assert [item["account_no"] for item in response.json()["items"]] == ["A-ALICE"]
    response = client.get(
        "/api/v1/accounts", {"phone_or_id": "13800000000"}, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.json()["items"] == []

    client.force_login(book.sam)
    page = client.get("/accounts/", {"phone_or_id": "138-1234-5678"})
    assert page.status_code == 200
    assert [account.account_no for account in page.context["page"].accounts] == ["A-ALICE"]
    assert "13812345678" not in page.content.decode()


# --- keys -------------------------------------------------------------------------------------


def test_rotation_moves_every_value_to_the_new_key_and_the_old_key_can_go(db: None) -> None:
    old_ring = KeyRing(data_keys=[("k1", K1)], index_key=INDEX)
    with crypto.use_keyring(old_ring):
        customers = [CustomerFactory(id_number=f"1101051988031412{n:02d}") for n in range(5)]
        for n, customer in enumerate(customers):
            ContactPointFactory(customer=customer, value=f"1381234{n:04d}")
        hashes = raw("SELECT id, id_number_hash FROM portfolio_customer ORDER BY id")
        assert keys_status() == {
            "portfolio_contactpoint.value": {"k1": 5},
            "portfolio_customer.id_number": {"k1": 5},
        }

    with crypto.use_keyring(KeyRing(data_keys=[("k2", K2), ("k1", K1)], index_key=INDEX)):
        seen: list[tuple[str, int]] = []
        result = keys_rotate(batch_size=2, progress=lambda column, done: seen.append((column, done)))
        assert result.rotated == {"portfolio_contactpoint.value": 5, "portfolio_customer.id_number": 5}
        assert seen[:3] == [("portfolio_contactpoint.value", n) for n in (2, 4, 5)]
        assert keys_status() == {
            "portfolio_contactpoint.value": {"k2": 5},
            "portfolio_customer.id_number": {"k2": 5},
        }
        assert keys_rotate().total == 0  # nothing left: a re-run is a no-op

    with crypto.use_keyring(KeyRing(data_keys=[("k2", K2)], index_key=INDEX)):
        assert sorted(Customer.objects.values_list("id_number", flat=True)) == [
            f"1101051988031412{n:02d}" for n in range(5)
        ]
        assert sorted(ContactPoint.objects.values_list("value", flat=True)) == [
            f"1381234{n:04d}" for n in range(5)
        ]
        assert raw("SELECT id, id_number_hash FROM portfolio_customer ORDER BY id") == hashes
        assert list(
            customers_by_id_number(user=UserFactory(role=Role.SUPERVISOR), id_number="110105198803141203")
        ) == [customers[3]]


def test_an_interrupted_rotation_finishes_when_run_again(db: None) -> None:
    with crypto.use_keyring(KeyRing(data_keys=[("k1", K1)], index_key=INDEX)):
        for n in range(4):
            ContactPointFactory(value=f"1390000{n:04d}")

    def stop(column: str, done: int) -> None:
        raise KeyboardInterrupt

    with crypto.use_keyring(KeyRing(data_keys=[("k2", K2), ("k1", K1)], index_key=INDEX)):
        with pytest.raises(KeyboardInterrupt):
            keys_rotate(batch_size=3, progress=stop)
        assert keys_status()["portfolio_contactpoint.value"] == {"k1": 1, "k2": 3}
        assert keys_rotate(batch_size=3).rotated["portfolio_contactpoint.value"] == 1
        assert keys_status()["portfolio_contactpoint.value"] == {"k2": 4}


def test_reading_with_the_wrong_key_is_an_error_not_garbage(db: None) -> None:
    with crypto.use_keyring(KeyRing(data_keys=[("k1", K1)], index_key=INDEX)):
        customer = CustomerFactory()
    wrong = KeyRing(data_keys=[("k1", K2)], index_key=INDEX)
    with crypto.use_keyring(wrong), pytest.raises(DecryptionError, match=r"id_number: authentication failed"):
        Customer.objects.get(pk=customer.pk)
    other = KeyRing(data_keys=[("k2", K2)], index_key=INDEX)
    with (
        crypto.use_keyring(other),
        pytest.raises(DecryptionError, match="key 'k1', which is not in the key ring"),
    ):
        Customer.objects.get(pk=customer.pk)


def test_tampered_or_moved_ciphertext_in_the_table_is_refused(db: None) -> None:
    customer = CustomerFactory()
    point = ContactPointFactory(customer=customer, value="13812345678")
    with connection.cursor() as cursor:
        # An ID number's ciphertext copied into a contact point's value: the column does not match.
        cursor.execute(
            "UPDATE portfolio_contactpoint SET value = (SELECT id_number FROM portfolio_customer WHERE id = %s)"
            " WHERE id = %s",
            [customer.pk, point.pk],
        )
    with pytest.raises(DecryptionError, match="moved from another column"):
        ContactPoint.objects.get(pk=point.pk)


def test_the_keys_command_reports_and_rotates(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    with crypto.use_keyring(KeyRing(data_keys=[("k1", K1)], index_key=INDEX)):
        ContactPointFactory(value="13812345678")
    with crypto.use_keyring(KeyRing(data_keys=[("k2", K2), ("k1", K1)], index_key=INDEX)):
        call_command("keys", "status")
        call_command("keys", "rotate")
    out = capsys.readouterr().out
    assert "portfolio_contactpoint.value: k1: 1" in out
    assert "portfolio_contactpoint.value: 1 re-encrypted" in out
    assert "done: 2 values now under key k2" in out
    assert "portfolio_contactpoint.value: k2: 1" in out


def test_adding_a_key_to_the_key_file_puts_it_first(tmp_path: Path) -> None:
    path = tmp_path / "data.keys"
    path.write_text(crypto.key_file_text([("k1", K1)], INDEX))
    assert key_file_add_key(path=path) == "k2"
    ring = crypto.load_keyring({crypto.FILE_VARIABLE: str(path)})
    assert ring.key_ids == ["k2", "k1"] and ring.index_key == INDEX and dict(ring.data_keys)["k1"] == K1
    with pytest.raises(crypto.KeyRingError, match="already in"):
        key_file_add_key(path=path, key_id="k1")


# --- the migration ----------------------------------------------------------------------------


def test_the_data_migration_encrypts_plaintext_rows_and_its_reverse_decrypts(db: None) -> None:
    migration = importlib.import_module("arrears.portfolio.migrations.0007_encrypt_personal_data")
    customer = CustomerFactory()
    point = ContactPointFactory(customer=customer, value="13812345678")
    anonymised = ContactPointFactory(customer=customer, kind="home", value="x")
    with connection.cursor() as cursor:  # as the rows were before 0006: plaintext, no hashes
        cursor.execute("UPDATE portfolio_customer SET id_number = '110105198803141237', id_number_hash = ''")
        cursor.execute(
            "UPDATE portfolio_contactpoint SET value = '13812345678', value_hash = '' WHERE id = %s",
            [point.pk],
        )
        cursor.execute(
            "UPDATE portfolio_contactpoint SET value = '已匿名#' || id, value_hash = '' WHERE id = %s",
            [anonymised.pk],
        )
    editor = SimpleNamespace(connection=connection)

    migration.encrypt(None, editor)
    migration.encrypt(None, editor)  # a re-run changes nothing it should not

    assert "110105198803141237" not in raw_tables() and "13812345678" not in raw_tables()
    assert Customer.objects.get(pk=customer.pk).id_number_hash == blind_index_of(
        Customer, "id_number", "110105198803141237"
    )
    assert ContactPoint.objects.get(pk=point.pk).value_hash == blind_index_of(
        ContactPoint, "value", "13812345678"
    )
    assert ContactPoint.objects.get(pk=anonymised.pk).value_hash == f"anonymised:{anonymised.pk}"

    migration.decrypt(None, editor)
    assert raw(f"SELECT value FROM portfolio_contactpoint WHERE id = {point.pk}") == [("13812345678",)]
    assert raw("SELECT id_number FROM portfolio_customer") == [("110105198803141237",)]


def test_copy_lines_round_trip_through_postgresql(db: None) -> None:
    awkward = ["a\\b", "tab\there", "new\nline", "cr\rx", '{"k": "v\\"q"}', "中文", "", "\\N", "v1:k1:AAA+/="]
    line = row_parsers.copy_line((1, *awkward, None))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE t_copy (n int, " + ", ".join(f"c{i} text" for i in range(10)) + ")")
        with cursor.connection.cursor().copy("COPY t_copy FROM STDIN") as copy:
            copy.write(line)
        cursor.execute("SELECT * FROM t_copy")
        assert cursor.fetchall() == [(1, *awkward, None)]


def test_worker_processes_encrypt_with_the_parents_key_ring(
    creditor: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.portfolio.importing import loader

    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 1)
    monkeypatch.setenv("ARREARS_IMPORT_WORKERS", "2")
    only_here = KeyRing(data_keys=[("kw", K2)], index_key=INDEX)  # the workers cannot load this one

    with crypto.use_keyring(only_here):
        batch = load(tmp_path, ROW_ZHANG, ROW_CHEN)
        assert batch.rows_inserted == 2
        assert Customer.objects.get(customer_no="C1002").id_number == "440304199208072340"
    assert keys_status() == {
        "portfolio_contactpoint.value": {"kw": 11},
        "portfolio_customer.id_number": {"kw": 2},
    }


def test_keys_add_uses_the_configured_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere.keys"
    path.write_text(crypto.key_file_text([("k1", K1)], INDEX))
    monkeypatch.setenv(crypto.FILE_VARIABLE, str(path))
    monkeypatch.delenv(crypto.KEYS_VARIABLE, raising=False)
    monkeypatch.delenv(crypto.INDEX_VARIABLE, raising=False)
    try:
        call_command("keys", "add")
        assert crypto.load_keyring({crypto.FILE_VARIABLE: str(path)}).key_ids == ["k2", "k1"]
        assert f"added key k2 in front of {path}" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        crypto.keyring_reload()
