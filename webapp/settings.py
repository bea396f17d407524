"""The web app's settings: one typed model, checked when the app is created.

Values come from the defaults below, then ``SINERGI_FLASK_<NAME>`` environment variables
(Flask's ``from_prefixed_env``: JSON values, else strings), then a test's config. A wrong value
stops the start with a message naming the setting, its variable and what is expected.
Flask's own keys that Sinergi does not set (``TESTING``, ``SERVER_NAME`` ...) pass through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from limits import parse as parse_rate_limit
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from kb.errors import SinergiError


class Settings(BaseModel):
    """Sinergi's settings, by their Flask config key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    MAX_CONTENT_LENGTH: int = Field(10 * 1024 * 1024, gt=0)   # request bodies and uploads, bytes
    SESSION_COOKIE_SECURE: bool = True
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict"] = "Lax"
    REMEMBER_COOKIE_SECURE: bool = True
    WTF_CSRF_TIME_LIMIT: int = Field(8 * 3600, gt=0)
    BABEL_DEFAULT_LOCALE: Literal["id", "en"] = "id"
    RATELIMIT_HEADERS_ENABLED: bool = True                   # Retry-After on a 429 (and X-RateLimit-*)
    SINERGI_HOME: str | None = None                          # the instance folder (else $SINERGI_HOME)
    SINERGI_TILE_URL: str | None = None                      # a tile server's URL template, when online
    SINERGI_LOGIN_LIMIT: str = "10 per minute"               # sign-in attempts per client
    SINERGI_DOWNLOAD_LIMIT: str = "6 per minute"             # CSV downloads per client, all kinds together
    SINERGI_UPLOAD_TTL: int = Field(3600, gt=0)              # seconds an unconfirmed upload preview is kept
    SINERGI_UPLOAD_MAX_RECORDS: int = Field(5000, gt=0)      # records per uploaded file
    SINERGI_TODAY: dt.date | None = None                     # the day agreements are judged against (tests)
    PAGE_SIZE: int = Field(10, ge=1, le=100)                 # results per search page
    # Seconds a save waits for another writer (the store's write lock, the index lock): then the
    # store answers 503 (nothing saved), and a stored record whose index is busy is indexed by
    # the next catch-up instead of holding the worker.
    SINERGI_WRITE_WAIT: float = Field(5.0, gt=0, le=600)
    # Reverse proxies in front of the app that append to X-Forwarded-For / -Proto (0: none;
    # clients then cannot choose their address for the rate limits by sending the header).
    PROXY_HOPS: StrictInt = Field(0, ge=0, le=10)

    @field_validator("SINERGI_LOGIN_LIMIT", "SINERGI_DOWNLOAD_LIMIT")
    @classmethod
    def _rate(cls, v: str) -> str:
        try:
            parse_rate_limit(v)
        except ValueError:
            raise ValueError("a rate such as '10 per minute' or '100/hour'") from None
        return v

    @field_validator("SINERGI_TILE_URL")
    @classmethod
    def _tiles(cls, v: str | None) -> str | None:
        if v and not all(part in v for part in ("{z}", "{x}", "{y}")) or v and not v.startswith("https://"):
            raise ValueError("an https URL template with {z}, {x} and {y}")
        return v or None


DEFAULTS: dict[str, Any] = Settings().model_dump()


def load(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The app's config: the defaults, then the ``SINERGI_FLASK_*`` environment, then
    ``overrides`` (a test's mapping); Sinergi's settings checked and typed, Flask's other keys
    passed through."""
    from flask import Config

    config = Config(".", DEFAULTS)
    config.from_prefixed_env("SINERGI_FLASK")
    if overrides:
        config.update(overrides)
    return {**config, **checked(config)}


def checked(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of ``config`` validated and typed (the other keys are not returned);
    :class:`SinergiError` names every wrong one."""
    try:
        return Settings.model_validate({k: config[k] for k in Settings.model_fields if k in config}).model_dump()
    except ValidationError as e:
        problems = []
        for err in e.errors():
            key = str(err["loc"][0])
            problems.append(f"{key} (environment variable SINERGI_FLASK_{key}) = {err.get('input')!r}: "
                            f"{err['msg'].removeprefix('Value error, ')}")
        raise SinergiError("invalid setting: " + "; ".join(problems)) from None
