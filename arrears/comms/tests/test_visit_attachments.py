"""Visit attachments: the type is what the bytes say; executables never get stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from arrears.accounts.models import Role
from arrears.comms.models import Visit, VisitAttachment
from arrears.comms.visits import VisitRefused, sniff, visit_attachment_add, visit_cancel
from arrears.conftest import Book
from arrears.core.models import Event
from arrears.tests.factories import ContactPointFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
HEIC_BYTES = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
WEBP_BYTES = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
MP3_ID3_BYTES = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 100
MP3_FRAME_BYTES = b"\xff\xfb\x90\x64" + b"\x00" * 100
M4A_BYTES = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 100
AAC_BYTES = b"\xff\xf1\x50\x80" + b"\x00" * 100
WAV_BYTES = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 100
AMR_BYTES = b"#!AMR\n" + b"\x3c" * 100
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    """Uploads go to a fresh MEDIA_ROOT, so a test can see exactly what was stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def visit(book: Book) -> Visit:
    case = book.case_alice
    address = ContactPointFactory(customer=case.customer, kind="address", value="北京市海淀区中关村大街1号")
    fiona = UserFactory(username="fiona", role=Role.FIELD_COLLECTOR)
    visit = Visit.objects.create(
        case=case,
        address=address,
        planned_at=dt.datetime(2026, 11, 24, 14, 0, tzinfo=SH),
        purpose="面谈",
        recording_device="REC-1",
    )
    visit.visitors.set([fiona, book.alice])
    return visit


def stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file()) if media.exists() else []


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (JPEG_BYTES, "image/jpeg"),
        (PNG_BYTES, "image/png"),
        (HEIC_BYTES, "image/heic"),
        (WEBP_BYTES, "image/webp"),
        (MP3_ID3_BYTES, "audio/mpeg"),
        (MP3_FRAME_BYTES, "audio/mpeg"),
        (M4A_BYTES, "audio/mp4"),
        (AAC_BYTES, "audio/aac"),
        (WAV_BYTES, "audio/wav"),
        (AMR_BYTES, "audio/amr"),
        (EXE_BYTES, None),
        (b"\x7fELF\x02\x01\x01", None),
        (b"PK\x03\x04\x14\x00", None),
        (b"#!/bin/sh\nrm -rf /\n", None),
        (b"\x00\x00\x00\x20ftypisom", None),  # an MP4 video is neither
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),
        (b"GIF89a", None),
        (b"", None),
    ],
)
def test_sniffing_reads_the_magic_numbers(head: bytes, content_type: str | None) -> None:
    sniffed = sniff(head[:64])
    assert (sniffed.content_type if sniffed else None) == content_type


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type"),
    [
        ("现场.jpg", JPEG_BYTES, "photo", "image/jpeg"),
        ("door.JPEG", JPEG_BYTES, "photo", "image/jpeg"),
        ("door.png", PNG_BYTES, "photo", "image/png"),
        ("IMG_0001.HEIC", HEIC_BYTES, "photo", "image/heic"),
        ("door.webp", WEBP_BYTES, "photo", "image/webp"),
        ("talk.mp3", MP3_ID3_BYTES, "audio", "audio/mpeg"),
        ("talk.m4a", M4A_BYTES, "audio", "audio/mp4"),
        ("talk.wav", WAV_BYTES, "audio", "audio/wav"),
        ("talk.amr", AMR_BYTES, "audio", "audio/amr"),
    ],
)
def test_photos_and_recordings_are_stored_with_their_hash(
    visit: Visit, book: Book, media: Path, name: str, data: bytes, kind: str, content_type: str
) -> None:
    # The browser's content type is ignored: the bytes decide.
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    attachment = visit_attachment_add(visit=visit, uploaded_file=upload, actor=book.alice)
    attachment.refresh_from_db()
    assert (attachment.kind, attachment.content_type, attachment.original_name, attachment.size_bytes) == (
        kind,
        content_type,
        name,
        len(data),
    )
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.file.name.startswith("visits/2")
    assert name not in attachment.file.name  # stored under a random name
    [path] = stored_files(media)
    assert path.read_bytes() == data
    assert path.relative_to(media).as_posix() == attachment.file.name
    event = Event.objects.get(kind="visit.attachment_added")
    assert (event.subject_id, event.data["sha256"], event.data["attachment_id"]) == (
        visit.pk,
        attachment.sha256,
        attachment.pk,
    )


