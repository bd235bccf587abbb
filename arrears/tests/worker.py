"""Run the background jobs queued so far, the way `arrears worker` would, then return."""

from __future__ import annotations


def run_queued_jobs() -> None:
    from procrastinate.contrib.django import app

    # The Django connector only defers; workers need their own psycopg connector.
    worker_app = app.with_connector(app.connector.get_worker_connector())  # type: ignore[attr-defined]
    worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
