"""Sinergi's web app: server-rendered pages and the JSON API over kb and the recommender."""

from __future__ import annotations

import os

from flask import Flask, g, jsonify, make_response, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from kb.base import KnowledgeBase
from kb.errors import Conflict, Forbidden, Invalid, NotFound, SinergiError, Unavailable

from . import ratelimits
from .auth import _dummy_hash, login_manager
from .i18n import compile_catalogs
from .settings import load as load_settings

LANGUAGES = ("id", "en")
csrf = CSRFProtect()
babel = Babel()
# Counters in the instance's database, shared by every worker and node (webapp/ratelimits.py).
limiter = Limiter(key_func=get_remote_address, default_limits=[], storage_uri="sinergi://")
# The endpoints with a rate limit (signing in: views/curation.py; downloads, CSV or workbook:
# views/search.py, views/proposals.py). Other requests skip Flask-Limiter's per-request
# look-up of applicable limits (~0.1 ms of every page).
RATE_LIMITED_ENDPOINTS = frozenset({"curation.login", "search.download", "search.download_xlsx",
                                    "proposals.shortlist", "proposals.printable", "proposals.legal_print"})


@limiter.request_filter
def _without_rate_limit() -> bool:
    return request.endpoint not in RATE_LIMITED_ENDPOINTS


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys
    (Flask builds one when it opens and again when it saves every request's session)."""

    _serializer: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]

def blueprints() -> list:
    """Every view module's blueprint, in the order the app registers them (importing the views:
    ``serve`` calls this before forking its workers, so that they share the imported modules)."""
    from .views import agreements, api, cases, curation, feeds, main, proposals, regions, search

    return [main.bp, search.bp, cases.bp, proposals.bp, regions.bp, curation.bp, api.bp, agreements.bp, feeds.bp]


def create_app(test_config: dict | None = None, *, home: str | os.PathLike | None = None) -> Flask:
    """The app for the instance at ``home`` (or ``$SINERGI_HOME``); created with the bundled
    corpus on first start."""
    app = Flask(__name__)
    app.session_interface = _SessionInterface()
    app.config.from_mapping(load_settings(test_config))
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    kb = KnowledgeBase(home or app.config.get("SINERGI_HOME"), write_wait=app.config["SINERGI_WRITE_WAIT"])
    if not kb.is_initialized:
        ensure_initialized(kb)
    app.config["SECRET_KEY"] = kb.settings["secret_key"]
    app.extensions["sinergi_kb"] = kb
    translations = compile_catalogs(kb.home / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale)
    _install_request_gettext(app)
    login_manager.init_app(app)
    _dummy_hash()  # made now, not during the first sign-in with an unknown name
    app.extensions[ratelimits.EXTENSION] = ratelimits.engine_for(kb)
    limiter.init_app(app)

    from .views import api

    for bp in blueprints():
        app.register_blueprint(bp)
    csrf.exempt(api.bp)

    @app.after_request
    def _headers(resp):
        tiles = app.config.get("SINERGI_TILE_URL")
        img = "'self' data:" + (" " + tiles.split("/{")[0] if tiles else "")
        resp.headers.setdefault("Content-Security-Policy",
                                f"default-src 'self'; img-src {img}; style-src 'self'; script-src 'self'; "
                                "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _error(400, str(e.description))

    @app.errorhandler(HTTPException)
    def _http(e):
        # Werkzeug's own description of a status is English: a page words it from the catalogue.
        own = e.description != type(e).description
        message = e.description
        if e.code == 413 and app.config.get("MAX_CONTENT_LENGTH"):
            message = f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']:,} bytes"
        body, code, headers = _error(e.code or 500, message, worded=not own)
        # Werkzeug's own headers of the error: a 405's Allow (the methods the path has)
        headers.update((k, v) for k, v in e.get_headers() if k.lower() in ("allow", "retry-after"))
        return body, code, headers

    @app.errorhandler(SinergiError)
    def _domain(e):
        for cls, status in _DOMAIN_STATUS:
            if isinstance(e, cls):
                resp = make_response(_error(status, str(e)))
                if status == 503:
                    resp.headers["Retry-After"] = "5"
                return resp
        return _error(400, str(e))

    @app.errorhandler(Exception)
    def _unexpected(e):  # never a traceback to the user
        app.logger.exception("unexpected error")
        return _error(500, "internal error")

    from .views.common import cached_url_for, link

    app.jinja_env.globals["url_for"] = cached_url_for
    app.jinja_env.globals["link"] = link
    from .labels import GLOBALS as label_globals

    app.jinja_env.globals.update(label_globals)

    @app.context_processor
    def _globals():
        return {"current_lang": _locale(), "languages": LANGUAGES}

    return app


# Domain errors that reach the edge unhandled: their HTTP status by class.
_DOMAIN_STATUS = ((Invalid, 400), (NotFound, 404), (Forbidden, 403), (Conflict, 409), (Unavailable, 503))


def ensure_initialized(kb: KnowledgeBase) -> None:
    """Load the bundled corpus and fit the model the first time an instance is served."""
    from filelock import FileLock

    from recommender.service import refresh_models

    with FileLock(str(kb.home / "init.lock")):
        if kb.is_initialized:
            return
        if kb.store.head():
            kb.catch_up()  # a store other instances fill: the index is built from it
        else:
            kb.load_corpus()
        refresh_models(kb)
        kb.mark_initialized()


def _install_request_gettext(app: Flask) -> None:
    """Flask-Babel's template gettext, with the request's catalogue looked up once per request
    instead of once per string (a search page translates ~40 strings)."""
    from .labels import request_translations as catalogue

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )

    def translate(string: str, **variables) -> Markup:
        """``_('...')`` in templates: what the extension's new-style gettext returns (the
        translation as markup, the variables escaped into it), without its two levels of
        context calls per string (~5% of a search page's CPU)."""
        return Markup(catalogue().ugettext(string)) % variables

    app.jinja_env.globals["_"] = translate


