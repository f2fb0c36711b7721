"""Django settings, read from the environment with safe development defaults.

Environment variables (all optional in development):
  SECRET_KEY, DEBUG, ALLOWED_HOSTS (comma separated), CSRF_TRUSTED_ORIGINS,
  DATABASE_URL (default: SQLite in var/), CELERY_BROKER_URL (default: kombu's
  filesystem transport in var/broker, which needs no server), CELERY_RESULT_BACKEND,
  MEDIA_ROOT, STORAGE_BACKEND ("file" or "s3", with AWS_* / S3_* variables),
  LABEL360_MAX_PANORAMA_WIDTH / _HEIGHT, LABEL360_WEIGHTS_DIR, CACHE_URL.
Production security (HTTPS, HSTS, cookies, CSP, login throttling, token age): see the
"Production security" section below and docs/deploy.md.
"""

import os
from pathlib import Path

import dj_database_url

# OpenCV only reads OpenEXR when this is set before it is imported.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LABEL360_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-label360-secret-key-change-me")
if not DEBUG and SECRET_KEY.startswith("dev-insecure"):
    raise RuntimeError("Set SECRET_KEY when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- Production security (docs/deploy.md) ----------------------------------------------------
# With DEBUG off, cookies are HTTPS-only and plain HTTP is redirected unless told otherwise.
# HSTS is opt-in (SECURE_HSTS_SECONDS): browsers remember it, so it must not be switched on
# by a default before the site is known to be served over HTTPS only.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe it over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# "X-Forwarded-Proto,https": only behind a proxy that sets (and never passes on) that header.
_proxy_ssl_header = [
    part.strip() for part in os.environ.get("SECURE_PROXY_SSL_HEADER", "").split(",")
]
if len(_proxy_ssl_header) == 2 and all(_proxy_ssl_header):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header[0].upper().replace("-", "_"),
        _proxy_ssl_header[1],
    )
elif any(_proxy_ssl_header):
    raise RuntimeError("SECURE_PROXY_SSL_HEADER must look like 'X-Forwarded-Proto,https'.")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (label360/csp.py): LABEL360_CSP replaces the default policy.
if "LABEL360_CSP" in os.environ:
    LABEL360_CSP = os.environ["LABEL360_CSP"]
LABEL360_CSP_REPORT_ONLY = env_bool("LABEL360_CSP_REPORT_ONLY", False)
# Failed sign-ins per client IP and per username (label360/loginthrottle.py): this many within
# the window (seconds) and further attempts answer 429. Addresses come from X-Forwarded-For
# only with LABEL360_NUM_PROXIES trusted proxies in front.
LABEL360_LOGIN_FAILURE_LIMIT = env_int("LABEL360_LOGIN_FAILURE_LIMIT", 10)
LABEL360_LOGIN_FAILURE_WINDOW = env_int("LABEL360_LOGIN_FAILURE_WINDOW", 300)
LABEL360_NUM_PROXIES = env_int("LABEL360_NUM_PROXIES", 0)
# API tokens expire this many hours after they were issued (0: never; label360/tokens.py).
LABEL360_TOKEN_MAX_AGE_HOURS = float(os.environ.get("LABEL360_TOKEN_MAX_AGE_HOURS", "168"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here instead of a CDN
    "label360.apps.Label360Config",
    "annotations",
    "inference",
    "datasets",
    "sequences",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "label360.csp.ContentSecurityPolicyMiddleware",
    "label360.bodylimit.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "label360.loginthrottle.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "label360.urls"
WSGI_APPLICATION = "label360.wsgi.application"
ASGI_APPLICATION = "label360.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'label360.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and a worker's processes share the file. WAL lets readers run beside the
    # one writer; IMMEDIATE transactions take the write lock when they begin, so a transaction
    # that reads then writes waits for the lock (busy timeout) instead of failing at once when
    # another process committed in between (SQLite cannot upgrade a stale read snapshot).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": int(os.environ.get("SQLITE_BUSY_TIMEOUT", "30")),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The login throttle counts failures here: with several web processes, share it (redis://…).
_cache_url = os.environ.get("CACHE_URL", "locmem://")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }
elif _cache_url.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise RuntimeError("CACHE_URL must be locmem:// or redis://…")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Development serves app/static files without collectstatic; production (scripts/serve.sh)
# serves what collectstatic gathered, with hashed names and compressed copies.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# All media goes through the storage API, so a bucket works as well as a disk.
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "file")
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("S3_BUCKET", "label360"),
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    # the token class first: its challenge turns a bad token into 401 (see its docstring)
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "label360.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # the client address of throttles: REMOTE_ADDR unless trusted proxies are declared
    "NUM_PROXIES": LABEL360_NUM_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # hostile JSON (deep nesting, 1e400, \u0000, lone surrogates) is a 400, never a 500
    "DEFAULT_PARSER_CLASSES": [
        "label360.parsers.StrictJSONParser",
        "label360.parsers.StrictFormParser",
        "label360.parsers.StrictMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "annotations.pagination.FlexiblePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
}
LABEL360_MAX_JSON_DEPTH = int(os.environ.get("LABEL360_MAX_JSON_DEPTH", "32"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Label360 API",
    "DESCRIPTION": "Instance labelling of 360° panoramas with spherical polygons.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "GET_MOCK_REQUEST": "label360.schema.mock_request",
    # two models have a choice field named "source": name the enums instead of hashing them
    "ENUM_NAME_OVERRIDES": {"InstanceSourceEnum": "annotations.models.InstanceSource"},
    # Swagger UI from drf-spectacular-sidecar (same origin, no CDN)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # fanout (broadcast/pidbox) exchanges; kombu's default is "control" in the cwd
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis/SQS re-deliver an unacknowledged task after this long; jobs run minutes, not hours.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        # an unreachable broker host must fail a publish in seconds, not the OS's minutes
        "socket_connect_timeout": float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "3")),
    }
