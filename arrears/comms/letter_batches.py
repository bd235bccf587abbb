"""Batch printing of letters: the sent letters not yet printed become one PDF and one CSV
mailing list under `ARREARS_LETTERS_DIR/<batch id>/`.

A letter reaches the print queue only through the sender, which asked the guard at send
time (H10: addressed to the debtor or a liable guarantor only) and left it `sent` with the
print gateway and no batch. Printing takes those rows with `SELECT … FOR UPDATE SKIP
LOCKED`, so two printers running at once never print the same letter: each gets the
letters the other has not locked, and a letter is in exactly one batch.

Everything happens in one transaction: the batch row, the files, `letter_batch` on each
message, a `MessageEvent` per letter and one `comms.letter_batch_printed` event. The files
are written before the commit and removed if anything fails, so there is never a batch
without its files nor files without their batch.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from arrears.comms import rendering
from arrears.comms.letters import (
    LETTER_LABELS,
    LetterContent,
    LetterFont,
    font_missing_characters,
    letter_font,
    letters_pdf,
    split_postcode,
)
from arrears.comms.models import (
    LetterBatch,
    Message,
    MessageChannel,
    MessageEvent,
    MessageEventKind,
    MessageState,
)
from arrears.core.services import event_record
from arrears.portfolio.exports import spreadsheet_safe
from arrears.portfolio.models import ContactKind, OwnerRole

logger = logging.getLogger(__name__)

# Letters go to the debtor or a liable guarantor only (H10); the guard enforces it when the
# letter is sent, and printing checks it again rather than trust that nothing slipped by.
LETTER_RECIPIENT_ROLES = frozenset({OwnerRole.SELF, OwnerRole.GUARANTOR})
# The name of the print-queue gateway (arrears.comms.gateways.letter.PrintQueueGateway).
PRINT_GATEWAY = "print"
# The print room's columns: Chinese whatever the letters' language.
CSV_HEADERS = ("编号", "收件人", "邮编", "地址", "消息编号")


def letters_root() -> Path:
    return Path(settings.ARREARS_LETTERS_DIR)


def letter_reference(message_id: int) -> str:
    """The number printed on a letter and in the mailing list (信函 XH + the outbox id)."""
    return f"XH{message_id:08d}"


# --- reads ----------------------------------------------------------------------------------


def letters_waiting() -> QuerySet[Message]:
    """Letters the sender put in the print queue that no batch has printed yet.

    No index serves this filter yet: on a large outbox it scans the table (a partial index
    on the print queue — channel letter, state sent, no batch — is proposed to the model's owner).
    """
    return Message.objects.filter(
        channel=MessageChannel.LETTER,
        state=MessageState.SENT,
        gateway=PRINT_GATEWAY,
        letter_batch__isnull=True,
        contact_point__kind=ContactKind.ADDRESS,
        contact_point__owner_role__in=LETTER_RECIPIENT_ROLES,
    )


def letters_waiting_count() -> int:
    return letters_waiting().count()


def letter_batch_list(*, limit: int = 50) -> list[LetterBatch]:
    """The latest batches, newest first, with who printed them (uses the primary key)."""
    return list(LetterBatch.objects.select_related("created_by").order_by("-pk")[:limit])


def letter_batch_get(*, batch_id: int) -> LetterBatch | None:
    return LetterBatch.objects.filter(pk=batch_id).first()


def letter_batch_file(*, batch: LetterBatch, kind: str) -> Path | None:
    """The batch's PDF or CSV on disk, or None when it is not there (any more)."""
    relative = batch.pdf_path if kind == "pdf" else batch.csv_path
    if not relative:
        return None
    root = letters_root().resolve()
    path = (root / relative).resolve()
    # The stored path is ours, but never let it point outside the letters folder.
    if root not in path.parents or not path.is_file():
        return None
    return path


# --- the letter's content -------------------------------------------------------------------


def recipient_name(message: Message) -> str:
    point = message.contact_point
    if point.owner_role == OwnerRole.SELF:
        return point.owner_name or message.customer.name
    return point.owner_name or LETTER_LABELS[message.language].guarantor


def letter_content(message: Message, *, today: dt.date) -> LetterContent:
    """What is printed for one outbox letter: its rendered title and body, masked numbers,
    and the fixed texts in the message's (the template's) language."""
    variables = message.variables or {}
    labels = LETTER_LABELS[message.language]
    return LetterContent(
        recipient_name=recipient_name(message),
        address=message.contact_point.value,
        creditor_name=str(variables.get("creditor_name") or message.account.creditor.name),
        date=today,
        title=message.subject or labels.default_title,
        body=message.body,
        reference=letter_reference(message.pk),
        account_last4=rendering.last4(message.account.account_no),
        hotline=str(variables.get("hotline") or settings.ARREARS_HOTLINE),
        language=message.language,
    )


def mailing_list_csv(rows: Sequence[tuple[Message, LetterContent]]) -> bytes:
    """The mailing list: UTF-8 with a BOM so that Excel shows the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADERS)
    for message, content in rows:
        postcode, address = split_postcode(content.address)
        writer.writerow(
            [
                spreadsheet_safe(content.reference),
                spreadsheet_safe(content.recipient_name),
                postcode,
                spreadsheet_safe(address),
                message.pk,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- printing -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Skipped:
    message_id: int
    reason: str


def _printable(
    messages: Sequence[Message], *, today: dt.date, font: LetterFont
) -> tuple[list[tuple[Message, LetterContent]], list[_Skipped]]:
    rows: list[tuple[Message, LetterContent]] = []
    skipped: list[_Skipped] = []
    for message in messages:
        if not message.body.strip():
            skipped.append(_Skipped(message.pk, "empty_body"))
            continue
        if message.language not in LETTER_LABELS:
            # No fixed texts in that language: it waits rather than print Chinese labels.
            skipped.append(_Skipped(message.pk, "unsupported_language:" + message.language))
            continue
        content = letter_content(message, today=today)
        missing = font_missing_characters(font, content.texts())
        if missing:
            # It would print as empty boxes: it waits for a font that has the characters.
            skipped.append(_Skipped(message.pk, "missing_glyphs:" + "".join(missing)))
            continue
        rows.append((message, content))
    return rows, skipped


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


def letter_batch_print(
    *, actor: Any, now: dt.datetime | None = None, limit: int | None = None
) -> LetterBatch | None:
    """Print the waiting letters (at most `limit`) as one batch; None when none wait.

    Safe to run concurrently and to re-run: a letter is locked while it is printed and is
    in one batch only. Letters that cannot be printed (an empty text, a character the font
    lacks, a language without letter labels) stay waiting and are named in the batch event
    and the log.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    folder: Path | None = None
    try:
        with transaction.atomic():
            waiting = (
                letters_waiting()
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            ids = list(waiting[:limit] if limit is not None else waiting)
            if not ids:
                return None
            # Only now: with nothing to print, a machine without the font has nothing to say.
            font = letter_font()
            messages = list(
                Message.objects.filter(pk__in=ids)
                .select_related("account__creditor", "customer", "contact_point")
                .order_by("pk")
            )
            rows, skipped = _printable(messages, today=today, font=font)
            for item in skipped:
                logger.warning("letter %s not printed: %s", item.message_id, item.reason)
            if not rows:
                return None
            batch = LetterBatch.objects.create(
                created_by=actor if getattr(actor, "pk", None) else None, letters=len(rows)
            )
            folder = letters_root() / str(batch.pk)
            folder.mkdir(parents=True, exist_ok=False)
            pdf_name, csv_name = f"letters-{batch.pk}.pdf", f"letters-{batch.pk}.csv"
            _write(folder / pdf_name, letters_pdf([content for _, content in rows], font=font))
            _write(folder / csv_name, mailing_list_csv(rows))
            batch.pdf_path = f"{batch.pk}/{pdf_name}"
            batch.csv_path = f"{batch.pk}/{csv_name}"
            batch.save(update_fields=["pdf_path", "csv_path"])
            printed = [message.pk for message, _ in rows]
            Message.objects.filter(pk__in=printed).update(letter_batch=batch)
            MessageEvent.objects.bulk_create(
                [
                    MessageEvent(
                        message_id=pk,
                        kind=MessageEventKind.PRINTED,
                        at=now,
                        data={"batch": batch.pk},
                    )
                    for pk in printed
                ]
            )
            event_record(
                kind="comms.letter_batch_printed",
                subject=batch,
                actor=actor,
                data={
                    "letters": len(printed),
                    "messages": printed,
                    "pdf": batch.pdf_path,
                    "csv": batch.csv_path,
                    "skipped": [dataclasses.asdict(item) for item in skipped],
                },
            )
            return batch
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
