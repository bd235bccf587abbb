"""The shell: login, home page, navigation, language switch, and the display filters."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from arrears.core import masking
from arrears.core.templatetags.arrears_tags import (
    change_pairs,
    mask_contact,
    mask_id,
    mask_phone,
    thousands,
    yuan,
)

# The `book` personas' password (arrears/conftest.py). The shared kernel imports no app, not even
# in its tests (import-linter), so these tests reach the book only through fixtures and HTTP.
PASSWORD = "pass-Word-123"


@pytest.fixture(autouse=True)
def _reset_language():
    """Requests activate their language in this thread and nothing resets it: switch back to the
    default after each test, so a test that viewed pages in English cannot leak into the next."""
    yield
    translation.deactivate()


def _text(response) -> str:
    return response.content.decode()


# --- display filters (pure) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (123450, "1,234.50"),
        (1_200_000, "12,000.00"),
        (123_456_789_01, "123,456,789.01"),
        (-50_000, "-500.00"),
        (-7, "-0.07"),
        ("123450", "1,234.50"),
        (None, ""),
        ("abc", ""),
    ],
)
def test_yuan_formats_integer_fen_exactly(fen, shown):
    assert yuan(fen) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("110105198803141237", "110105********1237"),
        ("11010519880314123X", "110105********123X"),
        (" 110105198803141237 ", "110105********1237"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_keeps_first_six_and_last_four(value, shown):
    assert mask_id(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("13812345678", "138****5678"),
        ("02112345678", "021****5678"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_hides_the_middle(value, shown):
    assert mask_phone(value) == shown


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("13812345678", "mobile"),
        ("010-56000000", "home"),
        ("zhangsan@example.com", "email"),
        ("上海市浦东新区世纪大道100号", "address"),
        ("110105880314123", "id"),
        ("12345", "mobile"),
    ],
)
def test_filters_mask_exactly_like_the_api(value, kind):
    # One masking rule for pages and the API: the filters delegate to arrears.core.masking.
    if kind == "id":
        assert mask_id(value) == masking.mask_id_number(value)
    else:
        assert mask_contact(value, kind) == masking.mask_value(kind, value)
    assert value not in (mask_id(value) if kind == "id" else mask_contact(value, kind))


def test_change_pairs_labels_fields_and_shows_money_in_yuan():
    # Labels are translated lazily; pin the language so the result does not depend on test order.
    with translation.override("zh-hans"):
        assert change_pairs(
            {"principal_fen": [1_000_000, 1_200_000], "term": [12, 24], "flags": [[], ["VIP"]]}
        ) == [
            ("本金（元）", "10,000.00", "12,000.00"),
            ("期数", 12, 24),
            ("标记", "—", "VIP"),
        ]
        assert change_pairs({"instalments": 12}) == [("还款计划期数", None, 12)]
        assert change_pairs({"id_number": ["110105198803141237", "110105198803141245"]}) == [
            ("id_number", "110105********1237", "110105********1245")
        ]
        assert change_pairs({}) == []
        assert change_pairs(None) == []


def test_thousands_groups_by_three_digits():
    assert thousands(1234567) == "1,234,567"
    assert thousands(0) == "0"
    assert thousands(None) == ""


# --- login and logout ------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_requires_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_login_page_renders_in_chinese(client):
    response = client.get("/login/")

    html = _text(response)
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert '<h1 class="h4 mb-1">登录</h1>' in html
    assert '<label class="form-label" for="id_username">用户名</label>' in html
    assert '<label class="form-label" for="id_password">密码</label>' in html
    assert 'href="/accounts/"' not in html


def test_login_form_signs_in_and_lands_on_home(client, book):
    response = client.post("/login/", {"username": "sam", "password": PASSWORD}, follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert '<h1 class="h4 mb-0">首页</h1>' in _text(response)


def test_wrong_password_shows_an_error_and_no_session(client, book):
    response = client.post("/login/", {"username": "sam", "password": "wrong"})

    assert response.status_code == 200
    assert "请输入一个正确的用户名和密码。注意，两者都区分大小写。" in _text(response)
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_form(client, book):
    client.force_login(book.sam)

    html = _text(client.get("/"))
    response = client.post("/logout/")

    assert '<form action="/logout/" method="post" class="m-0">' in html
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


# --- home ------------------------------------------------------------------------------------


def test_supervisor_home_shows_the_whole_book(client, book):
    client.force_login(book.sam)

    html = _text(client.get("/"))

    assert '<div class="stat-value" data-testid="count-accounts">4</div>' in html
    assert '<div class="stat-value" data-testid="count-customers">4</div>' in html
    assert '<div class="stat-value num" data-testid="total-principal">48,000.00</div>' in html


def test_collector_home_counts_only_her_scope_and_hides_imports(client, book):
    client.force_login(book.alice)

    html = _text(client.get("/"))

    assert '<div class="stat-value" data-testid="count-accounts">1</div>' in html
    assert '<div class="stat-value" data-testid="count-customers">1</div>' in html
    assert '<div class="stat-value num" data-testid="total-principal">12,000.00</div>' in html
    assert 'href="/imports/"' not in html
    assert "最近导入" not in html
    assert 'href="/admin/"' not in html


def test_home_lists_the_last_five_imports(client, book, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(book.sam)
    creditor_id = book.case_alice.account.creditor_id
    for n in range(6):
        upload = SimpleUploadedFile(f"file-{n}.csv", b"account_no\nA1\n")
        client.post("/imports/", {"creditor": creditor_id, "kind": "accounts", "file": upload})

    response = client.get("/")

    assert [batch.filename for batch in response.context["recent_imports"]] == [
        "file-5.csv",
        "file-4.csv",
        "file-3.csv",
        "file-2.csv",
        "file-1.csv",
    ]
    html = _text(response)
    assert '<td class="text-break">file-5.csv</td>' in html
    assert '<span class="badge text-bg-secondary">排队中</span>' in html
    assert "file-0.csv" not in html


def test_navbar_shows_links_by_role(client, book):
    client.force_login(book.sam)
    sam_html = _text(client.get("/"))
    client.force_login(book.root)
    root_html = _text(client.get("/"))

    assert '<a class="nav-link active" aria-current="page" href="/">首页</a>' in sam_html
    assert '<a class="nav-link" href="/accounts/">账户</a>' in sam_html
    assert '<a class="nav-link" href="/imports/">导入</a>' in sam_html
    assert 'href="/admin/"' not in sam_html
    assert '<a class="nav-link" href="/admin/">管理</a>' in root_html
    assert "sam · 主管" in sam_html


def test_home_query_count_is_pinned(client, book, django_assert_max_num_queries):
    client.force_login(book.sam)

    # session, user, account totals, customer count, recent imports, business date, book by bucket, roll rates.
    # + the session's second-factor check (its first request) and the session save (idle timeout: savepoint, update, release).
    with django_assert_max_num_queries(12):
        client.get("/")


# --- language --------------------------------------------------------------------------------


def test_language_switch_shows_english_labels(client, book):
    client.force_login(book.sam)

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = _text(client.get("/"))

    assert switched.status_code == 302
    assert '<html lang="en">' in html
    assert '<h1 class="h4 mb-0">Home</h1>' in html
    assert '<a class="nav-link" href="/accounts/">Accounts</a>' in html
    assert '<a class="nav-link" href="/imports/">Imports</a>' in html
    assert '<div class="stat-label">Accounts</div>' in html
    assert '<div class="stat-label">Customers</div>' in html
    assert '<div class="stat-label">Total principal (CNY)</div>' in html
    assert "sam · Supervisor" in html
    assert 'lang="zh-Hans" data-testid="language-switch">中文</button>' in html
    assert "首页" not in html


def test_english_account_list_translates_headers_and_choices(client, book):
    client.force_login(book.sam)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    html = _text(client.get("/accounts/"))

    assert '<th scope="col">Account no.</th>' in html
    assert '<th scope="col" class="text-end">Principal (CNY)</th>' in html
    assert '<span class="badge text-bg-primary">Active</span>' in html
    assert '<option value="" selected>All creditors</option>' in html
    assert "Next page" not in html
