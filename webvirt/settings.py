"""Settings, read from the environment.

Production sets SECRET_KEY (or SECRET_KEY_FILE), DATABASE_URL, REDIS_URL and ALLOWED_HOSTS.
`make run` and `make test` set WEBVIRT_DEV=1, which enables development defaults: a secret key
generated once into the data folder, SQLite in the data folder, cookies without the Secure flag.
DEBUG stays off unless DEBUG=1 is set explicitly.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("WEBVIRT_DATA_DIR", BASE_DIR / "data"))
DEV = os.environ.get("WEBVIRT_DEV") == "1"


def env(name, default=None, *, required=False):
    """Read NAME, or the file named by NAME_FILE (for container secrets); empty means unset, so an
    environment file may list every variable and leave the defaults blank."""
    value = os.environ.get(name) or None
    file_name = os.environ.get(f"{name}_FILE")
    if value is None and file_name:
        value = Path(file_name).read_text().strip()
    if value is None and required:
        raise ImproperlyConfigured(f"Set the environment variable {name} (or {name}_FILE).")
    return default if value is None else value


def env_bool(name, default):
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _dev_secret_key():
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY") or (_dev_secret_key() if DEV else env("SECRET_KEY", required=True))
# Encrypts host credentials at rest; derived from SECRET_KEY unless set on its own.
CREDENTIALS_KEY = env("WEBVIRT_CREDENTIALS_KEY", "")
# Only when asked for: a traceback page shows settings and local variables to whoever triggers it,
# and `make run` may well be reachable from a LAN.
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEV else "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "webvirt.core",
    "webvirt.accounts",
    "webvirt.hosts",
    "webvirt.guests",
    "webvirt.consoles",
    "webvirt.storage",
    "webvirt.networks",
    "webvirt.metrics",
    "webvirt.usage",
    "webvirt.backups",
    "webvirt.lifecycle",
    "webvirt.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "webvirt.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "webvirt.core.middleware.PrivatePagesMiddleware",
    "webvirt.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "webvirt.core.audit.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "webvirt.accounts.two_factor.TwoFactorMiddleware",
]

ROOT_URLCONF = "webvirt.urls"
ASGI_APPLICATION = "webvirt.asgi.application"

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
                "webvirt.lifecycle.context_processors.leases_ending",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'webvirt.sqlite3'}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database too: end-to-end tests share it with a worker process.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "webvirt.accounts.backends.LocalPasswordBackend"]
# Who may sign in with a password kept in webvirt's database: "everyone", or "admins" (everybody
# else signs in through a directory). Directory users never do (accounts/backends.py).
WEBVIRT_LOCAL_PASSWORDS = env("WEBVIRT_LOCAL_PASSWORDS", "everyone")
if WEBVIRT_LOCAL_PASSWORDS not in {"everyone", "admins"}:
    raise ImproperlyConfigured("WEBVIRT_LOCAL_PASSWORDS must be 'everyone' or 'admins'.")


def ldap_settings(read):
    """django-auth-ldap's settings from WEBVIRT_LDAP_* variables (docs/identity.md), read with `read`
    (env, or a dict's get in tests). A function, so the tests check the same translation."""
    import ldap
    from django_auth_ldap import config

    group_types = {
        "groupOfNames": config.GroupOfNamesType,
        "groupOfUniqueNames": config.GroupOfUniqueNamesType,
        "posixGroup": config.PosixGroupType,
    }
    group_type = read("WEBVIRT_LDAP_GROUP_TYPE") or "groupOfNames"
    if group_type not in group_types:
        raise ImproperlyConfigured(f"WEBVIRT_LDAP_GROUP_TYPE must be one of {', '.join(group_types)}.")
    timeout = int(read("WEBVIRT_LDAP_TIMEOUT") or "5")
    return {
        "AUTH_LDAP_SERVER_URI": read("WEBVIRT_LDAP_SERVER_URI"),
        "AUTH_LDAP_BIND_DN": read("WEBVIRT_LDAP_BIND_DN") or "",
        "AUTH_LDAP_BIND_PASSWORD": read("WEBVIRT_LDAP_BIND_PASSWORD") or "",
        "AUTH_LDAP_USER_SEARCH": config.LDAPSearch(
            read("WEBVIRT_LDAP_USER_SEARCH_BASE") or "",
            ldap.SCOPE_SUBTREE,
            read("WEBVIRT_LDAP_USER_FILTER") or "(uid=%(user)s)",
        ),
        "AUTH_LDAP_GROUP_SEARCH": config.LDAPSearch(
            read("WEBVIRT_LDAP_GROUP_SEARCH_BASE") or "",
            ldap.SCOPE_SUBTREE,
            read("WEBVIRT_LDAP_GROUP_FILTER") or f"(objectClass={group_type})",
        ),
        "AUTH_LDAP_GROUP_TYPE": group_types[group_type](),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn"},
        "AUTH_LDAP_CONNECTION_OPTIONS": {ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout},
        "WEBVIRT_LDAP_ADMIN_GROUP": read("WEBVIRT_LDAP_ADMIN_GROUP") or "",
        "WEBVIRT_LDAP_TEAM_PREFIX": read("WEBVIRT_LDAP_TEAM_PREFIX") or "",
    }


# LDAP sign-in (accounts/backends.py), off unless a server is named.
if env("WEBVIRT_LDAP_SERVER_URI"):
    globals().update(ldap_settings(env))
    AUTHENTICATION_BACKENDS.insert(1, "webvirt.accounts.backends.LDAPBackend")
# Login throttling: five failures lock the username from that address for 15 minutes.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Tries while locked out do not restart the wait: the owner is never kept out by retrying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Per account name, from any address: after this many failures in a row each attempt waits twice as
# long as the last, at most WEBVIRT_LOGIN_MAX_DELAY seconds (accounts/throttle.py).
WEBVIRT_LOGIN_FREE_FAILURES = int(env("WEBVIRT_LOGIN_FREE_FAILURES", "5"))
WEBVIRT_LOGIN_MAX_DELAY = int(env("WEBVIRT_LOGIN_MAX_DELAY", "900"))
# Two-factor sign-in (accounts/two_factor.py): who must enrol a TOTP app before using the site.
WEBVIRT_REQUIRE_2FA = env("WEBVIRT_REQUIRE_2FA", "none")
if WEBVIRT_REQUIRE_2FA not in {"none", "admins", "everyone"}:
    raise ImproperlyConfigured("WEBVIRT_REQUIRE_2FA must be 'none', 'admins' or 'everyone'.")
if env_bool("WEBVIRT_FAST_PASSWORD_HASHING", False):  # tests only: hashing dominates their set-up
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Single sign-on with OpenID Connect (accounts/oidc.py, docs/identity.md): on when an issuer is set.
WEBVIRT_OIDC_ISSUER = env("WEBVIRT_OIDC_ISSUER", "").rstrip("/")
WEBVIRT_OIDC_CLIENT_ID = env("WEBVIRT_OIDC_CLIENT_ID", "")
WEBVIRT_OIDC_CLIENT_SECRET = env("WEBVIRT_OIDC_CLIENT_SECRET", "")
WEBVIRT_OIDC_NAME = env("WEBVIRT_OIDC_NAME", "SSO")  # the button says "Sign in with <name>"
WEBVIRT_OIDC_SCOPES = env("WEBVIRT_OIDC_SCOPES", "openid email profile")
WEBVIRT_OIDC_USERNAME_CLAIM = env("WEBVIRT_OIDC_USERNAME_CLAIM", "preferred_username")
WEBVIRT_OIDC_TEAMS_CLAIM = env("WEBVIRT_OIDC_TEAMS_CLAIM", "groups")
WEBVIRT_OIDC_TEAM_PREFIX = env("WEBVIRT_OIDC_TEAM_PREFIX", "")  # only such values become teams, prefix removed
WEBVIRT_OIDC_ADMIN_GROUP = env("WEBVIRT_OIDC_ADMIN_GROUP", "")  # a value of the teams claim that makes an admin
if WEBVIRT_OIDC_ISSUER and not (WEBVIRT_OIDC_CLIENT_ID and WEBVIRT_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("Set WEBVIRT_OIDC_CLIENT_ID and WEBVIRT_OIDC_CLIENT_SECRET with WEBVIRT_OIDC_ISSUER.")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEV)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# In production TLS ends at nginx (deploy/nginx/webvirt.conf), which says so in X-Forwarded-Proto;
# uvicorn listens on the loopback only, so nothing else can set that header. Django then redirects
# plain HTTP and sends HSTS (each can be turned off here, e.g. for a first trial without TLS).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", not DEV) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEV)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEV else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEV)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEV)

# English and Simplified Chinese. A page's language: the one its user chose (accounts), else the
# language cookie (set by the picker before signing in), else the browser's Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LANGUAGE_COOKIE_NAME = "webvirt_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LOCALE_PATHS = [BASE_DIR / "locale"]  # catalogues compiled by `make` (msgfmt), never committed
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_TZ = True
FORMAT_MODULE_PATH = ["webvirt.formats"]  # times to the second, one format per language

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT")  # set in production, then run collectstatic
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEV  # pick up edited assets without a restart in development

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Shared by every process: API throttling counts requests across all web servers.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("WEBVIRT_CACHE_PREFIX", "webvirt"),
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "webvirt")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Seconds after which an Operation whose host did not answer is tried again (its host's lane waits).
WEBVIRT_RETRY_DELAYS = tuple(float(delay) for delay in env("WEBVIRT_RETRY_DELAYS", "2,5,15").split(","))
CELERY_BEAT_SCHEDULE = {
    "resync-all-hosts": {
        "task": "webvirt.hosts.tasks.resync_all_hosts",
        "schedule": float(env("WEBVIRT_RESYNC_SECONDS", "60")),
    },
    # Metrics: a round every 10 s (webvirt/metrics/tiers.py's SAMPLE_SECONDS), roll-ups each minute.
    "sample-all-hosts": {"task": "webvirt.metrics.tasks.sample_all_hosts", "schedule": 10.0},
    "roll-up-metrics": {"task": "webvirt.metrics.tasks.roll_up_and_prune", "schedule": 60.0},
    # Lanes whose worker died, or whose task the broker lost, are sent again (core/lanes.py).
    "wake-lanes": {"task": "webvirt.core.tasks.wake_lanes", "schedule": 10.0},
    # Scheduled backups (times in whole minutes, UTC) and their pruning.
    "backup-schedules": {"task": "webvirt.backups.tasks.run_schedules", "schedule": 60.0},
    # Leases: warn owners, shut down guests whose lease ended, delete them after the grace period.
    "enforce-leases": {"task": "webvirt.lifecycle.tasks.enforce_leases", "schedule": 60.0},
    # Power schedules: start and shut down guests at their local times (whole minutes).
    "power-schedules": {"task": "webvirt.lifecycle.tasks.run_power_schedules", "schedule": 60.0},
}
# Leases (webvirt/lifecycle): owners are told this many days ahead; where the lease terms say so,
# a guest is deleted this many days after its lease ended.
WEBVIRT_LEASE_WARN_DAYS = int(env("WEBVIRT_LEASE_WARN_DAYS", "3"))
WEBVIRT_LEASE_GRACE_DAYS = int(env("WEBVIRT_LEASE_GRACE_DAYS", "7"))
# Mail (lease warnings): none unless EMAIL_HOST is set. Links in mail start with WEBVIRT_BASE_URL.
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "webvirt@localhost")
WEBVIRT_BASE_URL = env("WEBVIRT_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# channels_redis blocks on Redis for up to 5 s per receive; redis-py 8 also gives up reading after
# 5 s by default, so idle consumers died with "Timeout reading". Give reads more room.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # A burst of consoles closing at once leaves groups together; 100 connections ran out.
        "CONFIG": {
            "hosts": [
                {"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5, "max_connections": 500}
            ],
            # Installations (and test runs) sharing one Redis keep their groups apart.
            "prefix": env("WEBVIRT_CHANNEL_PREFIX", "asgi"),
        },
    },
}