def test_an_executable_renamed_jpg_is_refused_and_nothing_is_stored(
    visit: Visit, book: Book, media: Path
) -> None:
    upload = SimpleUploadedFile("photo.jpg", EXE_BYTES, content_type="image/jpeg")
    with pytest.raises(VisitRefused) as refused:
        visit_attachment_add(visit=visit, uploaded_file=upload, actor=book.alice)
    assert refused.value.field == "file"
    assert refused.value.message == "文件 photo.jpg 是可执行文件或压缩包（Windows），不是照片或录音，已拒绝。"
    assert stored_files(media) == []
    assert VisitAttachment.objects.count() == 0
    assert not Event.objects.filter(kind="visit.attachment_added").exists()


@pytest.mark.parametrize(
    "data",
    [b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 50, b"PK\x03\x04" + b"\x00" * 50, b"#!/bin/sh\necho hi\n"],
)
def test_other_executables_and_archives_renamed_jpg_are_refused(
    visit: Visit, book: Book, media: Path, data
) -> None:
    with pytest.raises(VisitRefused) as refused:
        visit_attachment_add(
            visit=visit, uploaded_file=SimpleUploadedFile("photo.jpg", data), actor=book.alice
        )
    assert "photo.jpg" in refused.value.message
    assert (stored_files(media), VisitAttachment.objects.count()) == ([], 0)


def test_a_png_named_jpg_is_refused_because_the_extension_disagrees(
    visit: Visit, book: Book, media: Path
) -> None:
    """Decision: the name must agree with the content. A disagreement is either a mistake or
    a disguise, and the name is what people and other tools go by; renaming is easy."""
    with pytest.raises(VisitRefused) as refused:
        visit_attachment_add(
            visit=visit, uploaded_file=SimpleUploadedFile("door.jpg", PNG_BYTES), actor=book.alice
        )
    assert refused.value.message == "文件 door.jpg 的内容是 PNG，但扩展名是“.jpg”；请使用 .png。"
    assert (stored_files(media), VisitAttachment.objects.count()) == ([], 0)


def test_unknown_content_is_refused(visit: Visit, book: Book, media: Path) -> None:
    with pytest.raises(VisitRefused) as refused:
        visit_attachment_add(
            visit=visit, uploaded_file=SimpleUploadedFile("notes.jpg", b"just some text"), actor=book.alice
        )
    assert refused.value.message.startswith("文件 notes.jpg 不是可接受的照片或录音")
    assert stored_files(media) == []


def test_an_oversize_file_is_refused(visit: Visit, book: Book, media: Path, settings) -> None:
    settings.ARREARS_ATTACHMENT_MAX_BYTES = 1024
    data = JPEG_BYTES + b"\x00" * 1024
    with pytest.raises(VisitRefused) as refused:
        visit_attachment_add(visit=visit, uploaded_file=SimpleUploadedFile("big.jpg", data), actor=book.alice)
    assert refused.value.message == "文件 big.jpg 太大（1.2 KB），上限 1.0 KB。"
    assert (stored_files(media), VisitAttachment.objects.count()) == ([], 0)
    # At the limit exactly, it passes.
    visit_attachment_add(
        visit=visit, uploaded_file=SimpleUploadedFile("ok.jpg", data[:1024]), actor=book.alice
    )
    assert VisitAttachment.objects.count() == 1


def test_an_empty_file_is_refused(visit: Visit, book: Book, media: Path) -> None:
    with pytest.raises(VisitRefused):
        visit_attachment_add(visit=visit, uploaded_file=SimpleUploadedFile("a.jpg", b""), actor=book.alice)
    assert stored_files(media) == []


def test_a_path_in_the_name_never_becomes_a_path(visit: Visit, book: Book, media: Path) -> None:
    upload = SimpleUploadedFile("../../etc/cron.d/x.jpg", JPEG_BYTES)
    attachment = visit_attachment_add(visit=visit, uploaded_file=upload, actor=book.alice)
    assert attachment.original_name == "x.jpg"
    [path] = stored_files(media)
    assert path.parent.parent.parent == media / "visits"


def test_who_may_attach(visit: Visit, book: Book, media: Path) -> None:
    for outsider in (book.bob, book.agnes):
        with pytest.raises(VisitRefused) as refused:
            visit_attachment_add(
                visit=visit, uploaded_file=SimpleUploadedFile("a.jpg", JPEG_BYTES), actor=outsider
            )
        assert refused.value.field == "actor"
    assert stored_files(media) == []
    visit_cancel(visit=visit, actor=book.alice, reason="改期")
    visit.refresh_from_db()
    with pytest.raises(VisitRefused):
        visit_attachment_add(
            visit=visit, uploaded_file=SimpleUploadedFile("a.jpg", JPEG_BYTES), actor=book.alice
        )
    assert stored_files(media) == []
