"""Background jobs of the delinquency engine: queued runs and the nightly cron."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from procrastinate.contrib.django import app

from arrears.delinquency.services import EodRefused, eod_run, eod_run_queued


@app.task(name="delinquency.eod_run", queue="eod")
def eod_run_task(run_id: int) -> None:
    eod_run_queued(run_id=run_id)


def business_date_for_nightly_run(now: dt.datetime) -> dt.date:
    """The night run after midnight in Asia/Shanghai closes the day that just ended."""
    local = now.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return local.date() - dt.timedelta(days=1)


# 00:30 Asia/Shanghai is 16:30 UTC the day before; procrastinate's cron runs in UTC.
@app.periodic(cron="30 16 * * *", periodic_id="eod-nightly")
@app.task(name="delinquency.eod_nightly", queue="eod", queueing_lock="eod-nightly")
def eod_nightly(timestamp: int) -> None:
    day = business_date_for_nightly_run(dt.datetime.fromtimestamp(timestamp, tz=dt.UTC))
    try:
        eod_run(business_date=day)
    except EodRefused as refusal:
        if refusal.code != "backdated":  # the day was already closed by hand: nothing to do
            raise
