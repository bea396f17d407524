"""Accounts: hashed passwords (Werkzeug's scrypt), roles, API tokens, and Flask-Login glue."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

from flask import abort, current_app, g, request
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from kb.errors import SinergiError
from kb.store import User

ROLES = ("contributor", "editor", "admin")
login_manager = LoginManager()
login_manager.login_view = "curation.login"


@dataclass
class Account(UserMixin):
    pk: int
    username: str
    role: str

    def get_id(self) -> str:
        return str(self.pk)

    def can(self, role: str) -> bool:
        """True when this account has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _account(u: User) -> Account:
    return Account(u.pk, u.username, u.role)


def _store():
    return current_app.extensions["sinergi_kb"].store


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    with _store()._sessions() as s:
        u = s.get(User, int(user_id)) if user_id.isdigit() else None
        return _account(u) if u else None


def add_user(store, username: str, password: str, role: str = "contributor") -> None:
    """Create an account; the password is stored hashed."""
    if role not in ROLES:
        raise SinergiError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise SinergiError("a password needs at least 10 characters")
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
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            raise SinergiError(f"no user {username!r}")
        u.role = role


def list_users(store) -> list[dict]:
    with store._sessions() as s:
        return [{"username": u.username, "role": u.role, "token": bool(u.token_hash)}
                for u in s.scalars(select(User).order_by(User.username))]


def verify(store, username: str, password: str) -> Account | None:
    """The account when the password is right, else ``None`` (same work either way)."""
    with store._sessions() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            check_password_hash(generate_password_hash("x"), password)
            return None
        return _account(u) if check_password_hash(u.password_hash, password) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(store, username: str) -> str:
    """A fresh API token for ``username`` (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            raise SinergiError(f"no user {username!r}")
        u.token_hash = _token_hash(token)
    return token


def token_account(store, header: str | None) -> Account | None:
    if not header or header[:7].lower() != "bearer ":  # the scheme is case-insensitive
        return None
    with store._sessions() as s:
        u = s.scalar(select(User).where(User.token_hash == _token_hash(header[7:].strip())))
        return _account(u) if u else None


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
