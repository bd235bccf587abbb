"""The daily retention run."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from procrastinate.contrib.django import app

from arrears.governance.services import retention_run


def local_date(now: dt.datetime) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


# 03:00 Asia/Shanghai is 19:00 UTC the day before; procrastinate's cron runs in UTC. After the
# end-of-day batch (00:30), so the night's closures are in before retention looks at them.
@app.periodic(cron="0 19 * * *", periodic_id="retention-daily")
@app.task(name="governance.retention_daily", queue="governance", queueing_lock="retention-daily")
def retention_daily(timestamp: int) -> None:
    """Safe to re-run: a second run on the same day finds nothing left to do."""
    retention_run(today=local_date(dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)), dry_run=False)
