"""Batch printing: the sent letters not yet printed become one PDF and one CSV mailing list,
in one transaction, never twice, and only letters to the debtor or a guarantor."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from arrears.comms import letter_batches
from arrears.comms.letter_batches import letter_batch_print, letter_reference, letters_waiting_count
from arrears.comms.models import LetterBatch, Message, MessageEvent, MessageState
from arrears.comms.tests.letter_helpers import address_point, sent_letter
from arrears.core.models import Event
from arrears.tests.factories import AccountFactory, CaseFactory, CustomerFactory

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)  # 17:30 in Beijing


@pytest.fixture
def letters_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ARREARS_LETTERS_DIR = tmp_path / "letters"
    return tmp_path / "letters"


def _pdf_pages(batch: LetterBatch, root: Path) -> list[str]:
    reader = pypdf.PdfReader(root / batch.pdf_path)
    return [page.extract_text() for page in reader.pages]


def _csv_rows(batch: LetterBatch, root: Path) -> list[list[str]]:
    data = (root / batch.csv_path).read_bytes()
    assert data.startswith("\ufeff".encode())  # the BOM Excel needs for Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_three_letters_make_one_pdf_and_one_mailing_list(book: Any, letters_dir: Path) -> None:
    guarantor = address_point(
        book.case_bob, owner_role="guarantor", owner_name="王五", value="上海市浦东新区世纪大道100号 200120"
    )
    first = sent_letter(book.case_alice)
    second = sent_letter(book.case_bob, point=guarantor)
    third = sent_letter(book.case_unassigned)

    batch = letter_batch_print(actor=book.sam, now=NOW)

    assert batch is not None
    assert batch.letters == 3
    assert batch.created_by == book.sam
    assert batch.pdf_path == f"{batch.pk}/letters-{batch.pk}.pdf"
    assert batch.csv_path == f"{batch.pk}/letters-{batch.pk}.csv"
    assert sorted(path.name for path in (letters_dir / str(batch.pk)).iterdir()) == [
        f"letters-{batch.pk}.csv",
        f"letters-{batch.pk}.pdf",
    ]
    pages = _pdf_pages(batch, letters_dir)
    assert len(pages) == 3
    for page, message, name in zip(
        pages, [first, second, third], [book.case_alice.customer.name, "王五", "张三"], strict=True
    ):
        assert f"{name}  收" in page
        assert letter_reference(message.pk) in page
        assert "逾期还款提醒函" in page
        assert "2026年11月23日" in page
        assert "第 1 页 / 共 1 页" in page
    assert "上海市浦东新区世纪大道100号" in pages[1]
    assert _csv_rows(batch, letters_dir) == [
        ["编号", "收件人", "邮编", "地址", "消息编号"],
        [
            letter_reference(first.pk),
            "张三",
            "100022",
            "北京市朝阳区建国路88号现代城A座1201室",
            str(first.pk),
        ],
        [letter_reference(second.pk), "王五", "200120", "上海市浦东新区世纪大道100号", str(second.pk)],
        [
            letter_reference(third.pk),
            "张三",
            "100022",
            "北京市朝阳区建国路88号现代城A座1201室",
            str(third.pk),
        ],
    ]
    assert set(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
        third.pk,
    }
    events = list(MessageEvent.objects.filter(message__letter_batch=batch).order_by("message_id"))
    assert [(e.message_id, e.kind, e.at, e.data) for e in events] == [
        (m.pk, "printed", NOW, {"batch": batch.pk}) for m in (first, second, third)
    ]
    event = Event.objects.get(kind="comms.letter_batch_printed")
    assert event.subject_type == "comms.letterbatch"
    assert event.subject_id == batch.pk
    assert event.actor == book.sam
    assert event.data == {
        "letters": 3,
        "messages": [first.pk, second.pk, third.pk],
        "pdf": batch.pdf_path,
        "csv": batch.csv_path,
        "skipped": [],
    }
    assert letters_waiting_count() == 0


def test_nothing_waiting_prints_nothing(book: Any, letters_dir: Path, settings: Any) -> None:
    settings.ARREARS_LETTER_FONT = "/nonexistent/font.ttc"  # not even looked for
    assert letter_batch_print(actor=book.sam, now=NOW) is None
    settings.ARREARS_LETTER_FONT = ""
    sent_letter(book.case_alice)
    assert letter_batch_print(actor=book.sam, now=NOW) is not None

    # A second run finds every letter printed already.
    assert letter_batch_print(actor=book.sam, now=NOW) is None
    assert LetterBatch.objects.count() == 1
    assert Event.objects.filter(kind="comms.letter_batch_printed").count() == 1


def test_only_sent_letters_to_the_debtor_or_a_guarantor_are_printed(book: Any, letters_dir: Path) -> None:
    case = book.case_alice
    home = address_point(case)
    friend = address_point(case, owner_role="friend", owner_name="赵六", value="北京市海淀区中关村大街1号")
    printed = sent_letter(case, point=home)
    sent_letter(case, point=home, state=MessageState.QUEUED)
    sent_letter(case, point=home, state=MessageState.FAILED)
    sent_letter(case, point=home, state=MessageState.CANCELLED)
    # The guard blocked the letter to a third party at send time (H10).
    sent_letter(case, point=friend, state=MessageState.BLOCKED)
    # Were one ever marked sent by mistake, printing still leaves it out.
    sent_letter(case, point=friend)
    # Not letters of the print queue: a sent SMS, a letter sent through another gateway.
    sent_letter(case, point=home, channel="sms", gateway="file")
    sent_letter(case, point=home, gateway="file")
    assert letters_waiting_count() == 1

    batch = letter_batch_print(actor=book.tina, now=NOW)

    assert batch is not None
    assert list(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == [printed.pk]
    assert len(_pdf_pages(batch, letters_dir)) == 1
    assert "赵六" not in (letters_dir / batch.csv_path).read_text(encoding="utf-8-sig")
    assert Message.objects.filter(letter_batch__isnull=False).count() == 1
    assert letter_batch_print(actor=book.tina, now=NOW) is None


def test_the_letters_show_masked_numbers_only(book: Any, letters_dir: Path) -> None:
    customer = CustomerFactory(name="孙七", id_number="11010519880314123X")
    case = CaseFactory(account=AccountFactory(account_no="6222021234567890", customer=customer))
    # A template that (wrongly) printed the full numbers: they still come out masked.
    body = "尊敬的孙七：\n您的账户6222021234567890（证件号11010519880314123X）已逾期。"
    sent_letter(case, body=body)

    batch = letter_batch_print(actor=book.sam, now=NOW)

    assert batch is not None
    text = "".join(_pdf_pages(batch, letters_dir)).replace("\n", "")
    assert "6222021234567890" not in text
    assert "11010519880314123X" not in text
    assert "账户尾号：7890" in text
    assert "您的账户****7890（证件号****123X）已逾期。" in text
    mailing_list = (letters_dir / batch.csv_path).read_text(encoding="utf-8-sig")
    assert "6222021234567890" not in mailing_list
    assert "11010519880314123X" not in mailing_list


def test_a_failure_leaves_no_batch_and_no_files(
    book: Any, letters_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter = sent_letter(book.case_alice)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("event table unavailable")

    monkeypatch.setattr(letter_batches, "event_record", broken)
    with pytest.raises(RuntimeError):
        letter_batch_print(actor=book.sam, now=NOW)

    assert LetterBatch.objects.count() == 0
    assert list(letters_dir.iterdir()) == []  # the files written before the failure are gone
    letter.refresh_from_db()
    assert letter.letter_batch is None
    assert not MessageEvent.objects.filter(message=letter).exists()
    assert letters_waiting_count() == 1


def test_the_limit_prints_the_oldest_letters_first(book: Any, letters_dir: Path) -> None:
    point = address_point(book.case_alice)
    letters = [sent_letter(book.case_alice, point=point) for _ in range(3)]

    batch = letter_batch_print(actor=book.sam, now=NOW, limit=2)

    assert batch is not None
    assert sorted(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == [
        letters[0].pk,
        letters[1].pk,
    ]
    assert letters_waiting_count() == 1


def test_a_letter_the_font_cannot_print_waits_and_is_named(book: Any, letters_dir: Path) -> None:
    point = address_point(book.case_alice)
    good = sent_letter(book.case_alice, point=point)
    odd = sent_letter(book.case_alice, point=point, body="尊敬的客户：\n请尽快还款😀")

    batch = letter_batch_print(actor=book.sam, now=NOW)

    assert batch is not None
    assert list(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == [good.pk]
    event = Event.objects.get(kind="comms.letter_batch_printed")
    assert event.data["skipped"] == [{"message_id": odd.pk, "reason": "missing_glyphs:😀"}]
    assert letters_waiting_count() == 1


EN_BODY = (
    "Dear customer,\n\nYour account ending ${last4} is 15 days past due. Please pay as soon as possible."
)


def test_a_mixed_batch_prints_each_letter_in_its_message_language(book: Any, letters_dir: Path) -> None:
    """Chinese and English letters in one batch: each gets the fixed texts of its language,
    and a letter without a subject the default title of its language."""
    guarantor = address_point(
        book.case_bob, owner_role="guarantor", value="上海市浦东新区世纪大道100号 200120"
    )
    chinese = sent_letter(book.case_alice, subject="")
    english = sent_letter(book.case_bob, point=guarantor, subject="", body=EN_BODY, language="en")
    titled = sent_letter(book.case_unassigned, subject="Final reminder", body=EN_BODY, language="en")

    batch = letter_batch_print(actor=book.sam, now=NOW)

    assert batch is not None and batch.letters == 3
    pages = _pdf_pages(batch, letters_dir)
    assert len(pages) == 3
    assert "催收通知函" in pages[0]
    assert f"{book.case_alice.customer.name}  收" in pages[0]
    assert f"编号：{letter_reference(chinese.pk)}" in pages[0]
    assert "日期：2026年11月23日" in pages[0]
    assert "第 1 页 / 共 1 页" in pages[0]
    assert "Page" not in pages[0] and "Notice" not in pages[0]
    for page, message, title, name in (
        (pages[1], english, "Notice of overdue payment", "Guarantor"),
        (pages[2], titled, "Final reminder", "张三"),
    ):
        assert title in page
        assert f"To: {name}" in page
        assert f"Reference: {letter_reference(message.pk)}" in page
        assert "Date: 23 November 2026" in page
        assert "Account ending: " in page
        assert "If you have any questions, please call our hotline 400-000-0000." in page
        assert "Page 1 of 1" in page
        assert f"Reference {letter_reference(message.pk)}" in page
        for label in ("收", "编号", "日期", "账户尾号", "客服热线", "第 1 页", "如有疑问", "催收通知函"):
            assert label not in page
    # The mailing list is the print room's: Chinese headers whatever the letters' language.
    rows = _csv_rows(batch, letters_dir)
    assert rows[0] == ["编号", "收件人", "邮编", "地址", "消息编号"]
    assert [row[1] for row in rows[1:]] == ["张三", "Guarantor", "张三"]


def test_a_letter_in_a_language_without_labels_waits_and_is_named(book: Any, letters_dir: Path) -> None:
    point = address_point(book.case_alice)
    good = sent_letter(book.case_alice, point=point)
    odd = sent_letter(book.case_alice, point=point, body=EN_BODY, language="fr")

    batch = letter_batch_print(actor=book.sam, now=NOW)

    assert batch is not None
    assert list(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == [good.pk]
    event = Event.objects.get(kind="comms.letter_batch_printed")
    assert event.data["skipped"] == [{"message_id": odd.pk, "reason": "unsupported_language:fr"}]
    odd.refresh_from_db()
    assert odd.letter_batch_id is None
    assert not MessageEvent.objects.filter(message=odd).exists()
    assert letters_waiting_count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_printers_never_share_a_letter(
    book: Any, letters_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Printer A takes two letters and is still rendering them when printer B runs: B skips
    A's locked letters and prints the other two; every letter ends in exactly one batch."""
    point = address_point(book.case_alice)
    letters = [sent_letter(book.case_alice, point=point) for _ in range(4)]
    rendering, release = threading.Event(), threading.Event()
    real_letters_pdf = letter_batches.letters_pdf

    def letters_pdf(contents: Any, **kwargs: Any) -> bytes:
        if threading.current_thread().name == "printer-a":
            rendering.set()
            assert release.wait(60)
        return real_letters_pdf(contents, **kwargs)

    monkeypatch.setattr(letter_batches, "letters_pdf", letters_pdf)
    results: dict[str, Any] = {}

    def printer_a() -> None:
        try:
            results["a"] = letter_batch_print(actor=None, now=NOW, limit=2)
        except BaseException as error:  # reported by the assertions below
            results["a_error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=printer_a, name="printer-a")
    thread.start()
    try:
        assert rendering.wait(60)
        batch_b = letter_batch_print(actor=None, now=NOW)
    finally:
        release.set()
        thread.join(120)

    assert "a_error" not in results
    batch_a = results["a"]
    assert batch_a is not None and batch_b is not None
    in_a = sorted(Message.objects.filter(letter_batch=batch_a).values_list("pk", flat=True))
    in_b = sorted(Message.objects.filter(letter_batch=batch_b).values_list("pk", flat=True))
    assert in_a == [letters[0].pk, letters[1].pk]
    assert in_b == [letters[2].pk, letters[3].pk]
    assert batch_a.letters == 2 and batch_b.letters == 2
    assert MessageEvent.objects.filter(kind="printed").count() == 4
    assert letter_batch_print(actor=None, now=NOW) is None


def test_the_command_prints_and_says_where_the_files_are(book: Any, letters_dir: Path) -> None:
    out = io.StringIO()
    call_command("letters", "print", stdout=out)
    assert out.getvalue() == "No letters waiting to print.\n"

    sent_letter(book.case_alice)
    out = io.StringIO()
    call_command("letters", "print", stdout=out)

    batch = LetterBatch.objects.get()
    assert batch.created_by is None
    assert out.getvalue() == (
        f"Printed letter batch #{batch.pk}: 1 letter(s).\n"
        f"  PDF: {(letters_dir / batch.pdf_path).resolve()}\n"
        f"  CSV: {(letters_dir / batch.csv_path).resolve()}\n"
    )


def test_from_the_outbox_to_the_batch_only_the_debtors_letter_is_printed(
    book: Any, action_codes: None, letters_dir: Path
) -> None:
    """End to end with the sender: a letter to the debtor and one to a friend are queued;
    the guard blocks the friend's at send time (H10), the debtor's goes to the print queue,
    and the batch prints it with the rendered, masked text."""
    from zoneinfo import ZoneInfo

    from arrears.comms.services import message_queue, outbox_send_due
    from arrears.comms.tests.outbox_helpers import account_state, approved_template
    from arrears.delinquency.tests.books import ensure_calendar

    ensure_calendar()
    customer = CustomerFactory(name="周八", id_number="110105198803141237")
    case = CaseFactory(account=AccountFactory(account_no="6222021234567890", customer=customer))
    account_state(
        case.account,
        as_of=dt.date(2026, 11, 24),
        overdue_fen=123_456,
        outstanding_fen=900_000,
        delinquent_since=dt.date(2026, 11, 9),
        bucket="M1",
        next_due_date=dt.date(2026, 12, 9),
    )
    template = approved_template(
        "LETTER_TEST",
        "尊敬的${customer_name}：\n您尾号${account_last4}的账户（证件号尾号${id_last4}）已逾期${days_past_due}天，"
        "逾期金额${overdue_amount}元。请通过官方渠道还款，咨询${hotline}。",
        channel="letter",
        subject="逾期还款通知函",
    )
    home = address_point(case)
    friend = address_point(case, owner_role="friend", owner_name="赵六", value="北京市海淀区中关村大街1号")
    at = dt.datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    to_debtor = message_queue(
        case=case, contact_point=home, template=template, actor=book.sam, scheduled_at=at, now=at
    )
    to_friend = message_queue(
        case=case, contact_point=friend, template=template, actor=book.sam, scheduled_at=at, now=at
    )

    outbox_send_due(now=at)

    to_debtor.refresh_from_db()
    to_friend.refresh_from_db()
    assert (to_debtor.state, to_debtor.gateway, to_debtor.letter_batch_id) == ("sent", "print", None)
    assert to_friend.state == "blocked"
    assert letters_waiting_count() == 1

    batch = letter_batch_print(actor=book.sam, now=at + dt.timedelta(minutes=5))

    assert batch is not None
    assert list(Message.objects.filter(letter_batch=batch).values_list("pk", flat=True)) == [to_debtor.pk]
    text = "".join(_pdf_pages(batch, letters_dir)).replace("\n", "")
    assert "逾期还款通知函" in text
    assert "周八  收" in text
    assert "您尾号7890的账户（证件号尾号1237）已逾期15天，逾期金额1,234.56元。" in text
    assert "6222021234567890" not in text and "110105198803141237" not in text
    assert "赵六" not in text
    to_friend.refresh_from_db()
    assert to_friend.letter_batch_id is None


def test_without_a_font_nothing_is_printed_and_the_error_says_what_to_install(
    book: Any, letters_dir: Path, settings: Any
) -> None:
    from arrears.comms.letters import LetterFontError

    letter = sent_letter(book.case_alice)
    settings.ARREARS_LETTER_FONT = "/nonexistent/font.ttc"

    with pytest.raises(LetterFontError, match="apt-get install fonts-noto-cjk"):
        letter_batch_print(actor=book.sam, now=NOW)

    assert LetterBatch.objects.count() == 0
    assert not letters_dir.exists() or list(letters_dir.iterdir()) == []
    letter.refresh_from_db()
    assert letter.letter_batch is None
    out = io.StringIO()
    with pytest.raises(CommandError, match="fonts-noto-cjk"):
        call_command("letters", "print", stdout=out)
