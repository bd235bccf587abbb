"""Background jobs of communications: the outbox drains every minute."""

from __future__ import annotations

from procrastinate.contrib.django import app

from arrears.comms.services import outbox_send_due

SEND_DUE = "comms.outbox_send_due"


# Every minute: a message is at most a minute late. The queueing lock keeps one waiting
# job; several workers may still run it at once safely (each claims different rows).
@app.periodic(cron="* * * * *", periodic_id="outbox-send")
@app.task(name=SEND_DUE, queue="comms", queueing_lock="outbox-send")
def outbox_send_due_task(timestamp: int | None = None) -> None:
    outbox_send_due()
