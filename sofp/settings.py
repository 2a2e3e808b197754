"""Settings for every environment: behaviour is switched by environment variables.

Local defaults are safe for development (SQLite in WAL mode, a Celery broker on the
file system under ``var/``, mail to files). Production sets ``DEBUG=false``, a real
``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from sofp.secret_key import secret_key_weakness

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("SOFP_VAR_DIR", default=str(BASE_DIR / "var")))
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-sofp-local-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else _DEV_SECRET_KEY)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
if not DEBUG and (weak := secret_key_weakness(SECRET_KEY, known=(_DEV_SECRET_KEY,))):
    # Production never starts with a key someone could guess or has seen in the docs.
    raise ImproperlyConfigured(f"SECRET_KEY is too weak for DEBUG=false: {weak}.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "sofp.apps.SofpConfig",
    "valuestreams",
    "planning",
]

MIDDLEWARE = [
    "sofp.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sofp.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "planning.middleware.CompanyTimezoneMiddleware",
    # An ApplicationError a page lets escape becomes its page or problem JSON, not a 500.
    "sofp.errors.ApplicationErrorMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # After authentication: a session idle too long is logged out (SESSION_IDLE_TIMEOUT).
    "sofp.auth.SessionIdleTimeoutMiddleware",
]

ROOT_URLCONF = "sofp.urls"
WSGI_APPLICATION = "sofp.wsgi.application"

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
                "planning.context_processors.navigation",
            ],
            # One way to show a time, in the company's zone and naming it, everywhere.
            # {% url %} answers kept per process (sofp/templatetags/cached_urls.py).
            "builtins": ["planning.templatetags.company_time", "sofp.templatetags.cached_urls"],
        },
    },
]

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the Celery worker write at once; IMMEDIATE avoids
    # "database is locked" on read-then-write transactions.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_NAME", default=None)}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ---------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://sofp")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis outage turns cache reads into misses instead of 500s (sofp/cache.py).
    CACHES["default"]["BACKEND"] = "sofp.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    )
# Sessions are rows in the database, read through Redis (sofp/sessions.py): a signed-in
# request costs a cache read instead of a query. An entry stays in Redis at most
# SESSION_CACHE_SECONDS, so one a Redis outage kept from being deleted does not linger.
# Only a cache every process shares will do: with a per-process cache (locmem) a
# log-out in one process would leave the session readable in the others.
SESSION_ENGINE = (
    "sofp.sessions"
    if CACHES["default"]["BACKEND"] == "sofp.cache.ResilientRedisCache"
    else "django.contrib.sessions.backends.db"
)
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username+IP before the password is tried.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the signed-in user and their roles through the cache.
    "sofp.auth.CachedModelBackend",
]
# Seconds the signed-in user and their roles are kept in the cache (sofp/auth.py), only
# when every process shares it (Redis); 0: read them from the database every request.
SOFP_USER_CACHE_SECONDS = env.int(
    "SOFP_USER_CACHE_SECONDS",
    default=60 if CACHES["default"]["BACKEND"] == "sofp.cache.ResilientRedisCache" else 0,
)
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Behind a reverse proxy set AXES_PROXY_COUNT=1 so the client IP comes from
# X-Forwarded-For; with 0 only REMOTE_ADDR counts (a client cannot spoof it).
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N / time ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SOFP <sofp@localhost>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_broker_dir = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (fanout, pidbox); kombu's default is ./control, which would
        # litter the working directory.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Short socket timeouts: enqueueing from a web request must fail fast when Redis is
    # down (sofp/queueing.py then leaves the work for beat to pick up).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict = {}
# Reminders (issue 5): one service, run by beat every few minutes; idempotent.
CELERY_BEAT_SCHEDULE["sofp-send-reminders"] = {
    "task": "planning.reminders_tick",
    "schedule": env.float("SOFP_REMINDER_INTERVAL_SECONDS", default=300.0),
}
SOFP_REMINDER_RETRY_BACKOFF = env.int("SOFP_REMINDER_RETRY_BACKOFF", default=30)
SOFP_REMINDER_RETRY_BACKOFF_MAX = env.int("SOFP_REMINDER_RETRY_BACKOFF_MAX", default=600)

# --- The step-5 board pack (PDF, printed by headless Chromium: sofp/pdf.py) -----------
SOFP_CHROMIUM_PATH = env.str("SOFP_CHROMIUM_PATH", default="/usr/bin/chromium")
SOFP_PDF_TIMEOUT_MS = env.int("SOFP_PDF_TIMEOUT_MS", default=60_000)
# Reminder mails attach the pre-read up to this size (the link is always there).
SOFP_BOARD_PACK_ATTACH_MAX_BYTES = env.int("SOFP_BOARD_PACK_ATTACH_MAX_BYTES", default=5_000_000)
# Build the pre-read with the step-5 reminder and archive the pack at approval.
SOFP_BOARD_PACK_AUTO = env.bool("SOFP_BOARD_PACK_AUTO", default=True)

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "sofp.auth.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Bad bodies (malformed, too deep, not UTF-8, too large) are 400/413, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "sofp.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # API (issue 8): pagination, rate limits, one error shape.
    "DEFAULT_PAGINATION_CLASS": "sofp.api.pagination.ApiPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": [
        "sofp.api.throttling.AnonThrottle",
        "sofp.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="2000/min"),
    },
    "EXCEPTION_HANDLER": "sofp.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SOFP API",
    "DESCRIPTION": "Plans, actuals and projections of the monthly SOFP cycle.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # API (issue 8)
    "COMPONENT_SPLIT_REQUEST": True,
    # Error answers are problem JSON (RFC 9457), documented with that content type.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sofp.api.schema.problem_json_errors",
        "sofp.api.schema.conditional_get",
        "planning.api.schema.bulk_limits",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CycleStatusEnum": "planning.models.CycleStatus",
        "StepStatusEnum": "planning.models.StepStatus",
        "DecisionStatusEnum": "planning.models.DecisionStatus",
        "MeasureEnum": "planning.measures.INPUT_MEASURES",
        "ActualMeasureEnum": "planning.measures.ACTUAL_FACTS",
        "AssumptionStatusEnum": "planning.models.AssumptionStatus.values",
        "AssumptionMeasureEnum": "planning.models.ASSUMPTION_MEASURES",
        "LaunchStatusEnum": "planning.models.LaunchStatus",
    },
}

# --- Security -------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Container healthchecks talk plain HTTP to the process; don't redirect them to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=10 * 60 * 60)  # a working day
# Seconds without a request after which a browser session is logged out (0: off).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=60 * 60)
# Days an API token works after it was made (0: until revoked or the password changes).
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=0)
CSRF_FAILURE_VIEW = "sofp.errors.csrf_failure"
# Content-Security-Policy (sofp/middleware.py). Scripts only from our origin or with the
# per-request nonce. style-src needs 'unsafe-inline' because Plotly and the grid library
# set style attributes and inject <style> elements at run time; styles cannot run code.
# img-src allows data:/blob: for Plotly's "download as PNG" and inline SVG icons.
SOFP_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
}
# Regexes of paths (no leading slash) of third-party pages that bootstrap with an inline
# script; they get 'unsafe-inline' instead of the nonce. None today: the API docs use
# drf-spectacular's SpectacularSwaggerSplitView, which loads its script from a URL.
SOFP_CSP_RELAXED_PATHS: list[str] = []
SOFP_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), fullscreen=(self)"
)
HEALTH_READY_REQUIRES_BROKER = env.bool("HEALTH_READY_REQUIRES_BROKER", default=True)

# --- Uploads --------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
SOFP_UPLOAD_MAX_BYTES = env.int("SOFP_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# LOG_FORMAT=json (default when DEBUG is off) writes one JSON object per line with the
# request id, user and path; secrets are redacted from every record (sofp/log.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "sofp.log.RequestContextFilter"},
        "redact_secrets": {"()": "sofp.log.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_context", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": env.str("AXES_LOG_LEVEL", default="WARNING")},
    },
}
