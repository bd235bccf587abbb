"""Background jobs of the collector's workspace."""

from __future__ import annotations

from procrastinate.contrib.django import app

from arrears.cases.services import promises_settle, promises_settle_after_import
from arrears.portfolio.models import ImportBatch

SETTLE_AFTER_IMPORT = "cases.promises_settle_after_import"


@app.task(name=SETTLE_AFTER_IMPORT, queue="imports")
def promises_settle_after_import_task(*, batch_id: int) -> None:
    """Settle promises against a payments batch just loaded. Safe to re-run (only open
    promises change, once)."""
    promises_settle_after_import(batch=ImportBatch.objects.filter(pk=batch_id).first())


# Promises fall due through the day; a broken one should reach the queue within minutes,
# not at the next end of day (which settles them too).
@app.periodic(cron="*/10 * * * *", periodic_id="promises-settle")
@app.task(name="cases.promises_settle", queue="cases", queueing_lock="promises-settle")
def promises_settle_task(timestamp: int) -> None:
    promises_settle()