_default_results = (
    CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else f"file://{VAR_DIR / 'celery-results'}"
)
if _default_results.startswith("file://"):
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", _default_results)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "batch"
CELERY_TASK_QUEUES_NAMES = ("interactive", "batch")
LABEL360_QUEUE_PREFIX = os.environ.get("LABEL360_QUEUE_PREFIX", "")  # see inference.services
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A running job writes a heartbeat; one silent for LABEL360_JOB_STALE_SECONDS lost its worker
# and is re-queued by the sweep (beat every LABEL360_JOB_SWEEP_SECONDS, and at worker start).
LABEL360_JOB_HEARTBEAT_SECONDS = float(os.environ.get("LABEL360_JOB_HEARTBEAT_SECONDS", "15"))
LABEL360_JOB_STALE_SECONDS = float(os.environ.get("LABEL360_JOB_STALE_SECONDS", "120"))
LABEL360_JOB_SWEEP_SECONDS = float(os.environ.get("LABEL360_JOB_SWEEP_SECONDS", "30"))
# Unpublished jobs younger than this are left to the request that created them.
LABEL360_JOB_PUBLISH_GRACE_SECONDS = float(os.environ.get("LABEL360_JOB_PUBLISH_GRACE", "20"))
# A queued job published this long ago whose queue is empty lost its message: publish again.
LABEL360_JOB_REPUBLISH_SECONDS = float(os.environ.get("LABEL360_JOB_REPUBLISH_SECONDS", "300"))
CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {
        "task": "inference.tasks.sweep_jobs",
        "schedule": LABEL360_JOB_SWEEP_SECONDS,
        "options": {
            "queue": f"{LABEL360_QUEUE_PREFIX}interactive",
            "expires": LABEL360_JOB_SWEEP_SECONDS,
        },
    }
}

# --- Label360 -------------------------------------------------------------------------
LABEL360_MAX_PANORAMA_WIDTH = int(os.environ.get("LABEL360_MAX_PANORAMA_WIDTH", "16384"))
LABEL360_MAX_PANORAMA_HEIGHT = int(os.environ.get("LABEL360_MAX_PANORAMA_HEIGHT", "8192"))
LABEL360_MAX_UPLOAD_BYTES = int(os.environ.get("LABEL360_MAX_UPLOAD_BYTES", str(1024**3)))
LABEL360_WEIGHTS_DIR = Path(os.environ.get("LABEL360_WEIGHTS_DIR", VAR_DIR / "weights"))
# Pretrained detectors (faces, text): files extracted from registry wheels by scripts/setup.sh.
LABEL360_DETECTOR_WEIGHTS_DIR = Path(
    os.environ.get("LABEL360_DETECTOR_WEIGHTS_DIR", LABEL360_WEIGHTS_DIR / "detectors")
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
# Bodies other than multipart uploads (JSON) over this size are refused (413) before parsing;
# one request's geometries hold at most LABEL360_MAX_REQUEST_VERTICES vertices in all; a
# dataset import file is at most LABEL360_MAX_IMPORT_BYTES.
LABEL360_MAX_JSON_BODY_BYTES = int(
    os.environ.get("LABEL360_MAX_JSON_BODY_BYTES", str(64 * 1024**2))
)
LABEL360_MAX_REQUEST_VERTICES = int(os.environ.get("LABEL360_MAX_REQUEST_VERTICES", "1000000"))
LABEL360_MAX_IMPORT_BYTES = int(os.environ.get("LABEL360_MAX_IMPORT_BYTES", str(2 * 1024**3)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
