"""Accounts: hashed passwords (Werkzeug's scrypt), roles, API tokens, and Flask-Login glue.

A sign-in session names its account and the account's session generation; raising the
generation (sign-out, a new password, disabling) ends every session of that account at once.
A disabled account can neither sign in nor use its API token."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

from flask import abort, current_app, g, request
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from kb.access import ROLES, Actor
from kb.errors import SinergiError
from kb.store import User
login_manager = LoginManager()
login_manager.login_view = "curation.login"


@dataclass
class Account(UserMixin):
    pk: int
    username: str
    role: str
    generation: int = 0

    def get_id(self) -> str:
        """The session's user id: ``<key>.<session generation>``."""
        return f"{self.pk}.{self.generation}"

    def can(self, role: str) -> bool:
        """True when this account has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def actor(self) -> Actor:
        """This account as kb's :class:`~kb.access.Actor` (kb decides what it may do)."""
        return Actor(self.username, self.role)


def current_actor() -> Actor | None:
    """The signed-in user of a page request, or ``None``."""
    return current_user.actor if current_user.is_authenticated else None


def _account(u: User) -> Account:
    return Account(u.pk, u.username, u.role, u.session_generation)


def _store():
    return current_app.extensions["sinergi_kb"].store


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    """The account of a session, unless it was disabled or its sessions were ended since."""
    pk, _, generation = user_id.partition(".")
    if not (pk.isdigit() and generation.isdigit()):
        return None
    with _store().read_session() as s:
        u = s.get(User, int(pk))
        if u is None or u.disabled or u.session_generation != int(generation):
            return None
        return _account(u)


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise SinergiError("a password needs at least 10 characters")


def _user(s, username: str) -> User:
    u = s.scalar(select(User).where(User.username == username))
    if u is None:
        raise SinergiError(f"no user {username!r}")
    return u


def add_user(store, username: str, password: str, role: str = "contributor") -> None:
    """Create an account; the password is stored hashed."""
    if role not in ROLES:
        raise SinergiError(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise SinergiError("a user name uses letters, digits, '.', '-' and '_' only")
    with store.session() as s:
        if s.scalar(select(User).where(User.username == username)):
            raise SinergiError(f"user {username!r} already exists")
        s.add(User(username=username, password_hash=generate_password_hash(password), role=role))


def set_role(store, username: str, role: str) -> None:
    if role not in ROLES:
        raise SinergiError(f"role must be one of {', '.join(ROLES)}")
    with store.session() as s:
        _user(s, username).role = role


def set_password(store, username: str, password: str) -> None:
    """A new password; the account's sessions end (its API token stays valid)."""
    _check_password(password)
    with store.session() as s:
        u = _user(s, username)
        u.password_hash = generate_password_hash(password)
        u.session_generation += 1


def set_disabled(store, username: str, disabled: bool = True) -> None:
    """Disable an account (no sign-in, no API token; its sessions end) or enable it again."""
    with store.session() as s:
        u = _user(s, username)
        u.disabled = disabled
        u.session_generation += 1


def end_sessions(store, pk: int) -> None:
    """End every sign-in session of the account ``pk`` (sign-out)."""
    with store.session() as s:
        u = s.get(User, pk)
        if u is not None:
            u.session_generation += 1


def list_users(store) -> list[dict]:
    with store.read_session() as s:
        return [{"username": u.username, "role": u.role, "token": bool(u.token_hash), "disabled": u.disabled}
                for u in s.scalars(select(User).order_by(User.username))]


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made once, checked when the user name is unknown: an
    unknown name then costs one hash check, like a known one."""
    return generate_password_hash(secrets.token_urlsafe(16))


def verify(store, username: str, password: str) -> Account | None:
    """The account when the password is right and the account enabled, else ``None`` (one
    hash check either way, so the time does not tell whether the name exists)."""
    with store.read_session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            check_password_hash(_dummy_hash(), password)
            return None
        ok = check_password_hash(u.password_hash, password)
        return _account(u) if ok and not u.disabled else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(store, username: str) -> str:
    """A fresh API token for ``username`` (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        _user(s, username).token_hash = _token_hash(token)
    return token


def token_account(store, header: str | None) -> Account | None:
    if not header or header[:7].lower() != "bearer ":  # the scheme is case-insensitive
        return None
    with store.read_session() as s:
        u = s.scalar(select(User).where(User.token_hash == _token_hash(header[7:].strip())))
        return _account(u) if u and not u.disabled else None


def role_required(role: str):
    """A view decorator: sign-in required, and at least ``role``."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a, **kw):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(role):
                abort(403)
            return fn(*a, **kw)

        return wrapper

    return deco


def api_account() -> Account | None:
    """The account of an API request's bearer token."""
    if "api_account" not in g:
        g.api_account = token_account(_store(), request.headers.get("Authorization"))
    return g.api_account