# libvirt: how long to wait for a host before calling it unreachable, and how long an ACPI
# shutdown may take before its Operation fails with advice to force off.
WEBVIRT_CONNECT_TIMEOUT = float(env("WEBVIRT_CONNECT_TIMEOUT", "10"))
WEBVIRT_SHUTDOWN_TIMEOUT = float(env("WEBVIRT_SHUTDOWN_TIMEOUT", "120"))
WEBVIRT_GUESTS_PER_PAGE = 50

# What a user may own unless an admin sets otherwise.
WEBVIRT_DEFAULT_QUOTA = {
    "guests": int(env("WEBVIRT_QUOTA_GUESTS", "5")),
    "vcpus": int(env("WEBVIRT_QUOTA_VCPUS", "8")),
    "memory_mib": int(env("WEBVIRT_QUOTA_MEMORY_MIB", "16384")),
    "disk_gib": int(env("WEBVIRT_QUOTA_DISK_GIB", "200")),
}

# Storage: directory pools may only be created below these paths (on their host). Uploads are
# written to WEBVIRT_UPLOAD_DIR (which the web server and the workers must share), then streamed
# to their host by a worker; never held in memory.
WEBVIRT_POOL_BASE_DIRS = [
    d.strip() for d in env("WEBVIRT_POOL_BASE_DIRS", "/var/lib/libvirt/images,/srv/webvirt").split(",") if d.strip()
]
WEBVIRT_UPLOAD_DIR = Path(env("WEBVIRT_UPLOAD_DIR", str(DATA_DIR / "uploads")))
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = str(WEBVIRT_UPLOAD_DIR)
WEBVIRT_UPLOAD_DIR.mkdir(parents=True, exist_ok=True)

