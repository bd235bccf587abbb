"""Login and sessions: password hashing, lockout, the second factor, idle timeout, CSRF,
security headers and the Content-Security-Policy, API rate limits (docs/security.md)."""

from __future__ import annotations

import datetime as dt
import re
from binascii import unhexlify
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from arrears.accounts.services import token_create
from arrears.accounts.views import SETUP_KEY_SESSION_KEY
from arrears.core.models import Event

# The `book` personas' password (arrears/conftest.py). Users know nothing of the book
# (import-linter), not even in tests, so the personas come only through the fixture.
PASSWORD = "pass-Word-123"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9AM = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret, hex


def _code(key: str = KEY) -> str:
    return f"{TOTP(unhexlify(key)).token():06d}"


def _wrong_code(key: str = KEY) -> str:
    return f"{(int(_code(key)) + 1) % 1_000_000:06d}"


def _logged_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def admin_second_factor_on(settings):
    settings.ARREARS_REQUIRE_ADMIN_2FA = True


# --- production settings ---------------------------------------------------------------------


def test_production_settings_hash_with_argon2_first_and_require_admin_second_factor():
    # conftest swaps in a fast hasher and turns the admin second factor off; the module keeps
    # what production runs.
    from arrears.config import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production.ARREARS_REQUIRE_ADMIN_2FA is True
    assert production.SESSION_COOKIE_AGE == 30 * 60
    assert production.SESSION_SAVE_EVERY_REQUEST is True
    assert production.AXES_FAILURE_LIMIT == 5
    assert production.AXES_COOLOFF_TIME.total_seconds() == 30 * 60


def test_argon2_hashes_new_passwords_and_older_pbkdf2_hashes_still_verify(settings):
    from arrears.config import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    old_hash = make_password("old-Secret-1", hasher="pbkdf2_sha256")

    assert make_password("new-Secret-1").startswith("argon2$")
    assert check_password("old-Secret-1", old_hash) is True
    assert check_password("wrong", old_hash) is False


# --- lockout ---------------------------------------------------------------------------------


def _try_login(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_for_the_right_password_until_the_window_ends(client, book):
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        for _ in range(4):
            response = _try_login(client, "alice", "wrong")
            assert response.status_code == 200
            assert "该账号" not in response.content.decode()

        fifth = _try_login(client, "alice", "wrong")
        assert fifth.status_code == 429
        locked_text = "该账号因连续 5 次登录失败已被锁定，请于 2026-03-02 09:30（北京时间）之后再试。"
        assert locked_text in fifth.content.decode()

        # Locked: the right password is refused too, and the attempt is written nowhere.
        events_before = Event.objects.count()
        traveller.shift(dt.timedelta(minutes=29))
        right_password = _try_login(client, "alice", PASSWORD)
        assert right_password.status_code == 429
        assert locked_text in right_password.content.decode()
        assert _logged_in_user_id(client) is None
        assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [("alice", 5)]
        assert Event.objects.count() == events_before
        book.alice.refresh_from_db()
        assert book.alice.last_login is None

        # Another user is not affected.
        assert _try_login(Client(), "bob", PASSWORD).status_code == 302

        # After the window the right password works and the failures are forgotten.
        traveller.shift(dt.timedelta(minutes=1, seconds=1))
        unlocked = _try_login(client, "alice", PASSWORD)
        assert unlocked.status_code == 302
        assert unlocked["Location"] == "/"
        assert _logged_in_user_id(client) == str(book.alice.pk)
        assert AccessAttempt.objects.filter(username="alice").count() == 0


@pytest.mark.django_db
def test_lockout_message_is_translated_to_english(client, book):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(MONDAY_9AM, tick=False):
        for _ in range(5):
            response = _try_login(client, "alice", "wrong")

    assert response.status_code == 429
    assert (
        "This account is locked after 5 failed logins. Try again after 2026-03-02 09:30 (Beijing time)."
        in response.content.decode()
    )


@pytest.mark.django_db
def test_force_login_and_bearer_tokens_are_not_touched_by_the_lockout(client, book):
    for _ in range(5):
        _try_login(Client(), "sam", "wrong")
    _, secret = token_create(name="nightly", user=book.sam)

    api = Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})
    client.force_login(book.sam)

    assert api.status_code == 200
    assert client.get("/cases/").status_code == 200


