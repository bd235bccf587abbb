"""Writes for the portfolio: reference data (creditors, products) and file imports."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from arrears.core.services import event_record
from arrears.portfolio.ladders import DEFAULT_BUCKETS, DEFAULT_LADDER_CODE, DEFAULT_LADDER_NAME
from arrears.portfolio.models import (
    Bucket,
    BucketLadder,
    Creditor,
    ImportBatch,
    ImportKind,
    ImportStatus,
    Product,
    ProductKind,
)


class PortfolioError(ValueError):
    pass


@transaction.atomic
def creditor_add(*, code: str, name: str, actor: Any = None) -> tuple[Creditor, bool]:
    """Create a creditor, or rename it if the code exists. Safe to re-run; returns (creditor, created)."""
    code = code.strip().upper()
    if not code:
        raise PortfolioError("creditor code is empty")
    creditor, created = Creditor.objects.get_or_create(code=code, defaults={"name": name})
    if created:
        event_record(kind="creditor.created", subject=creditor, actor=actor, data={"name": name})
    elif creditor.name != name:
        event_record(
            kind="creditor.renamed", subject=creditor, actor=actor, data={"from": creditor.name, "to": name}
        )
        creditor.name = name
        creditor.save(update_fields=["name"])
    return creditor, created


@transaction.atomic
def ladder_default_ensure() -> BucketLadder:
    """The default ladder, created if missing (the migration seeds it; a flushed test DB may not)."""
    ladder, created = BucketLadder.objects.get_or_create(
        code=DEFAULT_LADDER_CODE, defaults={"name": DEFAULT_LADDER_NAME}
    )
    if created:
        Bucket.objects.bulk_create(
            Bucket(ladder=ladder, code=code, group=group, min_dpd=low, max_dpd=high)
            for code, group, low, high in DEFAULT_BUCKETS
        )
    return ladder


@transaction.atomic
def product_add(
    *,
    code: str,
    creditor_code: str,
    name: str | None = None,
    kind: str = ProductKind.LOAN,
    ladder_code: str = "default",
    actor: Any = None,
) -> tuple[Product, bool]:
    """Create a product of a creditor (on the default ladder unless told). Safe to re-run."""
    code = code.strip().upper()
    creditor = Creditor.objects.filter(code=creditor_code.strip().upper()).first()
    if creditor is None:
        raise PortfolioError(f"unknown creditor {creditor_code!r}; add it first with `arrears creditor add`")
    ladder = (
        ladder_default_ensure()
        if ladder_code == DEFAULT_LADDER_CODE
        else BucketLadder.objects.filter(code=ladder_code).first()
    )
    if ladder is None:
        raise PortfolioError(f"unknown bucket ladder {ladder_code!r}")
    if kind not in ProductKind.values:
        raise PortfolioError(f"unknown product kind {kind!r}; choose one of {', '.join(ProductKind.values)}")
    product, created = Product.objects.get_or_create(
        creditor=creditor, code=code, defaults={"name": name or code, "kind": kind, "ladder": ladder}
    )
    if created:
        event_record(kind="product.created", subject=product, actor=actor, data={"creditor": creditor.code})
    elif name and product.name != name:
        product.name = name
        product.save(update_fields=["name"])
        event_record(kind="product.renamed", subject=product, actor=actor, data={"name": name})
    return product, created


def _imports_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_batch_create(
    *, creditor: Creditor, kind: str, filename: str, source: IO[bytes] | Path, actor: Any = None
) -> ImportBatch:
    """Store the file under MEDIA_ROOT/imports/ (streamed, with its SHA-256) and record a pending batch."""
    if kind not in ImportKind.values:
        raise PortfolioError(f"unknown import kind {kind!r}; choose one of {', '.join(ImportKind.values)}")
    suffix = Path(filename).suffix.lower()[:8]
    target = _imports_dir() / f"{timezone.now():%Y%m%d}-{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        handle: IO[bytes] = source.open("rb") if isinstance(source, Path) else source
        try:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        finally:
            if isinstance(source, Path):
                handle.close()
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            creditor=creditor,
            kind=kind,
            filename=Path(filename).name[:255],
            stored_path=str(target),
            size_bytes=size,
            checksum=digest.hexdigest(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        event_record(kind="import.created", subject=batch, actor=actor, data={"filename": batch.filename})
    return batch


def import_batch_submit(
    *, creditor: Creditor, kind: str, filename: str, source: IO[bytes] | Path, actor: Any = None
) -> ImportBatch:
    """Store the file and queue its import for the worker (after the batch row is committed)."""
    from arrears.portfolio.tasks import import_batch_run_task

    batch = import_batch_create(creditor=creditor, kind=kind, filename=filename, source=source, actor=actor)
    transaction.on_commit(lambda: import_batch_run_task.defer(batch_id=batch.pk))
    return batch


def import_batch_run(*, batch: ImportBatch, progress: Callable[[int], None] | None = None) -> ImportBatch:
    """Load a pending batch. Structural errors load nothing; row errors reject only their rows.

    Not re-runnable on a finished batch (it is returned unchanged); importing the same
    file again as a new batch is idempotent.
    """
    from arrears.portfolio.importing.loader import run_import

    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    batch.refresh_from_db()
    if not claimed:
        return batch
    run_import(batch=batch, progress=progress)
    batch.refresh_from_db()
    return batch


def import_batch_run_by_id(*, batch_id: int) -> ImportBatch | None:
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    return import_batch_run(batch=batch) if batch is not None else None


def import_file(
    *,
    creditor_code: str,
    kind: str,
    path: Path,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Import a file from disk right now (the CLI path)."""
    creditor = Creditor.objects.filter(code=creditor_code.strip().upper()).first()
    if creditor is None:
        raise PortfolioError(f"unknown creditor {creditor_code!r}; add it first with `arrears creditor add`")
    if not path.is_file():
        raise PortfolioError(f"no such file: {path}")
    batch = import_batch_create(creditor=creditor, kind=kind, filename=path.name, source=path, actor=actor)
    return import_batch_run(batch=batch, progress=progress)


def stored_file_remove(*, batch: ImportBatch) -> None:
    """Delete a batch's stored upload (retention jobs call this)."""
    if batch.stored_path:
        Path(batch.stored_path).unlink(missing_ok=True)
