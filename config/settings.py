"""KOL Studio settings: one module, driven by the environment (see README, "Configuration").

With nothing set this is the embedded laptop default: DEBUG on, SQLite under var/, a filesystem Celery
broker that needs no server, and a file cache. DATABASE_URL switches to PostgreSQL and REDIS_URL to Redis.
With DEBUG off, SECRET_KEY, ALLOWED_HOSTS and FIELD_ENCRYPTION_KEYS are required.

Past 500 lines on purpose: one settings module driven by the environment (STYLE.md, pattern 9) is easier to
audit than settings spread over files; each section is headed by the app and module it configures.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import Env
from config.navigation import sidebar_navigation

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

VAR_DIR = Path(env.get_str("KOL_VAR_DIR", str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------------------

DEBUG = env.get_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-kolstudio-development-only-never-use-in-production"  # noqa: S105
SECRET_KEY = env.get_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names)."
        )
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # Ours, bottom layer first: kols, market < posting < scheduling, analytics.
    "kols",
    "market",
    "posting",
    "scheduling",
    "analytics",
    # The demo world (manage.py demo) fills all of the above, so it sits on top.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------

_default_db = env.get_db_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one SQLite file on a laptop: WAL and immediate transactions keep
    # "database is locked" away from short writes.
    _default_db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    _default_db["OPTIONS"].setdefault("timeout", 20)
else:
    _default_db["CONN_MAX_AGE"] = env.get_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    _default_db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery ---------------------------------------------------------------------------

REDIS_URL = env.get_url("REDIS_URL", ("redis", "rediss"))

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kolstudio",
        }
    }
else:
    # A file cache is shared by web, worker and beat processes on one machine (locmem would not be).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env.get_url("CELERY_BROKER_URL", ("redis", "rediss", "amqp", "filesystem")) or REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if not CELERY_BROKER_URL:
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }

CELERY_TASK_SOFT_TIME_LIMIT = env.get_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env.get_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT.")
if CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # A message not acknowledged within this window is redelivered: keep it above the longest task
    # (acks_late means a task is acknowledged only when it finishes).
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = max(3600, CELERY_TASK_TIME_LIMIT * 2)
CELERY_TIMEZONE = "Asia/Taipei"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.get_str("CELERY_TASK_DEFAULT_QUEUE", "kolstudio")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# A worker writes a heartbeat to the cache this often; /health/ calls the worker down past the max age.
WORKER_HEARTBEAT_SECONDS = env.get_int("WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
WORKER_HEARTBEAT_MAX_AGE = env.get_int("WORKER_HEARTBEAT_MAX_AGE", 60, minimum=2)

# --- Secrets at rest --------------------------------------------------------------------------------


def _encryption_keys() -> list[str]:
    keys = env.get_list("FIELD_ENCRYPTION_KEYS")
    if not keys:
        if not DEBUG:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off (comma-separated Fernet keys, newest "
                "first; make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            )
        # Development only: a key derived from the development SECRET_KEY, stable across restarts.
        digest = hashlib.sha256(("field-encryption:" + SECRET_KEY).encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a valid Fernet key (32 url-safe base64 bytes)."
            ) from exc
    return keys


FIELD_ENCRYPTION_KEYS = _encryption_keys()

# --- Auth, i18n, time -------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# unfold's login form sends no "next": without this a direct login lands on /accounts/profile/ (404).
LOGIN_REDIRECT_URL = "admin:index"

LANGUAGE_CODE = env.get_str("LANGUAGE_CODE", "zh-hant")
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of zh-hant, en; got {LANGUAGE_CODE!r}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Taipei"
USE_TZ = True

# --- Static -----------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.get_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    # WhiteNoise warns on every start when STATIC_ROOT is missing; in DEBUG it serves from the finders.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Security (production) --------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.get_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env.get_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env.get_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env.get_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.get_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.get_bool("SECURE_HSTS_PRELOAD", True)
    if env.get_bool("USE_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /health/ is probed over plain HTTP by the container's HEALTHCHECK.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Hardening (issue 10): login lockout, CSP, Permissions-Policy, language cookie ---
# django-axes first: it counts failed admin logins per username and IP and refuses more for a while.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.get_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.get_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner on every command's stderr
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
if env.get_bool("USE_X_FORWARDED_PROTO", False):
    AXES_IPWARE_PROXY_COUNT = 1
# The admin (unfold's Alpine.js evaluates its attributes, hence 'unsafe-eval'), Swagger UI (sidecar assets,
# its init script served as a file) and the batch page (static JS, same-origin EventSource) work under it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    name: []
    for name in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb",
        "display-capture", "midi", "serial", "hid", "bluetooth",
    )
}  # fmt: skip
if not DEBUG:
    LANGUAGE_COOKIE_SECURE = env.get_bool("LANGUAGE_COOKIE_SECURE", True)
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True

# --- REST API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous call gets 401 with a WWW-Authenticate header.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per user and for anonymous calls; rates are settings read at request time (config/api/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api.throttling.AnonThrottle",
        "config.api.throttling.UserThrottle",
    ],
    # JSON with a size and depth limit and no NUL/unpaired surrogate (config/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# "N/second|minute|hour|day"; empty turns that throttle off. 429 with Retry-After when exceeded.
API_THROTTLE_ANON_RATE = env.get_str("API_THROTTLE_ANON_RATE", "30/minute")
API_THROTTLE_USER_RATE = env.get_str("API_THROTTLE_USER_RATE", "600/minute")
# --- API tokens (issue 10): django-rest-knox, hashed, with an expiry, shown once ---
KNOX_TOKEN_MODEL = "kols.ApiToken"  # noqa: S105 - a model name, not a secret
# knox's own migrations would create its default token table, which the swap leaves unused.
MIGRATION_MODULES = {"knox": None}
API_TOKEN_TTL_DAYS = env.get_int("API_TOKEN_TTL_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = env.get_int("API_TOKEN_MAX_DAYS", 365, minimum=1)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# --- API input limits (issue 10) ---
# A JSON body larger than this is refused with 413; nesting deeper than API_MAX_JSON_DEPTH with 400.
API_MAX_BODY_BYTES = env.get_int("API_MAX_BODY_BYTES", 262_144, minimum=1024)
API_MAX_JSON_DEPTH = env.get_int("API_MAX_JSON_DEPTH", 32, minimum=2)
SPECTACULAR_SETTINGS = {
    "TITLE": "KOL Studio API",
    "DESCRIPTION": "Drafts, review, publishing and analytics for KOL personas. Every endpoint needs a session "
    "or a token (Authorization: Token <key>).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents its error responses with the error schema (config/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.error_responses_hook",
        "config.api.schema.batch_events_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PostStatusEnum": "posting.models.PostStatus",
        "ActivePausedEnum": "kols.models.KOL.Status",
    },
}

# --- Admin (django-unfold) --------------------------------------------------------------------------

UNFOLD = {
    "SITE_TITLE": _("KOL Studio"),
    "SITE_HEADER": _("KOL Studio"),
    "SHOW_LANGUAGES": True,
    "DASHBOARD_CALLBACK": "analytics.dashboard.dashboard_callback",
    # A favicon of our own: without one the browser's request for /favicon.ico is a 404 on every page.
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": "/static/posting/favicon.svg"}],
    # By the editor's day (config/navigation.py); each item needs its view permission.
    "SIDEBAR": {"show_search": True, "show_all_applications": False, "navigation": sidebar_navigation()},
}

# --- Logging ----------------------------------------------------------------------------------------

LOG_LEVEL = env.get_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Market data and news (market app) --------------------------------------------------------------

# Keyless exchange OpenAPIs for the daily close of every listed (TWSE) and OTC (TPEx) stock.
TWSE_OPENAPI_BASE_URL = (
    env.get_url("TWSE_OPENAPI_BASE_URL", ("https", "http")) or "https://openapi.twse.com.tw/v1"
).rstrip("/")
TPEX_OPENAPI_BASE_URL = (
    env.get_url("TPEX_OPENAPI_BASE_URL", ("https", "http")) or "https://www.tpex.org.tw/openapi/v1"
).rstrip("/")
# Applies to each market-data and news request (connect, read, write and pool wait alike).
MARKET_HTTP_TIMEOUT_SECONDS = env.get_float("MARKET_HTTP_TIMEOUT_SECONDS", 20.0, minimum=1.0)
# Google news search through Serper; empty means no Serper (RSS feeds still work).
SERPER_API_KEY = env.get_str("SERPER_API_KEY")
SERPER_BASE_URL = (env.get_url("SERPER_BASE_URL", ("https", "http")) or "https://google.serper.dev").rstrip(
    "/"
)
# --- Serper wired into the news triggers and the draft context (issue 11) ---
# The same Serper query is not searched again within this many minutes (its stored results are used).
SERPER_REFRESH_MINUTES = env.get_int("SERPER_REFRESH_MINUTES", 30, minimum=1)
# --- Market data: instrument types and tolerant feeds (issue 11) ---
# Which instrument types get daily quotes stored and join the stock master from the feeds (see
# market/instruments.py): common, etf, etn, warrant, tdr, reit, preferred, other. Warrants (about 11,000
# TPEx rows a day, moving far past 10%) only when named here.
_INSTRUMENT_TYPES = {"common", "etf", "etn", "warrant", "tdr", "reit", "preferred", "other"}
QUOTES_STORED_TYPES = env.get_list("QUOTES_STORED_TYPES", ["common", "etf"])
if not QUOTES_STORED_TYPES or set(QUOTES_STORED_TYPES) - _INSTRUMENT_TYPES:
    raise ImproperlyConfigured(
        f"QUOTES_STORED_TYPES must name some of {sorted(_INSTRUMENT_TYPES)}; got {QUOTES_STORED_TYPES!r}."
    )
# A feed is refused (and retried) when more than this share of its rows (of the stored types) is unreadable;
# fewer bad rows are skipped and counted, and the rest of the day is stored.
QUOTES_MAX_BAD_ROWS_PERCENT = env.get_float("QUOTES_MAX_BAD_ROWS_PERCENT", 2.0, minimum=0.0)
# A stock of a stored type absent from its exchange's feed this many trading days in a row becomes inactive.
STOCK_INACTIVE_AFTER_TRADING_DAYS = env.get_int("STOCK_INACTIVE_AFTER_TRADING_DAYS", 10, minimum=1)
# FinLab (paid, optional) for history backfills (manage.py backfill_quotes); also needs the finlab package.
# Empty means no FinLab: the exchanges' keyless OpenAPIs and CSV imports still work.
FINLAB_API_KEY = env.get_str("FINLAB_API_KEY")

# --- Review desk (posting app) ----------------------------------------------------------------------

# One-person teams may let whoever last edited a post approve it too; off by default.
REVIEW_ALLOW_SELF_APPROVAL = env.get_bool("REVIEW_ALLOW_SELF_APPROVAL", False)
# A draft waiting longer than this, or whose stock moved more than this since its snapshot, is stale.
REVIEW_STALE_AFTER_HOURS = env.get_int("REVIEW_STALE_AFTER_HOURS", 48, minimum=1)
REVIEW_STALE_MOVE_PCT = env.get_float("REVIEW_STALE_MOVE_PCT", 5.0, minimum=0.1)
# true: the beat job expires stale drafts (never deletes them); false: it only flags them.
REVIEW_EXPIRE_STALE = env.get_bool("REVIEW_EXPIRE_STALE", True)
# How long "X is editing this post" holds after X last opened or saved it.
REVIEW_EDIT_LOCK_SECONDS = env.get_int("REVIEW_EDIT_LOCK_SECONDS", 300, minimum=30)
# --- Review text limits (issue 10) ---
# Longest title and body a person may save (the title column holds 200); notes and reasons.
POST_TITLE_MAX_CHARS = min(env.get_int("POST_TITLE_MAX_CHARS", 200, minimum=10), 200)
POST_BODY_MAX_CHARS = env.get_int("POST_BODY_MAX_CHARS", 6000, minimum=100)
REVIEW_NOTE_MAX_CHARS = env.get_int("REVIEW_NOTE_MAX_CHARS", 1000, minimum=50)
# Longest schedule description accepted by the API.
DESCRIPTION_MAX_CHARS = env.get_int("DESCRIPTION_MAX_CHARS", 2000, minimum=50)

# "Schedule into the next free slot": these times (HH:MM, Asia/Taipei), on trading days only unless
# POSTING_TRADING_DAYS_ONLY is false, at least POSTING_MIN_GAP_MINUTES apart per KOL, within its caps.
POSTING_SLOT_TIMES = env.get_list("POSTING_SLOT_TIMES", ["08:30", "11:30", "13:45", "19:30", "21:30"])
for _slot in POSTING_SLOT_TIMES:
    _hh, _sep, _mm = _slot.partition(":")
    if not (_sep and _hh.isdigit() and _mm.isdigit() and int(_hh) < 24 and int(_mm) < 60 and len(_mm) == 2):
        raise ImproperlyConfigured(
            f"POSTING_SLOT_TIMES must be comma-separated HH:MM times; {_slot!r} is not."
        )
POSTING_TRADING_DAYS_ONLY = env.get_bool("POSTING_TRADING_DAYS_ONLY", True)
POSTING_MIN_GAP_MINUTES = env.get_int("POSTING_MIN_GAP_MINUTES", 30, minimum=0)
# A slot is never assigned sooner than this from now, leaving time to unschedule.
POSTING_SLOT_LEAD_MINUTES = env.get_int("POSTING_SLOT_LEAD_MINUTES", 10, minimum=0)

# --- LLM (posting/llm/) -------------------------------------------------------------------
# Any OpenAI-compatible Chat Completions server. Empty LLM_BASE_URL = no LLM: drafts come from the
# template writer, on purpose and visibly (generator=template), never as a silent stand-in.

LLM_BASE_URL = env.get_url("LLM_BASE_URL", ("http", "https")) or ""
LLM_API_KEY = env.get_str("LLM_API_KEY")
LLM_MODEL = env.get_str("LLM_MODEL")
if LLM_BASE_URL and not LLM_MODEL:
    raise ImproperlyConfigured("LLM_MODEL must be set when LLM_BASE_URL is set (for example gpt-4o-mini).")
if LLM_BASE_URL and not LLM_API_KEY:
    raise ImproperlyConfigured(
        "LLM_API_KEY must be set when LLM_BASE_URL is set (keyless local servers such as Ollama or vLLM "
        "accept any value, for example LLM_API_KEY=local)."
    )
LLM_TIMEOUT_SECONDS = env.get_float("LLM_TIMEOUT_SECONDS", 60.0, minimum=1)
# Retries of 429, 5xx, timeouts and connection errors only, with exponential backoff or Retry-After.
LLM_MAX_RETRIES = env.get_int("LLM_MAX_RETRIES", 2, minimum=0)
LLM_RETRY_BACKOFF_SECONDS = env.get_float("LLM_RETRY_BACKOFF_SECONDS", 1.0, minimum=0)
# A server asking to wait longer than this is not waited for: the call fails as retryable instead.
LLM_RETRY_AFTER_MAX_SECONDS = env.get_float("LLM_RETRY_AFTER_MAX_SECONDS", 60.0, minimum=0)
LLM_STRUCTURED_OUTPUT = env.get_str("LLM_STRUCTURED_OUTPUT", "json_schema")
if LLM_STRUCTURED_OUTPUT not in {"json_schema", "json_object", "prompt"}:
    raise ImproperlyConfigured(
        f"LLM_STRUCTURED_OUTPUT must be json_schema, json_object or prompt; got {LLM_STRUCTURED_OUTPUT!r}."
    )
# Site defaults; a KOL's own model / temperature / max tokens override them.
LLM_TEMPERATURE = env.get_float("LLM_TEMPERATURE", 0.8, minimum=0)
if LLM_TEMPERATURE > 2:
    raise ImproperlyConfigured(f"LLM_TEMPERATURE must be between 0 and 2; got {LLM_TEMPERATURE}.")
LLM_MAX_TOKENS = env.get_int("LLM_MAX_TOKENS", 1500, minimum=1)


def _llm_prices() -> dict[str, dict[str, object]]:
    import json
    from decimal import Decimal

    expected = 'a JSON object of model -> {"input": USD per 1M tokens, "output": USD per 1M tokens}'
    raw = env.get_str("LLM_PRICES", "{}")
    try:
        table = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except ValueError as exc:
        raise ImproperlyConfigured(f"LLM_PRICES must be {expected}; got {raw!r} ({exc}).") from exc
    if not isinstance(table, dict):
        raise ImproperlyConfigured(f"LLM_PRICES must be {expected}; got {raw!r}.")
    for model, entry in table.items():
        valid = (
            isinstance(entry, dict)
            and set(entry) == {"input", "output"}
            and all(
                isinstance(value, Decimal) and value.is_finite() and value >= 0 for value in entry.values()
            )
        )
        if not valid:
            raise ImproperlyConfigured(
                f'LLM_PRICES entry {model!r} must be {{"input": <number >= 0>, "output": <number >= 0>}} '
                f"(USD per 1M tokens); got {json.dumps(entry, default=str)}."
            )
    return table


LLM_PRICES = _llm_prices()

# --- KOL allocation (scheduling/allocation.py) ------------------------------------------------------
# Anti-coordination: at most this many different KOLs on the same stock (or macro topic) within the
# window, counting drafts created in it (rejected and expired ones excluded).
ALLOCATION_MAX_PERSONAS_PER_STOCK = env.get_int("ALLOCATION_MAX_PERSONAS_PER_STOCK", 2, minimum=1)
ALLOCATION_STOCK_WINDOW_MINUTES = env.get_int("ALLOCATION_STOCK_WINDOW_MINUTES", 120, minimum=1)

# --- Draft checks (posting/checks) ------------------------------------------------------------------
# Near-duplicates: drafts and posts of every persona created within the window are compared; at or above
# the threshold (0–1, after folding Simplified/Traditional, digits and punctuation) is a finding.
DUPLICATE_WINDOW_DAYS = env.get_int("DUPLICATE_WINDOW_DAYS", 14, minimum=1)
DUPLICATE_THRESHOLD = env.get_float("DUPLICATE_THRESHOLD", 0.85, minimum=0.05)
if DUPLICATE_THRESHOLD > 1:
    raise ImproperlyConfigured(f"DUPLICATE_THRESHOLD must be between 0 and 1, got {DUPLICATE_THRESHOLD}.")
# The newest this many posts in the window are compared (a bound on the work of one check).
DUPLICATE_MAX_POSTS = env.get_int("DUPLICATE_MAX_POSTS", 20000, minimum=1)
DUPLICATE_SEVERITY = env.get_str("DUPLICATE_SEVERITY", "warn")
# A figure in the text that matches nothing in the market snapshot.
GROUNDING_SEVERITY = env.get_str("GROUNDING_SEVERITY", "warn")
for _name, _value in (("DUPLICATE_SEVERITY", DUPLICATE_SEVERITY), ("GROUNDING_SEVERITY", GROUNDING_SEVERITY)):
    if _value not in {"block", "warn"}:
        raise ImproperlyConfigured(f"{_name} must be block or warn, got {_value!r}.")
# The optional LLM compliance classifier (posting/checks/classifier.py): the LLM reads every checked draft
# and may add compliance.llm.* warn findings, never block ones. Off by default (one more LLM call per check).
COMPLIANCE_LLM_CLASSIFIER = env.get_bool("COMPLIANCE_LLM_CLASSIFIER", False)
# The classifier's model on the same server; empty = LLM_MODEL.
COMPLIANCE_LLM_MODEL = env.get_str("COMPLIANCE_LLM_MODEL")
if COMPLIANCE_LLM_CLASSIFIER and not LLM_BASE_URL:
    raise ImproperlyConfigured("COMPLIANCE_LLM_CLASSIFIER needs an LLM: set LLM_BASE_URL (or turn it off).")

# --- Stance ledger (posting/checks/stance.py) -------------------------------------------------------
# A draft that takes the opposite side of the persona's published stance on the same stock within this
# many trading days, without saying why, gets a stance.reversal finding.
STANCE_REVERSAL_TRADING_DAYS = env.get_int("STANCE_REVERSAL_TRADING_DAYS", 10, minimum=1)
# This many personas (the draft's included) on the same side of the same stock on one day (Asia/Taipei)
# is a stance.coordinated warning, whatever the allocation caps allowed.
STANCE_COORDINATED_PERSONAS = env.get_int("STANCE_COORDINATED_PERSONAS", 3, minimum=2)

# --- Schedules (scheduling app) ---------------------------------------------------------------------
# A post time dispatched at most this many minutes after it is on time; later it is "missed" and the
# schedule's missed-run policy decides (skip, or run once inside its grace window).
SCHEDULING_ON_TIME_MINUTES = env.get_int("SCHEDULING_ON_TIME_MINUTES", 5, minimum=1)
# At most this many due schedules (and finished runs to close) per beat tick; the rest wait a minute.
SCHEDULING_DISPATCH_LIMIT = env.get_int("SCHEDULING_DISPATCH_LIMIT", 200, minimum=1)
# One name per choice set in the OpenAPI schema (a run's status; the post length schedules and batches share).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "ScheduleRunStatusEnum": "scheduling.models.ScheduleRun.Status",
        "PostLengthEnum": "posting.generation.prompts.PostLength",
    }
)

# --- Publishing (posting/publishing) ----------------------------------------------------------------
# CMoney 同學會 (see PLATFORMS.md): the identity service logs accounts in, the forum service takes articles.
CMONEY_IDENTITY_BASE_URL = (
    env.get_url("CMONEY_IDENTITY_BASE_URL", ("https", "http")) or "https://social.cmoney.tw"
).rstrip("/")
CMONEY_FORUM_BASE_URL = (
    env.get_url("CMONEY_FORUM_BASE_URL", ("https", "http")) or "https://forumservice.cmoney.tw"
).rstrip("/")
# The public address of an article; {id} is replaced by the article id the forum returns.
CMONEY_ARTICLE_URL = env.get_str("CMONEY_ARTICLE_URL", "https://www.cmoney.tw/forum/article/{id}")
if "{id}" not in CMONEY_ARTICLE_URL or not CMONEY_ARTICLE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"CMONEY_ARTICLE_URL must be an http(s) URL containing {{id}}; got {CMONEY_ARTICLE_URL!r}."
    )
CMONEY_CLIENT_ID = env.get_str("CMONEY_CLIENT_ID", "cmstockcommunity")
# --- CMoney request headers (issue 11) ---
# Sent as the cmoneyapi-trace-context header on every forum request (CMoney's SDK documents it as required).
CMONEY_TRACE_CONTEXT = env.get_str(
    "CMONEY_TRACE_CONTEXT", '{"appId":18,"platform":"KOLStudio","appVersion":"1.0"}'
)
CMONEY_CONNECT_TIMEOUT_SECONDS = env.get_float("CMONEY_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1)
# Read/write timeout of each request. A create that times out is never re-sent: it becomes "unknown".
CMONEY_TIMEOUT_SECONDS = env.get_float("CMONEY_TIMEOUT_SECONDS", 20.0, minimum=0.1)
# A cached login token is replaced this long before it expires.
CMONEY_TOKEN_REFRESH_MARGIN_SECONDS = env.get_int("CMONEY_TOKEN_REFRESH_MARGIN_SECONDS", 300, minimum=0)

# Generic webhook for other platforms: a JSON POST signed with HMAC-SHA256 of "<timestamp>.<body>".
WEBHOOK_URL = env.get_url("WEBHOOK_URL", ("https", "http")) or ""
WEBHOOK_SECRET = env.get_str("WEBHOOK_SECRET")
if WEBHOOK_URL and len(WEBHOOK_SECRET) < 16:
    raise ImproperlyConfigured("WEBHOOK_SECRET must be set (at least 16 characters) when WEBHOOK_URL is set.")
WEBHOOK_TIMEOUT_SECONDS = env.get_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1)

# Pace, per platform account: at least the gap (plus a random 0..jitter) between two sends, at most the
# caps per clock hour and per calendar day (Asia/Taipei; the KOL's own caps apply when lower).
PUBLISH_MIN_GAP_SECONDS = env.get_float("PUBLISH_MIN_GAP_SECONDS", 600.0, minimum=0)
PUBLISH_JITTER_SECONDS = env.get_float("PUBLISH_JITTER_SECONDS", 90.0, minimum=0)
PUBLISH_ACCOUNT_MAX_PER_HOUR = env.get_int("PUBLISH_ACCOUNT_MAX_PER_HOUR", 4, minimum=1)
PUBLISH_ACCOUNT_MAX_PER_DAY = env.get_int("PUBLISH_ACCOUNT_MAX_PER_DAY", 12, minimum=1)
# Pace across all accounts of one platform (a token bucket in Redis; in the database without Redis).
PUBLISH_PLATFORM_RATE_PER_MINUTE = env.get_float("PUBLISH_PLATFORM_RATE_PER_MINUTE", 20.0, minimum=0.01)
PUBLISH_PLATFORM_BURST = env.get_int("PUBLISH_PLATFORM_BURST", 3, minimum=1)
# A post not sent within this many minutes of its time is not sent at all (recorded as too late).
PUBLISH_CUTOFF_MINUTES = env.get_int("PUBLISH_CUTOFF_MINUTES", 60, minimum=1)
# Sends that certainly did not reach the platform (refused connection, 429) are retried this many times,
# backing off from PUBLISH_RETRY_BACKOFF_SECONDS (or as Retry-After says).
PUBLISH_MAX_ATTEMPTS = env.get_int("PUBLISH_MAX_ATTEMPTS", 5, minimum=1)
PUBLISH_RETRY_BACKOFF_SECONDS = env.get_int("PUBLISH_RETRY_BACKOFF_SECONDS", 60, minimum=1)
# The sweeper re-enqueues a waiting publication whose task should have run this long ago (a lost message).
PUBLISH_REQUEUE_GRACE_SECONDS = env.get_int("PUBLISH_REQUEUE_GRACE_SECONDS", 120, minimum=1)
# Waits up to this long ride on a delayed task; longer ones go back to the minute dispatcher.
PUBLISH_MAX_COUNTDOWN_SECONDS = env.get_int("PUBLISH_MAX_COUNTDOWN_SECONDS", 600, minimum=10)
# At most this many publications enqueued (or swept) per beat tick; the rest wait a minute.
PUBLISH_DISPATCH_LIMIT = env.get_int("PUBLISH_DISPATCH_LIMIT", 500, minimum=1)
# Logins refused (or a 401 right after a fresh login) this many times in a row pause the account.
AUTH_FAILURES_BEFORE_PAUSE = env.get_int("AUTH_FAILURES_BEFORE_PAUSE", 3, minimum=1)
# The publish task's limits follow from the timeouts: a login, a create, a re-login and a second create.
PUBLISH_TASK_SOFT_TIME_LIMIT = (
    int(max(4 * (CMONEY_CONNECT_TIMEOUT_SECONDS + CMONEY_TIMEOUT_SECONDS), 2 * WEBHOOK_TIMEOUT_SECONDS)) + 30
)
PUBLISH_TASK_TIME_LIMIT = PUBLISH_TASK_SOFT_TIME_LIMIT + 20

# --- Interactions (analytics/) ----------------------------------------------------------------------
# Snapshots at these ages after publishing ("<n>h" or "<n>d"); "24h" must be one: it is the scored slot.
INTERACTION_SLOTS = env.get_list("INTERACTION_SLOTS", ["1h", "6h", "24h", "72h", "7d", "30d"])
if "24h" not in INTERACTION_SLOTS or any(
    not (slot[:-1].isdigit() and int(slot[:-1]) > 0 and slot[-1] in "hd") for slot in INTERACTION_SLOTS
):
    raise ImproperlyConfigured(
        f"INTERACTION_SLOTS must be ages such as 1h,24h,7d and include 24h; got {INTERACTION_SLOTS!r}."
    )
# A slot taken later than max(this fraction of its age, INTERACTION_LATE_MIN_MINUTES) after it fell due
# is flagged late (its real age is recorded either way).
INTERACTION_LATE_FRACTION = env.get_float("INTERACTION_LATE_FRACTION", 0.1, minimum=0)
INTERACTION_LATE_MIN_MINUTES = env.get_int("INTERACTION_LATE_MIN_MINUTES", 10, minimum=0)
# Reads per minute per platform (a token bucket in Redis, separate from the publishing pace).
INTERACTION_READ_RATE_PER_MINUTE = env.get_float("INTERACTION_READ_RATE_PER_MINUTE", 60.0, minimum=0.01)
INTERACTION_READ_BURST = env.get_int("INTERACTION_READ_BURST", 2, minimum=1)
# The PlatformAccount (id) whose token reads every CMoney article; 0 = each post's own account.
INTERACTION_READER_ACCOUNT_ID = env.get_int("INTERACTION_READER_ACCOUNT_ID", 0, minimum=0)
# Collector tasks the minute dispatcher starts; each works through due snapshots for up to a minute.
INTERACTION_COLLECT_WORKERS = env.get_int("INTERACTION_COLLECT_WORKERS", 2, minimum=1)
# A failed read is tried again after this long, at most this many times.
INTERACTION_RETRY_SECONDS = env.get_int("INTERACTION_RETRY_SECONDS", 300, minimum=1)
INTERACTION_MAX_ATTEMPTS = env.get_int("INTERACTION_MAX_ATTEMPTS", 5, minimum=1)
# A worker holds a claimed snapshot this long; after that another worker may take it over.
INTERACTION_LEASE_SECONDS = env.get_int("INTERACTION_LEASE_SECONDS", 120, minimum=10)
# Webhook platform: optional pull URL ({id} = the platform post id); pushes arrive at /api/interactions/push.
INTERACTION_WEBHOOK_PULL_URL = env.get_url("INTERACTION_WEBHOOK_PULL_URL", ("https", "http")) or ""
# A pushed snapshot whose timestamp is further than this from now is refused (replays).
INTERACTION_PUSH_MAX_SKEW_SECONDS = env.get_int("INTERACTION_PUSH_MAX_SKEW_SECONDS", 300, minimum=10)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "SnapshotSourceEnum": "analytics.models.SnapshotSource",
        "BatchSourceEnum": "posting.models.GenerationBatch.Source",
    }
)

# --- Generation batches (posting/generation/batches.py, posting/generation/runner.py) -------------------------------
# Drafts of one batch generated at the same time (threads in the batch task: LLM calls wait on the
# network). Each thread holds a database connection while it works.
GENERATION_CONCURRENCY = env.get_int("GENERATION_CONCURRENCY", 8, minimum=1)
# A retryable failure of an item (429, 5xx, timeout, connection) is tried again this many times, after
# GENERATION_RETRY_BACKOFF_SECONDS, doubling each time. Other failures are final at once.
GENERATION_ITEM_RETRIES = env.get_int("GENERATION_ITEM_RETRIES", 2, minimum=0)
GENERATION_RETRY_BACKOFF_SECONDS = env.get_float("GENERATION_RETRY_BACKOFF_SECONDS", 10.0, minimum=0)
# The most drafts one batch may ask for.
GENERATION_MAX_BATCH_ITEMS = env.get_int("GENERATION_MAX_BATCH_ITEMS", 500, minimum=1)
# One run of the batch task claims items for this long, then hands the rest to a fresh task, so a batch
# of any size stays inside the task's time limits.
GENERATION_SLICE_SECONDS = env.get_int("GENERATION_SLICE_SECONDS", 120, minimum=1)
# A running batch task renews its lease four times per lease; a batch whose lease ran out (the worker
# died) is taken over by the sweeper: its running items go back to pending, nothing is generated twice.
GENERATION_LEASE_SECONDS = env.get_int("GENERATION_LEASE_SECONDS", 60, minimum=2)
# A batch task still waiting in the queue this long after it was due is sent again (a lost message).
GENERATION_QUEUE_GRACE_SECONDS = env.get_int("GENERATION_QUEUE_GRACE_SECONDS", 600, minimum=1)
# The longest one item may take (LLM retries, a format step-down, a repair re-ask, the checks).
GENERATION_ITEM_TIME_LIMIT = env.get_int(
    "GENERATION_ITEM_TIME_LIMIT", int(4 * (LLM_MAX_RETRIES + 1) * LLM_TIMEOUT_SECONDS) + 60, minimum=10
)
GENERATION_TASK_SOFT_TIME_LIMIT = GENERATION_SLICE_SECONDS + GENERATION_ITEM_TIME_LIMIT
GENERATION_TASK_TIME_LIMIT = GENERATION_TASK_SOFT_TIME_LIMIT + 30
# How often GET /api/batches/{id}/events looks at the database for news.
GENERATION_EVENTS_POLL_SECONDS = env.get_float("GENERATION_EVENTS_POLL_SECONDS", 0.5, minimum=0.05)
# The API schema names the outbox's status enum explicitly (it would collide with the post's "status").
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PublicationStatusEnum"] = "posting.models.PublicationStatus"  # type: ignore[index]
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "GenerationBatchStatusEnum": "posting.models.GenerationBatch.Status",
        "BatchItemStatusEnum": "posting.models.BatchItem.Status",
        "BatchWriterEnum": "posting.models.GenerationBatch.Writer",
    }
)

# --- Analytics and learning (analytics/, kols/playbooks.py) --------------------------------------------
# A feature value seen on fewer posts than this is "not enough data", never a finding.
ANALYTICS_MIN_POSTS = env.get_int("ANALYTICS_MIN_POSTS", 20, minimum=2)
# The default period of the analyses (days back from today) and of the daily refresh.
ANALYTICS_PERIOD_DAYS = env.get_int("ANALYTICS_PERIOD_DAYS", 90, minimum=1)
# Family-wise error rate of the top-20% findings (Bonferroni across every tested feature value).
ANALYTICS_ALPHA = env.get_float("ANALYTICS_ALPHA", 0.05, minimum=0.0001)
# The share of batch items generated without the KOL's playbook (the control group), drawn per item.
LEARNING_CONTROL_SHARE = env.get_float("LEARNING_CONTROL_SHARE", 0.2, minimum=0.0)
if LEARNING_CONTROL_SHARE > 1:
    raise ImproperlyConfigured("LEARNING_CONTROL_SHARE must be between 0 and 1.")
