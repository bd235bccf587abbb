"""Schemathesis over the whole OpenAPI spec (issue #6 part 7): generated requests, valid and
invalid, for every operation — no answer may be a server error.

The requests go through Django's real WSGI application (middleware, authentication, throttles,
views, the test database) in-process, which is what a live server would run, minus the socket.
Bounded and deterministic: a fixed number of examples per operation and mode, derandomised, no
example database; once as a supervisor (who may do everything the API offers) and once as a
collector (whose scope is one case).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from arrears.accounts.services import token_create
from arrears.config.wsgi import application
from arrears.conftest import Book

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12
EXPECTED_OPERATIONS = {
    "POST /api/v1/imports",
    "GET /api/v1/imports/{batch_id}",
    "GET /api/v1/accounts",
    "GET /api/v1/accounts/{account_id}",
    "GET /api/v1/cases",
    "GET /api/v1/cases/{case_id}",
    "POST /api/v1/cases/{case_id}/assignment",
    "POST /api/v1/eod/runs",
    "GET /api/v1/eod/runs/{run_id}",
    # the workspace (issue #4)
    "GET /api/v1/cases/{case_id}/activities",
    "POST /api/v1/cases/{case_id}/activities",
    "GET /api/v1/cases/{case_id}/promises",
    "POST /api/v1/cases/{case_id}/promises",
    "GET /api/v1/cases/{case_id}/holds",
    "POST /api/v1/cases/{case_id}/holds",
    "DELETE /api/v1/cases/{case_id}/holds/{hold_id}",
    "PATCH /api/v1/contact-points/{point_id}",
    "PATCH /api/v1/customers/{customer_id}",
    "GET /api/v1/queue",
    "POST /api/v1/queue/next",
    # the compliance guard
    "POST /api/v1/compliance/check",
    "GET /api/v1/cases/{case_id}/decisions",
    "GET /api/v1/compliance/packs",
    "PUT /api/v1/compliance/packs/{pack_id}",
    "GET /api/v1/creditors/{code}/policy-packs",
    "PUT /api/v1/creditors/{code}/policy-packs",
    # field visits (issue #5)
    "GET /api/v1/visits/today",
    "POST /api/v1/visits",
    "GET /api/v1/visits/{visit_id}",
    "POST /api/v1/visits/{visit_id}/record",
    "POST /api/v1/visits/{visit_id}/cancel",
    "POST /api/v1/visits/{visit_id}/attachments",
    # a case's messages (issue #5)
    "GET /api/v1/cases/{case_id}/messages",
    "POST /api/v1/cases/{case_id}/messages",
    # provider callbacks (signed, no user authentication)
    "POST /api/v1/comms/receipts/{provider}",
    "POST /api/v1/comms/inbound/{provider}",
}


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    """The WSGI handler closes stale database connections when a request starts and ends; the
    test's connection holds the test transaction, so keep it open (as Django's test client does)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.usefixtures("_keep_test_connection")
@pytest.mark.parametrize("persona", ["sam", "alice"])
def test_no_server_errors(book: Book, persona: str, settings: Any, tmp_path: Any) -> None:
    # Uploads land in a scratch directory; the rate limits would otherwise answer 429 part way.
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ARREARS_API_RATE_PER_USER = settings.ARREARS_API_RATE_PER_TOKEN = "100000/min"
    _, secret = token_create(name=f"schemathesis-{persona}", user=getattr(book, persona))
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} == EXPECTED_OPERATIONS
    calls: list[str] = []

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                response = case.call(headers=headers)
                calls.append(f"{case.method} {case.formatted_path} {response.status_code}")
                case.validate_response(response, checks=[not_a_server_error])

            call()

    # Bounded, and every operation was exercised.
    assert len(operations) * 2 <= len(calls) <= len(operations) * 2 * EXAMPLES_PER_OPERATION
    assert not [line for line in calls if line.endswith((" 500", " 502", " 503"))]
