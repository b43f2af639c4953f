"""Configuration. Every setting can come from the environment; secrets never live in the repository."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def instance_secret(instance_path: Path, name: str) -> str:
    """Read a secret from the instance folder, creating a random one (mode 0600) on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Config:
    BASE_DIR = BASE_DIR
    INSTANCE_PATH = Path(env_str("INSTANCE_PATH", str(BASE_DIR / "instance")))  # type: ignore[arg-type]
    SECRET_KEY = env_str("SECRET_KEY")  # falls back to instance/secret_key (see create_app)
    SQLALCHEMY_DATABASE_URI = env_str("DATABASE_URL", f"sqlite:///{INSTANCE_PATH / 'parking.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Instead of the pool's pre-ping (a round trip per request): a pooled connection the server
    # ended is seen at checkout from its socket, and replaced (parking.database).
    DATABASE_CHECK_AT_CHECKOUT = True
    # A GET's statements run in autocommit on PostgreSQL, so that they are prepared and planned
    # once per connection instead of once per request (parking.database.read_in_autocommit).
    DATABASE_READS_IN_AUTOCOMMIT = True
    # A transaction that wrote nothing ends with COMMIT where the app rolls back (the same to the
    # data), so that psycopg keeps the statements it prepared (parking.database).
    DATABASE_COMMIT_UNWRITTEN = True
    # A PostgreSQL host that does not answer (a fail-over in progress) is given up on after this
    # long, so that the request gets its 503 instead of holding a worker.
    DATABASE_CONNECT_TIMEOUT_SECONDS = env_int("DATABASE_CONNECT_TIMEOUT_SECONDS", 5)
    SQLALCHEMY_RECORD_QUERIES = False
    TESTING = False

    # API and OpenAPI (flask-smorest)
    API_TITLE = "Tidal parking"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Swagger UI's files come from the flask-swagger-ui package, served by parking.docs_assets: no CDN.
    OPENAPI_SWAGGER_UI_URL = env_str("OPENAPI_SWAGGER_UI_URL", "/api/v1/docs/static/")
    # Swagger UI would otherwise send the spec's address to its makers' online validator.
    OPENAPI_SWAGGER_UI_CONFIG: dict = {"validatorUrl": None}
    JSON_AS_ASCII = False

    # Authentication
    TOKEN_TTL_SECONDS = env_int("TOKEN_TTL_SECONDS", 7 * 24 * 3600)
    PASSWORD_HASH_METHOD = env_str("PASSWORD_HASH_METHOD", "scrypt")

    # Rate limits (Flask-Limiter); Redis in production: RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_AUTH = env_str("RATELIMIT_AUTH", "20/minute")  # registration, every attempt
    # Sign-in and password reset, per client address: failures only (many residents share a
    # carrier's address), the page and the API on one budget.
    RATELIMIT_LOGIN_FAILURES = env_str("RATELIMIT_LOGIN_FAILURES", "50 per 15 minutes")
    # Per phone: this many failures lock its password sign-in for LOGIN_LOCKOUT_MINUTES, doubling
    # for each further lock-out that starts within LOGIN_LOCKOUT_LADDER_HOURS of the last one's end,
    # up to LOGIN_LOCKOUT_MAX_MINUTES. The counters live in the rate limiter's storage.
    LOGIN_FAILURES_PER_PHONE = env_str("LOGIN_FAILURES_PER_PHONE", "5 per 15 minutes")
    LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
    LOGIN_LOCKOUT_MAX_MINUTES = env_int("LOGIN_LOCKOUT_MAX_MINUTES", 24 * 60)
    LOGIN_LOCKOUT_LADDER_HOURS = env_int("LOGIN_LOCKOUT_LADDER_HOURS", 24)
    RESET_CODE_TTL_HOURS = env_int("RESET_CODE_TTL_HOURS", 24)
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: the limits fall back to per-process memory and return to Redis once it answers
    # again (Flask-Limiter re-checks it at least every 32 s while requests come in); a Redis that
    # hangs is given up on after RATELIMIT_REDIS_TIMEOUT_SECONDS, so a sign-in never waits for it.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS: dict = {
        "socket_connect_timeout": env_float("RATELIMIT_REDIS_TIMEOUT_SECONDS", 0.5),
        "socket_timeout": env_float("RATELIMIT_REDIS_TIMEOUT_SECONDS", 0.5),
    }

    # Request limits: a JSON or form body above 64 KB is a 413 (the offline-scan upload and the
    # scan image have their own, larger limits: parking/request_limits.py); JSON nested deeper
    # than MAX_JSON_DEPTH is a 400.
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_JSON_DEPTH = 32

    # The database unreachable: a 503 that asks clients to come back after this many seconds.
    UNAVAILABLE_RETRY_AFTER_SECONDS = env_int("UNAVAILABLE_RETRY_AFTER_SECONDS", 5)

    # i18n: Simplified Chinese first
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")

    # Tide scheduler
    SCHEDULER_ENABLED = env_bool("SCHEDULER_ENABLED", False)
    TIDE_INTERVAL_SECONDS = env_int("TIDE_INTERVAL_SECONDS", 60)

    # Passes: the private signing keys are stored encrypted with a key derived from PASS_KEY_SECRET
    # (or SECRET_KEY when unset)
    PASS_KEY_SECRET = env_str("PASS_KEY_SECRET")
    REVOCATION_MAX_AGE_SECONDS = env_int("REVOCATION_MAX_AGE_SECONDS", 15 * 60)

    # The page cookies. Set here, on the class: Flask and Flask-WTF put their own defaults in
    # app.config before the web layer is wired, so a later setdefault() would never take effect.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=90)
    # A half-filled form must not expire under 20 h (an evening's form still submits the next
    # evening); Flask-WTF's own default is one hour.
    WTF_CSRF_TIME_LIMIT = 7 * 24 * 3600

    # Behind an HTTPS load balancer (HTTPS=1; SECURE_COOKIES=1 is the older name of the switch):
    # both cookies only over HTTPS, and Strict-Transport-Security on every response. The client
    # address and scheme come from that many trusted proxies' X-Forwarded-* headers.
    HTTPS = env_bool("HTTPS", env_bool("SECURE_COOKIES", False))
    SESSION_COOKIE_SECURE = HTTPS
    REMEMBER_COOKIE_SECURE = HTTPS
    HSTS_MAX_AGE_SECONDS = env_int("HSTS_MAX_AGE_SECONDS", 365 * 24 * 3600)
    PROXY_FIX_HOPS = env_int("PROXY_FIX_HOPS", 0)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = env_str("TEST_DATABASE_URL", "sqlite://")
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast in tests; production uses scrypt
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SCHEDULER_ENABLED = False
    WTF_CSRF_ENABLED = True
