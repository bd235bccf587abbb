from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate their language in this thread and nothing resets it."""
    yield
    translation.deactivate()
