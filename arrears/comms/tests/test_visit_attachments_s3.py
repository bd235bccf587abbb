"""Visit attachments in an S3-compatible object store (ARREARS_MEDIA_STORAGE=s3), against a
local server that speaks the S3 protocol over HTTP (moto's standalone server)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from moto.server import ThreadedMotoServer

from arrears.comms.models import Visit
from arrears.comms.tests.test_visit_attachments import EXE_BYTES, JPEG_BYTES, visit  # noqa: F401 - fixture
from arrears.comms.visits import VisitRefused, visit_attachment_add
from arrears.config.storage import media_storage
from arrears.conftest import Book

pytestmark = pytest.mark.django_db

BUCKET = "arrears-evidence"
KEYS = {"aws_access_key_id": "local-key", "aws_secret_access_key": "local-secret"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket, and the app's default storage pointed at it the way the environment
    configures it (`config.storage.media_storage`)."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    if BUCKET in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        client.create_bucket(Bucket=BUCKET)
    for name, value in {
        "ARREARS_MEDIA_STORAGE": "s3",
        "ARREARS_S3_BUCKET": BUCKET,
        "ARREARS_S3_ENDPOINT_URL": s3_endpoint,
        "ARREARS_S3_REGION": "us-east-1",
        "ARREARS_S3_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
        "ARREARS_S3_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        "ARREARS_S3_ADDRESSING_STYLE": "path",
    }.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage()}
    return client


def _keys(client: Any) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_photo_goes_to_the_bucket_privately_and_comes_back_through_the_app(
    bucket: Any,
    visit: Visit,  # noqa: F811 - the fixture imported above
    book: Book,
) -> None:
    upload = SimpleUploadedFile("门口.jpg", JPEG_BYTES, content_type="image/jpeg")

    attachment = visit_attachment_add(visit=visit, uploaded_file=upload, actor=book.alice)

    [key] = _keys(bucket)
    assert key == f"arrears/{attachment.file.name}"
    assert attachment.file.name.startswith("visits/2") and attachment.file.name.endswith(".jpg")
    stored = bucket.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == JPEG_BYTES
    assert attachment.sha256 == hashlib.sha256(JPEG_BYTES).hexdigest()
    grants = bucket.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the owner only: private
    client = Client()
    client.force_login(book.alice)
    response = client.get(f"/comms/visits/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG_BYTES  # type: ignore[attr-defined]
    assert response["Content-Disposition"].startswith("attachment;")


def test_an_executable_renamed_jpg_never_reaches_the_bucket(
    bucket: Any,
    visit: Visit,  # noqa: F811 - the fixture imported above
    book: Book,
) -> None:
    upload = SimpleUploadedFile("photo.jpg", EXE_BYTES, content_type="image/jpeg")

    with pytest.raises(VisitRefused):
        visit_attachment_add(visit=visit, uploaded_file=upload, actor=book.alice)

    assert _keys(bucket) == []
    assert visit.attachments.count() == 0


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"ARREARS_MEDIA_STORAGE": "ftp"}, "ARREARS_MEDIA_STORAGE='ftp': use one of file, s3"),
        ({"ARREARS_MEDIA_STORAGE": "s3"}, "ARREARS_MEDIA_STORAGE=s3 needs ARREARS_S3_BUCKET"),
    ],
)
def test_a_bad_storage_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], error: str
) -> None:
    monkeypatch.delenv("ARREARS_S3_BUCKET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=error.replace("(", r"\(")):
        media_storage()


def test_the_default_is_the_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARREARS_MEDIA_STORAGE", raising=False)
    assert media_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
