from __future__ import annotations

import pytest

from arrears.core.masking import mask_id_number, mask_value


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("mobile", "13812345678", "138****5678"),
        ("home", "010-56000000", "010-****0000"),
        ("work", "0755-86001234", "0755-****1234"),
        ("email", "zhangsan@example.com", "z***@example.com"),
        ("address", "北京市海淀区中关村大街1号", "北京市海淀区****"),
    ],
)
def test_contact_values_are_masked(kind: str, value: str, shown: str) -> None:
    assert mask_value(kind, value) == shown


def test_id_numbers_keep_region_and_last_four() -> None:
    assert mask_id_number("110105198803141237") == "110105********1237"
