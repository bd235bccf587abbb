"""One settings module, read from the environment (see README "Configuration")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url

from arrears.config.env import env_bool, env_int, env_list, env_str
from arrears.config.storage import media_storage
from arrears.core.embedded_db import EmbeddedServer, project_home

BASE_DIR = Path(__file__).resolve().parent.parent
HOME_DIR = project_home()
VAR_DIR = Path(env_str("ARREARS_VAR_DIR", str(HOME_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# The embedded default is for a single machine; production sets its own key.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "arrears-local-only-not-a-secret-change-me")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])


def _database_url() -> str:
    """``DATABASE_URL`` when set, else the embedded PostgreSQL (started on demand)."""
    if url := env_str("DATABASE_URL"):
        return url
    return EmbeddedServer.default().ensure_running()


DATABASES = {"default": dj_database_url.parse(_database_url(), conn_max_age=60)}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["TEST"] = {"NAME": env_str("ARREARS_TEST_DB", "test_arrears")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # "ninja" serves the API docs' Swagger UI from static files (no CDN, no inline script).
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "procrastinate.contrib.django",
    "arrears.core",
    "arrears.accounts",
    "arrears.portfolio",
    "arrears.delinquency",
    "arrears.cases",
    "arrears.compliance",
    "arrears.comms",
    "arrears.audit",
    "arrears.governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "arrears.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "arrears.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "arrears.audit.middleware.StateChangeAuditMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "arrears.config.urls"
WSGI_APPLICATION = "arrears.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "arrears.portfolio.context_processors.navigation",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login and sessions (docs/security.md). Argon2 first; the other hashers still verify (and
# upgrade on the next login) passwords stored before the switch.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes counts failed logins per user name and locks that name out for a while; its
# backend must come first so a locked-out user is refused even with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ARREARS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ARREARS_LOGIN_LOCKOUT_MINUTES", 30))
# Per login name, not per address: a call centre logs in from one address, and one person's
# typos must not lock out the floor. (axes.W006 warns about exactly this choice.)
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
# A login tried while locked out is refused and written nowhere: it neither counts as a new
# failure nor pushes the end of the lockout further out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "arrears.accounts.views.lockout_response"
# Admins must use a second factor (TOTP); `arrears demo` turns this off for its own server only.
ARREARS_REQUIRE_ADMIN_2FA = env_bool("ARREARS_REQUIRE_ADMIN_2FA", True)
OTP_TOTP_ISSUER = "Arrears"
# Idle timeout: every request renews the session, so it ends after this long without one.
SESSION_COOKIE_AGE = env_int("ARREARS_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
# Behind HTTPS (ARREARS_HTTPS=1) cookies are sent over HTTPS only and browsers are told to stay on it.
ARREARS_HTTPS = env_bool("ARREARS_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", ARREARS_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if ARREARS_HTTPS else 0
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script anywhere (templates load their code from static files); styles come from
# our own files too. Bootstrap's stylesheet draws its icons from data: URIs.
ARREARS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# API rate limits per user and per bearer token (django-ninja throttling, "N/s|min|hour|day").
# The counters live in the default cache, i.e. per server process.
ARREARS_API_RATE_PER_USER = env_str("ARREARS_API_RATE_PER_USER", "600/min")
ARREARS_API_RATE_PER_TOKEN = env_str("ARREARS_API_RATE_PER_TOKEN", "600/min")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The audit trail takes the client's address from REMOTE_ADDR; only behind a reverse proxy that
# sets X-Forwarded-For (and strips what clients send) may it trust that header's first hop.
ARREARS_TRUST_X_FORWARDED_FOR = env_bool("ARREARS_TRUST_X_FORWARDED_FOR", False)

# zh-Hans first, English second; Asia/Shanghai for people, UTC in the database.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("ARREARS_STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves from the finders too; it only needs STATIC_ROOT to exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env_str("ARREARS_MEDIA_ROOT", str(VAR_DIR / "media")))
# Visit photos and recordings: MEDIA_ROOT or an S3-compatible object store (config/storage.py).
# Creditor files being imported stay on local disk under MEDIA_ROOT: the importer reads files.
STORAGES = {
    "default": media_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
ARREARS_IMPORT_MAX_BYTES = env_int("ARREARS_IMPORT_MAX_BYTES", 2 * 1024 * 1024 * 1024)

# --- communications (see arrears/comms) -------------------------------------------------
# Which gateway sends each channel: "file" writes to ARREARS_OUTBOX_DIR (the embedded
# default, no provider needed); "http" is the SMS provider adapter; "smtp" real email.
ARREARS_OUTBOX_DIR = Path(env_str("ARREARS_OUTBOX_DIR", str(VAR_DIR / "outbox")))
ARREARS_SMS_GATEWAY = env_str("ARREARS_SMS_GATEWAY", "file")
ARREARS_EMAIL_GATEWAY = env_str("ARREARS_EMAIL_GATEWAY", "file")
# The SMS provider (HTTP API with template code + parameters, signed requests and receipts).
ARREARS_SMS_URL = env_str("ARREARS_SMS_URL", "http://127.0.0.1:8025/")
ARREARS_SMS_ACCESS_KEY_ID = env_str("ARREARS_SMS_ACCESS_KEY_ID", "arrears-local")
ARREARS_SMS_ACCESS_KEY_SECRET = env_str("ARREARS_SMS_ACCESS_KEY_SECRET", "arrears-local-secret")
ARREARS_SMS_SIGN_NAME = env_str("ARREARS_SMS_SIGN_NAME", "Arrears")
# The longest SMS the provider accepts (characters, all segments together).
ARREARS_SMS_MAX_CHARS = env_int("ARREARS_SMS_MAX_CHARS", 300)
# Secrets the providers sign their callbacks (receipts, replies) with: HMAC-SHA256 over the
# timestamp and body (arrears/comms/signing.py). Email callbacks are off while theirs is empty.
ARREARS_SMS_CALLBACK_SECRET = env_str("ARREARS_SMS_CALLBACK_SECRET", ARREARS_SMS_ACCESS_KEY_SECRET)
ARREARS_EMAIL_CALLBACK_SECRET = env_str("ARREARS_EMAIL_CALLBACK_SECRET", "")
ARREARS_SMTP_HOST = env_str("ARREARS_SMTP_HOST", "127.0.0.1")
ARREARS_SMTP_PORT = env_int("ARREARS_SMTP_PORT", 1025)
ARREARS_SMTP_USER = env_str("ARREARS_SMTP_USER", "")
ARREARS_SMTP_PASSWORD = env_str("ARREARS_SMTP_PASSWORD", "")
ARREARS_SMTP_STARTTLS = env_bool("ARREARS_SMTP_STARTTLS", False)
ARREARS_EMAIL_FROM = env_str("ARREARS_EMAIL_FROM", "collections@arrears.invalid")
# What the messages print as the creditor's hotline when the creditor has none on file.
ARREARS_HOTLINE = env_str("ARREARS_HOTLINE", "400-000-0000")
# Sending: how many messages one worker pass claims, and the retry schedule (seconds).
ARREARS_OUTBOX_BATCH = env_int("ARREARS_OUTBOX_BATCH", 200)
ARREARS_OUTBOX_MAX_ATTEMPTS = env_int("ARREARS_OUTBOX_MAX_ATTEMPTS", 5)
ARREARS_OUTBOX_BACKOFF_SECONDS = env_int("ARREARS_OUTBOX_BACKOFF_SECONDS", 60)
# Letters: printed batches (PDF + CSV mailing list) go under ARREARS_LETTERS_DIR/<batch id>/.
# The CJK font is ARREARS_LETTER_FONT, or when empty the first of the usual places
# (Debian's fonts-noto-cjk, which `make fonts` and .ci/run install); see arrears/comms/letters.py.
ARREARS_LETTERS_DIR = Path(env_str("ARREARS_LETTERS_DIR", str(VAR_DIR / "letters")))
ARREARS_LETTER_FONT = env_str("ARREARS_LETTER_FONT", "")
# Visit attachments.
ARREARS_ATTACHMENT_MAX_BYTES = env_int("ARREARS_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ARREARS_LOG_LEVEL", "WARNING")},
}