def _locale() -> str:
    lang = request.args.get("lang") if request else None
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    if request and session.get("lang") in LANGUAGES:
        return session["lang"]
    return "id"


def _error(code: int, message: str, *, worded: bool = False):
    """The error as JSON (API) or a page; ``worded``: the page shows the catalogue's explanation
    of ``code`` instead of ``message``."""
    from flask_babel import gettext as _

    if request.path.startswith("/api/"):
        # A 401 names the scheme it wants (RFC 9110): the API takes bearer tokens.
        headers = {"WWW-Authenticate": 'Bearer realm="sinergi"'} if code == 401 else {}
        body = {"error": {"code": code, "message": message, "details": getattr(g, "error_details", None)}}
        return jsonify(body), code, headers
    explanations = {404: _("Tidak ada halaman di alamat ini. Periksa alamatnya, atau cari dari beranda."),
                    401: _("Masuk dulu untuk membuka halaman ini."),
                    403: _("Akun Anda tidak berhak membuka halaman ini."),
                    405: _("Halaman ini tidak menerima permintaan seperti itu."),
                    413: _("Berkas yang dikirim terlalu besar."),
                    429: _("Terlalu banyak percobaan; tunggu sebentar lalu coba lagi.")}
    if worded:
        message = explanations.get(code, message)
    titles = {400: _("Permintaan tidak valid"), 401: _("Perlu masuk"), 403: _("Tidak diizinkan"),
              404: _("Halaman tidak ditemukan"), 409: _("Konflik suntingan"), 413: _("Berkas terlalu besar"),
              429: _("Terlalu banyak percobaan"), 500: _("Terjadi kesalahan"),
              503: _("Sedang sibuk")}
    return render_template("error.html", code=code, title=titles.get(code, _("Kesalahan")),
                           message=message if code != 500 else _("Maaf, terjadi kesalahan di server.")), code, {}


def get_kb() -> KnowledgeBase:
    from flask import current_app

    return current_app.extensions["sinergi_kb"]


__all__ = ["create_app", "get_kb"]
