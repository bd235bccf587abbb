from __future__ import annotations

from procrastinate.contrib.django import app

from arrears.portfolio import services


@app.task(name="portfolio.import_batch_run", queue="imports", retry=False)
def import_batch_run_task(*, batch_id: int) -> None:
    """Run one queued import. Safe to re-run: a batch that is no longer pending is left alone."""
    services.import_batch_run_by_id(batch_id=batch_id)