# --- second factor ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_without_a_device_is_sent_to_set_up_and_a_wrong_code_enables_nothing(
    client, book, admin_second_factor_on
):
    client.force_login(book.root)

    response = client.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/security/two-factor/setup/?next=%2Faccounts%2F"
    assert client.get("/admin/")["Location"] == "/security/two-factor/setup/?next=%2Fadmin%2F"
    assert client.get("/api/v1/cases").status_code == 401

    setup = client.get(response["Location"])
    assert setup.status_code == 200
    key = client.session[SETUP_KEY_SESSION_KEY]
    page = setup.content.decode()
    secret = setup.context["secret"]
    assert len(secret) == 32
    assert f'data-testid="totp-secret">{secret}<' in page
    assert (
        f"otpauth://totp/Arrears%3Aroot?secret={secret}&amp;algorithm=SHA1&amp;digits=6&amp;period=30&amp;issuer=Arrears"
        in page
    )
    assert '<div class="qr-code text-center mb-3" data-testid="qr-code"><svg ' in page

    wrong = client.post("/security/two-factor/setup/?next=/accounts/", {"code": _wrong_code(key)})
    assert wrong.status_code == 200
    assert "验证码不正确，请重试。" in wrong.content.decode()
    assert TOTPDevice.objects.count() == 0
    assert Event.objects.filter(kind="second_factor.enabled").count() == 0
    assert client.get("/accounts/").status_code == 302

    confirmed = client.post("/security/two-factor/setup/", {"code": _code(key), "next": "/accounts/"})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/accounts/"
    assert list(TOTPDevice.objects.values_list("user__username", "confirmed", "key")) == [("root", True, key)]
    assert Event.objects.filter(kind="second_factor.enabled", actor=book.root).count() == 1
    assert client.get("/accounts/").status_code == 200
    assert client.get("/api/v1/cases").status_code == 200


