"""The debtor's zone: their own when known, Asia/Shanghai otherwise."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from arrears.core.zones import zone_or_default


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Asia/Urumqi", "Asia/Urumqi"),
        ("America/New_York", "America/New_York"),
        ("", "Asia/Shanghai"),
        (None, "Asia/Shanghai"),
        ("Mars/Olympus", "Asia/Shanghai"),
        ("../etc/passwd", "Asia/Shanghai"),
    ],
)
def test_a_known_zone_or_shanghai(name: str | None, zone: str) -> None:
    assert zone_or_default(name) == ZoneInfo(zone)
