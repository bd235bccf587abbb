"""The retention run: who is anonymised, which files and rows go, holds, dry runs and re-runs.

Dates: the run is applied as of 2032-01-01 with the seeded five-year policies (1826 days), so
the cutoff is 2027-01-01. Accounts made by the factories were last changed "now" (before it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from arrears.accounts.models import Role
from arrears.cases.models import CaseStatus
from arrears.core.models import Event
from arrears.governance.models import DataClass, RetentionPolicy, RetentionRun, RunState
from arrears.governance.services import (
    ANONYMISED_ID_NUMBER,
    ANONYMISED_NAME,
    legal_hold_place,
    legal_hold_release,
    retention_run,
)
from arrears.portfolio.models import (
    Account,
    AccountChange,
    AccountStatus,
    ContactPoint,
    Creditor,
    Customer,
    ImportBatch,
    ImportRowError,
    ImportStatus,
)
from arrears.tests.factories import (
    AccountFactory,
    CaseFactory,
    ContactPointFactory,
    CreditorFactory,
    CustomerFactory,
    UserFactory,
)

TODAY = dt.date(2032, 1, 1)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PERSONAL = DataClass.PERSONAL_DATA_AFTER_CLOSURE
FILES = DataClass.IMPORT_FILES
ROW_ERRORS = DataClass.IMPORT_ROW_ERRORS


def closed_customer(*, closed_on: dt.date | None, status: str = AccountStatus.CLOSED, name: str) -> Customer:
    customer = CustomerFactory(name=name, employer="某某科技有限公司")
    account = AccountFactory(customer=customer, creditor=customer.creditor, status=status)
    if closed_on is not None:
        CaseFactory(account=account, status=CaseStatus.CLOSED, closed_on=closed_on, close_reason="paid")
    ContactPointFactory(customer=customer, value=f"1390000{customer.pk:04d}")
    ContactPointFactory(
        customer=customer, owner_role="spouse", owner_name="李四", value=f"1370000{customer.pk:04d}"
    )
    return customer


def batch(creditor: Creditor, media: Path, *, created: dt.datetime, errors: int, name: str) -> ImportBatch:
    path = media / "imports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("账号,姓名\nA1,王五\n", encoding="utf-8")
    made = ImportBatch.objects.create(
        creditor=creditor, kind="accounts", filename=name, stored_path=str(path), status=ImportStatus.DONE
    )
    ImportBatch.objects.filter(pk=made.pk).update(created_at=created)
    ImportRowError.objects.bulk_create(
        ImportRowError(
            batch=made, row_number=row + 2, column="证件号码", value="11010519880314123X", code="bad"
        )
        for row in range(errors)
    )
    made.refresh_from_db()
    return made


@dataclass
class Book:
    old_closed: Customer  # last case closed 2026-06-01: past retention
    old_written_off: Customer  # written off, never had a case: past retention
    recent_closed: Customer  # last case closed 2027-06-01: within retention
    active: Customer  # one account closed long ago, one still active
    old_batch: ImportBatch  # 2026-06-01, 3 row errors
    recent_batch: ImportBatch  # 2027-06-01, 2 row errors


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def book(db: None, media: Path) -> Book:
    creditor = CreditorFactory()
    active = closed_customer(closed_on=dt.date(2026, 3, 1), name="赵六")
    AccountFactory(customer=active, creditor=creditor, status=AccountStatus.ACTIVE)
    return Book(
        old_closed=closed_customer(closed_on=dt.date(2026, 6, 1), name="张三"),
        old_written_off=closed_customer(closed_on=None, status=AccountStatus.WRITTEN_OFF, name="钱七"),
        recent_closed=closed_customer(closed_on=dt.date(2027, 6, 1), name="孙八"),
        active=active,
        old_batch=batch(
            creditor, media, created=dt.datetime(2026, 6, 1, tzinfo=SHANGHAI), errors=3, name="old.csv"
        ),
        recent_batch=batch(
            creditor, media, created=dt.datetime(2027, 6, 1, tzinfo=SHANGHAI), errors=2, name="new.csv"
        ),
    )


def personal_data(customer: Customer) -> tuple[Any, ...]:
    customer.refresh_from_db()
    contacts = tuple(
        ContactPoint.objects.filter(customer=customer).order_by("pk").values_list("value", "owner_name")
    )
    return customer.name, customer.id_number, customer.employer, contacts


def everything() -> tuple[Any, ...]:
    return (
        tuple(Customer.objects.order_by("pk").values_list("name", "id_number", "employer")),
        tuple(ContactPoint.objects.order_by("pk").values_list("value", "owner_name")),
        tuple(ImportBatch.objects.order_by("pk").values_list("stored_path")),
        ImportRowError.objects.count(),
        Account.objects.count(),
    )


def test_closed_customers_past_retention_are_anonymised_and_others_untouched(book: Book) -> None:
    recent_before, active_before = personal_data(book.recent_closed), personal_data(book.active)

    report = retention_run(today=TODAY, dry_run=False)

    result = report.result(PERSONAL)
    assert (result.cutoff, result.affected, result.skipped_for_hold) == (dt.date(2027, 1, 1), 2, 0)
    assert result.counts == {"customers": 2, "contact_points": 4}
    for customer in (book.old_closed, book.old_written_off):
        name, id_number, employer, contacts = personal_data(customer)
        assert (name, id_number, employer) == (ANONYMISED_NAME, ANONYMISED_ID_NUMBER, "")
        points = ContactPoint.objects.filter(customer=customer).order_by("pk").values_list("pk", flat=True)
        assert contacts == tuple((f"已匿名#{pk}", "") for pk in points)
        # The rows stay: accounts (money history) and contact points still belong to the customer.
        assert Account.objects.filter(customer=customer).count() == 1
    assert personal_data(book.recent_closed) == recent_before
    assert personal_data(book.active) == active_before


def test_old_import_files_are_deleted_and_the_batch_rows_stay(book: Book) -> None:
    old_path, recent_path = Path(book.old_batch.stored_path), Path(book.recent_batch.stored_path)

    report = retention_run(today=TODAY, dry_run=False)

    result = report.result(FILES)
    assert (result.affected, result.skipped_for_hold) == (1, 0)
    assert result.counts == {"batches": 1, "files_removed": 1, "files_missing": 0}
    assert not old_path.exists()
    assert recent_path.exists()
    book.old_batch.refresh_from_db()
    assert (book.old_batch.stored_path, book.old_batch.filename, book.old_batch.checksum) == (
        "",
        "old.csv",
        book.old_batch.checksum,
    )
    assert ImportBatch.objects.count() == 2
    assert ImportBatch.objects.get(pk=book.recent_batch.pk).stored_path == str(recent_path)


def test_row_errors_of_old_batches_are_deleted(book: Book) -> None:
    report = retention_run(today=TODAY, dry_run=False)

    assert (report.result(ROW_ERRORS).affected, report.result(ROW_ERRORS).skipped_for_hold) == (3, 0)
    assert not ImportRowError.objects.filter(batch=book.old_batch).exists()
    assert ImportRowError.objects.filter(batch=book.recent_batch).count() == 2


def _activity(case, *, at: dt.datetime, recording_ref: str = "", with_decision: bool = True):
    from arrears.cases.models import ActionCode, Activity
    from arrears.compliance.models import Decision

    code, _ = ActionCode.objects.get_or_create(
        code="RPC", defaults={"label": "本人接通", "label_en": "Right-party contact", "category": "contact"}
    )
    decision = (
        Decision.objects.create(
            case=case, channel="call", at=at, purpose="activity", allowed=True, packs=[], inputs={}, result={}
        )
        if with_decision
        else None
    )
    return Activity.objects.create(
        case=case,
        customer=case.customer,
        channel="call",
        direction="outbound",
        started_at=at,
        connected=True,
        right_party=True,
        action_code=code,
        notes="客户说下月还",
        recording_ref=recording_ref,
        decision=decision,
    )


def test_activities_older_than_the_policy_are_deleted_with_their_decisions_holds_respected(
    book: Book,
) -> None:
    from arrears.cases.models import Activity, Promise
    from arrears.compliance.models import Decision
    from arrears.governance.services import legal_hold_place

    case = CaseFactory(account=AccountFactory(customer=book.active, creditor=book.active.creditor))
    held_case = CaseFactory(account=AccountFactory())
    old = _activity(case, at=dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI), recording_ref="REC-1")
    promise = Promise.objects.create(
        case=case,
        activity=old,
        kind="PTP",
        amount_fen=10_000,
        due_at=dt.datetime(2026, 6, 2, tzinfo=SHANGHAI),
    )
    recent = _activity(case, at=dt.datetime(2027, 6, 1, 10, 0, tzinfo=SHANGHAI))
    held = _activity(held_case, at=dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    lone_old = Decision.objects.create(
        case=case,
        channel="call",
        at=dt.datetime(2026, 5, 1, tzinfo=SHANGHAI),
        purpose="check",
        allowed=False,
        packs=[],
        inputs={"notes": "x"},
        result={},
    )
    legal_hold_place(reason="诉讼中", actor=UserFactory(username="counsel"), account=held_case.account)

    result = retention_run(today=TODAY, dry_run=False).result(DataClass.ACTIVITIES_RECORDINGS)

    assert (result.affected, result.skipped_for_hold, result.note) == (1, 1, "")
    assert result.counts == {"activities": 1, "recording_refs": 1, "decisions": 2}
    assert set(Activity.objects.values_list("pk", flat=True)) == {recent.pk, held.pk}
    assert not Decision.objects.filter(pk__in=[old.decision_id, lone_old.pk]).exists()
    assert Decision.objects.filter(pk__in=[recent.decision_id, held.decision_id]).count() == 2
    promise.refresh_from_db()
    assert (promise.activity_id, promise.amount_fen) == (None, 10_000)
    # Nothing is due any more.
    again = retention_run(today=TODAY, dry_run=False).result(DataClass.ACTIVITIES_RECORDINGS)
    assert (again.affected, again.skipped_for_hold) == (0, 1)


def test_the_run_is_recorded_with_counts_per_class_and_events(book: Book) -> None:
    report = retention_run(today=TODAY, dry_run=False)

    run = RetentionRun.objects.get()
    assert report.run_id == run.pk
    assert (run.today, run.state, run.finished_at is not None) == (TODAY, RunState.DONE, True)
    assert {name: (value["affected"], value["skipped_for_hold"]) for name, value in run.results.items()} == {
        PERSONAL: (2, 0),
        FILES: (1, 0),
        ROW_ERRORS: (3, 0),
        DataClass.ACTIVITIES_RECORDINGS: (0, 0),
        DataClass.MESSAGES: (0, 0),
    }
    assert Event.objects.filter(kind="retention.applied", subject_id=run.pk).count() == 5
    done = Event.objects.get(kind="retention.run_done")
    assert done.data["affected"] == {
        PERSONAL: 2,
        FILES: 1,
        ROW_ERRORS: 3,
        DataClass.ACTIVITIES_RECORDINGS: 0,
        DataClass.MESSAGES: 0,
    }


def test_a_dry_run_changes_nothing_and_reports_what_the_real_run_does(book: Book) -> None:
    before = everything()

    dry = retention_run(today=TODAY, dry_run=True)

    assert everything() == before
    assert Path(book.old_batch.stored_path).exists()
    assert dry.run_id is None
    assert not RetentionRun.objects.exists()
    assert not Event.objects.filter(kind__startswith="retention.").exists()

    real = retention_run(today=TODAY, dry_run=False)

    def counts(report: Any) -> list[tuple[str, int, int, dict[str, int]]]:
        return [(r.data_class, r.affected, r.skipped_for_hold, r.counts) for r in report.classes]

    assert counts(dry) == counts(real)
    assert [(r.affected, r.skipped_for_hold) for r in dry.classes] == [(2, 0), (1, 0), (3, 0), (0, 0), (0, 0)]


def test_a_second_run_changes_nothing(book: Book) -> None:
    retention_run(today=TODAY, dry_run=False)
    after_first = everything()

    second = retention_run(today=TODAY, dry_run=False)

    assert everything() == after_first
    assert [(r.affected, r.skipped_for_hold) for r in second.classes] == [
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert RetentionRun.objects.count() == 2


def test_a_disabled_policy_does_nothing(book: Book) -> None:
    RetentionPolicy.objects.filter(data_class=PERSONAL).update(enabled=False)
    before = personal_data(book.old_closed)

    report = retention_run(today=TODAY, dry_run=False)

    assert (report.result(PERSONAL).enabled, report.result(PERSONAL).affected) == (False, 0)
    assert personal_data(book.old_closed) == before
    assert report.result(FILES).affected == 1


def test_a_shorter_policy_reaches_more_recent_closures(book: Book) -> None:
    RetentionPolicy.objects.filter(data_class=PERSONAL).update(days=365)  # cutoff 2031-01-01

    report = retention_run(today=TODAY, dry_run=False)

    assert report.result(PERSONAL).affected == 3
    assert personal_data(book.recent_closed)[0] == ANONYMISED_NAME
    assert personal_data(book.active)[0] == "赵六"


def test_a_customer_under_legal_hold_is_skipped_until_released(book: Book) -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)
    account = Account.objects.get(customer=book.old_closed)
    hold = legal_hold_place(account=account, reason="诉讼中:(2031)京0105民初123号", actor=officer)
    before = personal_data(book.old_closed)

    held = retention_run(today=TODAY, dry_run=False).result(PERSONAL)

    assert (held.affected, held.skipped_for_hold) == (1, 1)
    assert personal_data(book.old_closed) == before
    assert personal_data(book.old_written_off)[0] == ANONYMISED_NAME

    legal_hold_release(hold=hold, actor=officer)
    released = retention_run(today=TODAY, dry_run=False).result(PERSONAL)

    assert (released.affected, released.skipped_for_hold) == (1, 0)
    assert personal_data(book.old_closed)[:3] == (ANONYMISED_NAME, ANONYMISED_ID_NUMBER, "")


def test_a_hold_on_the_customer_keeps_the_files_and_row_errors_that_brought_its_accounts(book: Book) -> None:
    officer = UserFactory(username="carol", role=Role.COMPLIANCE_OFFICER)
    account = Account.objects.get(customer=book.old_closed)
    AccountChange.objects.create(account=account, batch=book.old_batch, kind="created")
    legal_hold_place(customer=book.old_closed, reason="监管调查", actor=officer)

    report = retention_run(today=TODAY, dry_run=False)

    assert (report.result(PERSONAL).affected, report.result(PERSONAL).skipped_for_hold) == (1, 1)
    assert (report.result(FILES).affected, report.result(FILES).skipped_for_hold) == (0, 1)
    assert (report.result(ROW_ERRORS).affected, report.result(ROW_ERRORS).skipped_for_hold) == (0, 3)
    assert Path(book.old_batch.stored_path).exists()
    assert ImportRowError.objects.count() == 5


def test_a_file_already_gone_still_blanks_the_path(book: Book) -> None:
    Path(book.old_batch.stored_path).unlink()

    result = retention_run(today=TODAY, dry_run=False).result(FILES)

    assert result.counts == {"batches": 1, "files_removed": 0, "files_missing": 1}
    assert ImportBatch.objects.get(pk=book.old_batch.pk).stored_path == ""


def test_a_path_outside_the_media_folder_is_never_unlinked(book: Book, tmp_path_factory: Any) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "keep.csv"
    outside.write_text("x", encoding="utf-8")
    ImportBatch.objects.filter(pk=book.old_batch.pk).update(stored_path=str(outside))

    retention_run(today=TODAY, dry_run=False)

    assert outside.exists()
