"""Where uploaded evidence (visit photos and recordings) is kept, from the environment.

``ARREARS_MEDIA_STORAGE=file`` (the default) keeps it under MEDIA_ROOT; ``s3`` keeps it in an
S3-compatible object store through django-storages — AWS S3, Aliyun OSS, Tencent COS, MinIO —
named by ``ARREARS_S3_BUCKET``, ``ARREARS_S3_ENDPOINT_URL``, ``ARREARS_S3_REGION``, the keys
``ARREARS_S3_ACCESS_KEY_ID`` / ``ARREARS_S3_SECRET_ACCESS_KEY`` (or their ``_FILE`` forms),
``ARREARS_S3_PREFIX`` (default ``arrears``), ``ARREARS_S3_ADDRESSING_STYLE`` (``path`` for
most self-hosted stores) and ``ARREARS_S3_DEFAULT_ACL`` (none sent unless set). Objects are
private: the app serves every file itself, after checking who asks and logging it, never
through a public or pre-signed address.
"""

from __future__ import annotations

from typing import Any

from arrears.config.env import env_str

MEDIA_STORAGE_KINDS = ("file", "s3")


def media_storage() -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry the environment asks for; a clear error otherwise."""
    kind = env_str("ARREARS_MEDIA_STORAGE", "file")
    if kind == "file":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ValueError(f"ARREARS_MEDIA_STORAGE={kind!r}: use one of {', '.join(MEDIA_STORAGE_KINDS)}")
    bucket = env_str("ARREARS_S3_BUCKET", "")
    if not bucket:
        raise ValueError("ARREARS_MEDIA_STORAGE=s3 needs ARREARS_S3_BUCKET (and the endpoint and keys)")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env_str("ARREARS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("ARREARS_S3_REGION", "") or None,
            "access_key": env_str("ARREARS_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("ARREARS_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("ARREARS_S3_PREFIX", "arrears"),
            "addressing_style": env_str("ARREARS_S3_ADDRESSING_STYLE", "") or None,
            # No ACL header by default: new AWS buckets refuse ACLs (objects are private to the
            # bucket owner anyway); a store that wants one names it, e.g. "private".
            "default_acl": env_str("ARREARS_S3_DEFAULT_ACL", "") or None,
            "querystring_auth": True,
            "file_overwrite": False,
            "signature_version": "s3v4",
        },
    }
