"""The audit page: who may read it, its filters and pages, and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arrears.accounts.models import Role
from arrears.audit.models import AuditAction, AuditEntry
from arrears.conftest import Book
from arrears.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def carla(book: Book):
    return UserFactory(username="carla", role=Role.COMPLIANCE_OFFICER)


def _entry(name: str, action: str, day: dt.date, summary: str, **fields) -> AuditEntry:
    # Noon in Beijing on `day`; `created_at` has a default, so it may be set at insert.
    at = dt.datetime.combine(day, dt.time(12, 0), tzinfo=SHANGHAI)
    return AuditEntry.objects.create(actor_name=name, action=action, created_at=at, summary=summary, **fields)


def _summaries(response) -> list[str]:
    return [entry.summary for entry in response.context["page"].entries]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("carla", 200), ("root", 200), ("sam", 403), ("tina", 403), ("alice", 403), ("agnes", 403)],
)
def test_only_compliance_officers_and_admins_may_read_the_trail(client, book: Book, carla, persona, status):
    client.force_login(carla if persona == "carla" else getattr(book, persona))

    assert client.get("/audit/").status_code == status
    assert client.get("/audit/export.csv").status_code == status


def test_nav_link_only_for_readers(client, book: Book, carla):
    client.force_login(carla)
    assert 'href="/audit/"' in client.get("/").content.decode()
    client.force_login(book.sam)
    assert 'href="/audit/"' not in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=zed", ["zed 导出 4-02", "zed 查看 4-01"]),
        ("action=export", ["yan 导出 4-03", "zed 导出 4-02"]),
        ("date_from=2026-04-02&date_to=2026-04-02", ["zed 导出 4-02"]),
        ("object_type=customer", ["zed 查看 4-01"]),
        ("q=查看", ["zed 查看 4-01"]),
        ("actor=zed&action=export", ["zed 导出 4-02"]),
    ],
)
def test_filters_return_exactly_the_matching_entries(client, carla, query, expected):
    _entry(
        "zed",
        AuditAction.READ_UNMASKED,
        dt.date(2026, 4, 1),
        "zed 查看 4-01",
        object_type="customer",
        purpose="核实身份",
    )
    _entry("zed", AuditAction.EXPORT, dt.date(2026, 4, 2), "zed 导出 4-02")
    _entry("yan", AuditAction.EXPORT, dt.date(2026, 4, 3), "yan 导出 4-03")
    client.force_login(carla)

    response = client.get(f"/audit/?{query}")

    assert _summaries(response) == expected


def test_date_range_uses_beijing_days(client, carla):
    # 23:30 in Beijing on 4-01 is 15:30 UTC: still April 1st for the reader.
    AuditEntry.objects.create(
        actor_name="zed",
        action=AuditAction.EXPORT,
        summary="late",
        created_at=dt.datetime(2026, 4, 1, 23, 30, tzinfo=SHANGHAI),
    )
    client.force_login(carla)

    assert _summaries(client.get("/audit/?actor=zed&date_from=2026-04-01&date_to=2026-04-01")) == ["late"]
    assert _summaries(client.get("/audit/?actor=zed&date_from=2026-04-02")) == []
    assert _summaries(client.get("/audit/?actor=zed&date_to=2026-03-31")) == []


def test_invalid_date_range_shows_an_error_and_no_rows(client, carla):
    client.force_login(carla)

    response = client.get("/audit/?date_from=2026-04-05&date_to=2026-04-01")

    assert response.context["page"] is None
    assert "开始日期不能晚于结束日期" in response.content.decode()


def test_keyset_pagination_walks_every_entry_once(client, carla):
    for n in range(55):
        _entry("pager", AuditAction.EXPORT, dt.date(2026, 4, 1), f"p{n:02d}")
    client.force_login(carla)

    first = client.get("/audit/?actor=pager")
    next_id = first.context["page"].next_before_id
    second = client.get(f"/audit/?actor=pager&before={next_id}")

    assert _summaries(first) == [f"p{n:02d}" for n in range(54, 4, -1)]
    assert _summaries(second) == [f"p{n:02d}" for n in range(4, -1, -1)]
    assert second.context["page"].next_before_id is None
    assert f'href="/audit/?actor=pager&amp;before={next_id}"' in first.content.decode()


def test_page_reads_the_trail_in_one_query(client, carla):
    for n in range(5):
        _entry("zed", AuditAction.EXPORT, dt.date(2026, 4, 1), f"e{n}")
    client.force_login(carla)

    # Only the trail's own queries are pinned: session and sign-in middleware add their own.
    with CaptureQueriesContext(connection) as queries:
        client.get("/audit/?actor=zed")

    assert len([q for q in queries.captured_queries if "audit_auditentry" in q["sql"]]) == 1


def test_csv_export_lists_the_filtered_entries_and_records_itself(client, carla):
    _entry(
        "zed",
        AuditAction.READ_UNMASKED,
        dt.date(2026, 4, 1),
        "=cmd|' /C calc'!A0",
        object_type="customer",
        object_id="42",
        purpose="核实身份",
        ip="10.0.0.5",
    )
    _entry("yan", AuditAction.EXPORT, dt.date(2026, 4, 2), "yan 导出")
    client.force_login(carla)

    response = client.get("/audit/export.csv?actor=zed", REMOTE_ADDR="10.7.7.7")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [
        [
            "时间",
            "用户",
            "操作",
            "对象类型",
            "对象编号",
            "摘要",
            "用途",
            "IP 地址",
            "方法",
            "路径",
            "状态码",
            "请求编号",
        ],
        # A formula in a summary is neutralised for spreadsheets.
        [
            "2026-04-01 12:00:00",
            "zed",
            "查看明文",
            "customer",
            "42",
            "'=cmd|' /C calc'!A0",
            "核实身份",
            "10.0.0.5",
            "",
            "",
            "",
            "",
        ],
    ]
    [export] = AuditEntry.objects.filter(actor_name="carla", action=AuditAction.EXPORT)
    assert (export.object_type, export.summary, export.ip, export.path) == (
        "audit_log",
        "导出审计记录 CSV：actor=zed",
        "10.7.7.7",
        "/audit/export.csv",
    )


@pytest.mark.parametrize(("language", "title"), [("zh-hans", "审计日志"), ("en", "Audit log")])
def test_page_title_in_both_languages(client, carla, language, title):
    client.force_login(carla)

    html = client.get("/audit/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<h1 class="h4 mb-0" data-testid="audit-title">{title}</h1>' in html
    assert f"<title>{title} · " in html
