from __future__ import annotations

from procrastinate.contrib.django import app

from arrears.portfolio import services
from arrears.portfolio.models import ImportKind, ImportStatus


@app.task(name="portfolio.import_batch_run", queue="imports", retry=False)
def import_batch_run_task(*, batch_id: int) -> None:
    """Run one queued import. Safe to re-run: a batch that is no longer pending is left alone."""
    batch = services.import_batch_run_by_id(batch_id=batch_id)
    if batch is not None and batch.kind == ImportKind.PAYMENTS and batch.status == ImportStatus.DONE:
        # Payments keep promises; the workspace settles them at once, not at the next end
        # of day. Named, not imported: file loading does not depend on cases.
        app.configure_task(name="cases.promises_settle_after_import").defer(batch_id=batch.pk)