@pytest.mark.django_db
def test_admin_with_a_device_must_enter_a_code_before_any_page(client, book, admin_second_factor_on):
    TOTPDevice.objects.create(user=book.root, name="default", key=KEY, confirmed=True)
    client.force_login(book.root)

    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"] == "/security/two-factor/verify/?next=%2Fcases%2F"
    assert client.get("/api/v1/cases").status_code == 401

    wrong = client.post("/security/two-factor/verify/", {"code": _wrong_code(), "next": "/cases/"})
    assert wrong.status_code == 200
    assert "验证码不正确，请重试。" in wrong.content.decode()
    assert client.get("/cases/").status_code == 302

    # django-otp throttles after a wrong code; wait that out before the right one.
    with time_machine.travel(dt.datetime.now(tz=SHANGHAI) + dt.timedelta(seconds=2)):
        right = client.post("/security/two-factor/verify/", {"code": _code(), "next": "/cases/"})
    assert right.status_code == 302
    assert right["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


@pytest.mark.django_db
def test_admin_bearer_token_needs_no_second_factor(book, admin_second_factor_on):
    _, secret = token_create(name="admin-script", user=book.root)

    response = Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200


@pytest.mark.django_db
def test_admin_second_factor_can_be_switched_off_for_the_demo(client, book, settings):
    settings.ARREARS_REQUIRE_ADMIN_2FA = False
    client.force_login(book.root)

    assert client.get("/accounts/").status_code == 200


@pytest.mark.django_db
def test_collector_enables_the_second_factor_and_must_then_verify_at_login(client, book):
    client.force_login(book.alice)
    security = client.get("/security/")
    assert "未启用" in security.content.decode()
    client.get("/security/two-factor/setup/")
    key = client.session[SETUP_KEY_SESSION_KEY]
    assert client.post("/security/two-factor/setup/", {"code": _code(key)}).status_code == 302

    client.post("/logout/")
    client.post("/login/", {"username": "alice", "password": PASSWORD})

    response = client.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/security/two-factor/verify/?next=%2Faccounts%2F"


@pytest.mark.django_db
def test_collector_without_a_device_is_not_asked_for_a_code(client, book, admin_second_factor_on):
    client.force_login(book.alice)

    assert client.get("/accounts/").status_code == 200


# --- sessions and CSRF -----------------------------------------------------------------------


@pytest.mark.django_db
def test_session_ends_after_thirty_idle_minutes_and_each_request_renews_it(client, book):
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        client.force_login(book.alice)
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/accounts/").status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/accounts/").status_code == 200

        traveller.shift(dt.timedelta(minutes=30, seconds=1))
        response = client.get("/accounts/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/accounts/"


@pytest.mark.django_db
def test_a_post_without_csrf_token_is_refused_and_changes_nothing(book):
    TOTPDevice.objects.create(user=book.alice, name="default", key=KEY, confirmed=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(book.alice)

    response = client.post("/security/two-factor/verify/", {"code": _code(), "next": "/accounts/"})

    assert response.status_code == 403
    assert client.get("/accounts/")["Location"] == "/security/two-factor/verify/?next=%2Faccounts%2F"
    assert TOTPDevice.objects.get(user=book.alice).last_t == -1


@pytest.mark.django_db
def test_a_login_post_without_csrf_token_is_refused(book):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert _logged_in_user_id(client) is None


# --- headers and the Content-Security-Policy -------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client, book):
    response = client.get("/login/")

    assert response["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_rendered_pages_have_no_inline_script_handler_or_style(client, book):
    TOTPDevice.objects.create(user=book.alice, name="default", key=KEY, confirmed=True)
    pages: list[tuple[Client, str]] = [(Client(), "/login/"), (Client(), "/no-such-page/")]
    client.force_login(book.sam)
    pages += [
        (client, path)
        for path in (
            "/",
            "/accounts/",
            f"/accounts/{book.case_alice.account_id}/",
            "/cases/",
            f"/cases/{book.case_alice.pk}/",
            "/imports/",
            "/eod/",
            "/security/",
            "/security/two-factor/setup/",
            "/api/v1/docs",
        )
    ]
    alice = Client()
    alice.force_login(book.alice)
    pages.append((alice, "/security/two-factor/verify/"))

    for page_client, path in pages:
        response = page_client.get(path)
        html = response.content.decode()
        assert response.status_code in (200, 404), path
        assert "Content-Security-Policy" in response, path
        assert INLINE_SCRIPT.findall(html) == [], path
        assert INLINE_HANDLER.findall(html) == [], path
        assert STYLE_ATTRIBUTE.findall(html) == [], path


def test_no_template_has_inline_script_handler_or_style():
    root = Path(settings.BASE_DIR)
    offenders = [
        str(template.relative_to(root))
        for template in root.rglob("templates/**/*.html")
        if INLINE_SCRIPT.search(text := template.read_text())
        or INLINE_HANDLER.search(text)
        or STYLE_ATTRIBUTE.search(text)
    ]

    assert offenders == []


# --- API rate limits -------------------------------------------------------------------------


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_api_refuses_a_user_past_the_limit_with_429(book, settings, empty_cache):
    settings.ARREARS_API_RATE_PER_USER = "3/min"
    _, first = token_create(name="one", user=book.sam)
    _, second = token_create(name="two", user=book.sam)
    session = Client()
    session.force_login(book.sam)

    statuses = [
        Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {first}"}).status_code,
        Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {second}"}).status_code,
        session.get("/api/v1/cases").status_code,
    ]
    refused = Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {second}"})

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests."}
    assert session.get("/api/v1/cases").status_code == 429
    # Another user has a budget of their own.
    other = Client()
    other.force_login(book.alice)
    assert other.get("/api/v1/cases").status_code == 200


@pytest.mark.django_db
def test_api_refuses_a_token_past_its_own_limit(book, settings, empty_cache):
    settings.ARREARS_API_RATE_PER_TOKEN = "2/min"
    _, first = token_create(name="one", user=book.sam)
    _, second = token_create(name="two", user=book.sam)

    first_statuses = [
        Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {first}"}).status_code
        for _ in range(3)
    ]
    second_status = Client().get("/api/v1/cases", headers={"Authorization": f"Bearer {second}"}).status_code

    assert first_statuses == [200, 200, 429]
    assert second_status == 200
