"""Svyaz settings.

Everything comes from the environment through small typed helpers that fail loudly.
With nothing set, Svyaz runs embedded: SQLite in the data folder, jobs in-process,
email to the console, a secret key generated on first run and kept in the data folder.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("SVYAZ_DATA_DIR") or PROJECT_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in DATA_DIR."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "svyaz.core",
    "svyaz.accounts",
    "svyaz.contacts",
    "svyaz.sales",
    "svyaz.activities",
    "svyaz.followups",
    "svyaz.dataquality",
    "svyaz.intake",
    "svyaz.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "svyaz.core.scoping.AccessCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "svyaz.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "svyaz.core.middleware.RejectNulCharactersMiddleware",
    # A service's PermissionDenied / NotFound on a page → the 403 / 404 page (issue #3).
    "svyaz.core.middleware.DomainErrorMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Source (page/api) and actor of the audit rows the request writes (svyaz.audit).
    "svyaz.audit.middleware.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "svyaz.accounts.middleware.TwoFactorMiddleware",
    "svyaz.accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused by the lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "svyaz.urls"
WSGI_APPLICATION = "svyaz.wsgi.application"
# uvicorn serves it (HTTP + the chat WebSocket); see svyaz/asgi.py.
ASGI_APPLICATION = "svyaz.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "followups:my_day"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "svyaz.core.context_processors.svyaz",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'svyaz.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and the one writer work at once; IMMEDIATE avoids
    # "database is locked" upgrades from read to write inside a transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Moscow")
LANGUAGE_COOKIE_NAME = "svyaz_language"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if envbool("SVYAZ_MANIFEST_STATIC", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True

# --- Business defaults -------------------------------------------------------
# The address people use to reach Svyaz: links in emails (reminders) start with it.
SVYAZ_SITE_URL = os.environ.get("SVYAZ_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SVYAZ_BASE_CURRENCY = os.environ.get("SVYAZ_BASE_CURRENCY", "RUB")
SVYAZ_CURRENCIES = envlist("SVYAZ_CURRENCIES", ["RUB", "USD", "EUR"])
SVYAZ_DEFAULT_REGION = os.environ.get("SVYAZ_DEFAULT_REGION", "RU")
# A client with no purchase for this many days is "inactive".
SVYAZ_INACTIVE_AFTER_DAYS = envint("SVYAZ_INACTIVE_AFTER_DAYS", 365)
SVYAZ_PAGE_SIZE = envint("SVYAZ_PAGE_SIZE", 50)
# Lists count at most this many rows, then say "10,000+": no full COUNT on large tables.
SVYAZ_COUNT_CAP = envint("SVYAZ_COUNT_CAP", 10_000)
# Deleted records stay in the recycle bin this many days, then the purge job removes them.
SVYAZ_RECYCLE_DAYS = envint("SVYAZ_RECYCLE_DAYS", 30)
# The duplicate scan scores blocks in this many forked processes (1 = in the job's process).
SVYAZ_DEDUP_WORKERS = envint("SVYAZ_DEDUP_WORKERS", 1)

# --- Jobs --------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# No broker: jobs run in-process (embedded mode); periodic jobs fire from the
# embedded scheduler thread (see svyaz.core.scheduler).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers an unacknowledged message (its worker died) after this many seconds.
# It must exceed the longest job; jobs are idempotent (svyaz.core.jobs) so a redelivery is safe.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "reminders-send-due": {
        "task": "svyaz.followups.tasks.reminders_send_due",
        "schedule": float(envint("SVYAZ_REMINDERS_INTERVAL", 60)),
    },
    # Web-form submissions and call events stored while the job queue was down.
    "intake-submissions-retry": {"task": "svyaz.intake.tasks.submissions_retry", "schedule": 300.0},
    "intake-call-events-retry": {"task": "svyaz.intake.tasks.call_events_retry", "schedule": 300.0},
    "intake-chat-messages-retry": {
        "task": "svyaz.intake.chat.tasks.messages_retry",
        "schedule": 120.0,
    },
    # New mail of the IMAP mailboxes (each message imported exactly once).
    "intake-mail-poll": {
        "task": "svyaz.intake.tasks.mail_poll",
        "schedule": float(envint("SVYAZ_MAIL_POLL_INTERVAL", 120)),
    },
    "recycle-bin-purge": {
        "task": "svyaz.core.tasks.recycle_bin_purge",
        "schedule": float(envint("SVYAZ_RECYCLE_PURGE_INTERVAL", 24 * 60 * 60)),
    },
    # The duplicate finder over the whole base (dataquality/dedup): idempotent, nightly.
    "duplicates-scan": {
        "task": "svyaz.dataquality.tasks.duplicates_scan",
        "schedule": float(envint("SVYAZ_DUPLICATES_SCAN_INTERVAL", 24 * 60 * 60)),
    },
    # On-demand jobs stored while the queue (Redis) was down: published when it is back.
    "outbox-flush": {
        "task": "svyaz.core.outbox.flush",
        "schedule": float(envint("SVYAZ_OUTBOX_INTERVAL", 30)),
    },
}
SVYAZ_EMBEDDED_SCHEDULER = envbool("SVYAZ_EMBEDDED_SCHEDULER", not CELERY_BROKER_URL)

if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down: the cache misses and drops writes instead of failing the request.
            "BACKEND": "svyaz.core.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Django Channels (the website chat): Redis lets several web processes reach each other's
# sockets; embedded (one process) keeps the layer in memory. Chat falls back to polling
# when the layer is down, so Redis being away never loses a message (they are stored first).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "svyaz:chat"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Email -------------------------------------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "sent-mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "svyaz@localhost")

# --- API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "svyaz.core.field_rules.FieldRulesOrderingFilter",  # no sorting by a hidden field
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "svyaz.core.api.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "svyaz.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Svyaz CRM API",
    "DESCRIPTION": "REST API of Svyaz CRM. Authenticate with `Authorization: Token <key>` or a session.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Field rules (issue #3): a field hidden from the user is absent from their schema.
    "DEFAULT_GENERATOR_CLASS": "svyaz.core.api_schema.FieldRulesSchemaGenerator",
    # The interactive docs work offline and behind strict firewalls: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name get stable component names (and no warning in
    # `manage.py check --deploy`).
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "svyaz.activities.models.ActivityKind",
        "FollowupKindEnum": "svyaz.followups.models.FollowupKind",
        "OrderStatusEnum": "svyaz.sales.models.OrderStatus",
        "MergeEntityEnum": "svyaz.dataquality.models.MergeEntity",
        "SourceEnum": "svyaz.contacts.models.Source",
        "AuditSourceEnum": "svyaz.audit.models.AuditSource",
        "AuditActionEnum": "svyaz.audit.models.AuditAction",
        "ImportEntityEnum": "svyaz.dataquality.models.ImportEntity",
        "ImportKeyEnum": "svyaz.dataquality.models.ImportKey",
    },
}

# --- Security ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = envbool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Login throttling (django-axes): this many failures for one username from one address
# lock that pair out for SVYAZ_LOGIN_LOCKOUT_MINUTES. Attempts and lockouts are kept in
# the database (admin: "Access attempts", "Access failures"); deleting the attempt unlocks.
AXES_FAILURE_LIMIT = envint("SVYAZ_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("SVYAZ_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "svyaz.accounts.views.locked_out"
# Two-factor authentication (TOTP, django-otp). Users of a department with "require 2FA"
# and, when this is on, every staff user must enrol before they can use Svyaz.
SVYAZ_REQUIRE_2FA_FOR_STAFF = envbool("SVYAZ_REQUIRE_2FA_FOR_STAFF", False)
OTP_TOTP_ISSUER = os.environ.get("SVYAZ_OTP_ISSUER", "Svyaz CRM")
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if envbool("SVYAZ_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
