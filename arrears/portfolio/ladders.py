"""The default bucket ladder from the domain page (seeds 000/003): code, group, min DPD, max DPD."""

DEFAULT_LADDER_CODE = "default"
DEFAULT_LADDER_NAME = "默认账龄 M0–M4+"
DEFAULT_BUCKETS: list[tuple[str, str, int, int | None]] = [
    ("M0", "M0", 0, 0),
    ("M1-1", "M1", 1, 10),
    ("M1-2", "M1", 11, 20),
    ("M1-3", "M1", 21, 29),
    ("M2", "M2", 30, 59),
    ("M3", "M3", 60, 89),
    ("M4+", "M4+", 90, None),
]