# Consoles: tickets live this long (seconds) and are good for one connection. The proxy is the
# app's own Channels consumer unless WEBVIRT_CONSOLE_PROXY=websockify, in which case pages connect
# to WEBVIRT_WEBSOCKIFY_URL (e.g. wss://consoles.example.org/) with the same tickets.
WEBVIRT_CONSOLE_TICKET_TTL = int(env("WEBVIRT_CONSOLE_TICKET_TTL", "30"))
WEBVIRT_CONSOLE_PROXY = env("WEBVIRT_CONSOLE_PROXY", "channels")
WEBVIRT_WEBSOCKIFY_URL = env("WEBVIRT_WEBSOCKIFY_URL", "")
if WEBVIRT_CONSOLE_PROXY not in {"channels", "websockify"}:
    raise ImproperlyConfigured("WEBVIRT_CONSOLE_PROXY must be 'channels' or 'websockify'.")
if WEBVIRT_CONSOLE_PROXY == "websockify" and not WEBVIRT_WEBSOCKIFY_URL:
    raise ImproperlyConfigured("Set WEBVIRT_WEBSOCKIFY_URL when WEBVIRT_CONSOLE_PROXY=websockify.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"expected_refusals": {"()": "webvirt.core.logging.ExpectedRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # On the logger, not a handler: every handler (and pytest's capture) sees one line per refusal.
    "loggers": {
        "django.request": {"filters": ["expected_refusals"]},
        "django.security.DisallowedHost": {"filters": ["expected_refusals"]},
    },
}

# The REST API (/api/v1/): sessions for the browser, personal tokens for scripts; the same policy,
# quotas, Operations and audit as the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webvirt.accounts.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "webvirt.accounts.api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["webvirt.accounts.api.throttles.PerTokenThrottle"],
    "DEFAULT_PAGINATION_CLASS": "webvirt.core.api.pagination.LimitOffset",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "webvirt.core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
WEBVIRT_API_RATE = env("WEBVIRT_API_RATE", "1200/min")  # per token (per user for browser sessions)
SPECTACULAR_SETTINGS = {
    "TITLE": "webvirt API",
    "DESCRIPTION": "Manage KVM guests, hosts, storage and networks. Slow actions answer 202 with an Operation.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": f"/{STATIC_URL}vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": f"/{STATIC_URL}webvirt/favicon.svg",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "webvirt.core.api.errors.document_errors",
    ],
}
