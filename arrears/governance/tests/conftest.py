from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _retention_policies(request: pytest.FixtureRequest) -> None:
    """The seeded policies, again: a transactional test elsewhere truncates every table, and
    with --reuse-db the migration's rows do not come back."""
    if "db" not in request.fixturenames and request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("db")
    from arrears.governance.services import retention_policy_defaults_ensure

    retention_policy_defaults_ensure()
