"""Atom feeds (written with feedgen): new and updated published records of any search
(``/cari.atom?<search parameters>``) and agreements that expire soon (``/perjanjian.atom``),
so a feed reader or an e-mail service can watch a topic or a region."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Callable

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request
from flask_babel import get_locale, gettext as _

from kb import agreements as agr
from kb.recent import newest_published
from kb.vocab import SECTORS

from .. import get_kb
from .agreements import parse_filters, region_names, state_labels, today
from .common import cached_url_for, run_search, search_params
from .search import filter_label

bp = Blueprint("feeds", __name__)
FEED_ENTRIES = 50
# A search feed looks for the newest records among this many best matches (each 100 cost one
# search: ~0.3 s at 1,000 on 10k records, built once per store state thanks to the cache).
MAX_FEED_MATCHES = 1000
# The agreements feed: expiring within this many days, or expired within the second.
SOON_DAYS = agr.TWELVE_MONTHS
LATELY_EXPIRED_DAYS = 30
ATOM = "application/atom+xml; charset=utf-8"
# Feed readers ask for the same URLs again and again: a feed is built once per store state,
# URL, language and day, and answered with an ETag (304 when the reader has it already).
_FEEDS: OrderedDict[tuple, bytes] = OrderedDict()
_FEEDS_LOCK = threading.Lock()
MAX_CACHED_FEEDS = 128


def _utc(value: str | dt.datetime | None) -> dt.datetime:
    """A stored time as an aware UTC datetime (the store keeps UTC; SQLite returns it naive)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _case_url(record_id: str) -> str:
    return request.url_root.rstrip("/") + cached_url_for("cases.view", record_id=record_id)


def _feed(title: str, subtitle: str, html_url: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(request.url)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.author({"name": "Sinergi"})
    fg.link(href=request.url, rel="self", type="application/atom+xml")
    fg.link(href=html_url, rel="alternate", type="text/html")
    fg.language(str(get_locale() or "id"))
    fg.generator("Sinergi")
    return fg


def _finish(fg: FeedGenerator, entries_updated: list[dt.datetime]) -> bytes:
    fg.updated(max(entries_updated) if entries_updated else _utc(None))
    return fg.atom_str(pretty=True)


def _cached(build: Callable[[], bytes]) -> Response:
    """The feed ``build`` makes for this request, from the cache when the store has not
    changed since it was built; conditional on the reader's ETag."""
    key = (str(get_kb().home), get_kb().store.head(), request.url, str(get_locale()), today())
    with _FEEDS_LOCK:
        body = _FEEDS.get(key)
        if body is not None:
            _FEEDS.move_to_end(key)
    if body is None:
        body = build()
        with _FEEDS_LOCK:
            _FEEDS[key] = body
            while len(_FEEDS) > MAX_CACHED_FEEDS:
                _FEEDS.popitem(last=False)
    resp = Response(body, mimetype=ATOM)
    resp.add_etag()
    return resp.make_conditional(request)


def _html_url(endpoint: str) -> str:
    query = request.query_string.decode("ascii", "replace")
    return request.url_root.rstrip("/") + cached_url_for(endpoint) + ("?" + query if query else "")


def _search_title(params: dict) -> str:
    parts = [f"“{params['text']}”"] if params["text"] else []
    parts += [filter_label(k, v) for k, vals in params["filters"].items() for v in vals]
    if params["year_from"] or params["year_to"]:
        parts.append(f"{params['year_from'] or ''}–{params['year_to'] or ''}")
    return "Sinergi: " + (", ".join(parts) if parts else _("semua kasus dan praktik"))


def _matching_ids(params: dict) -> list[str] | None:
    """The ids matching the search of ``params`` (``None``: no query and no filter, i.e. every
    published record), the best :data:`MAX_FEED_MATCHES` by relevance."""
    if not params["text"].strip() and not params["filters"] and not params["year_from"] and not params["year_to"]:
        return None
    ids: list[str] = []
    page = 1
    while len(ids) < MAX_FEED_MATCHES:
        res = run_search({**params, "sort": "relevance", "page": page, "limit": 100}, facets=())
        ids += [h.id for h in res.results]
        if page >= res.pages:
            break
        page += 1
    return ids


@bp.get("/cari.atom")
def search():
    """The :data:`FEED_ENTRIES` most recently updated published records that match the search
    parameters of the URL (its query and filters; sort and page do not apply)."""
    params = search_params()
    return _cached(lambda: _search_feed(params))


def _search_feed(params: dict) -> bytes:
    records = newest_published(get_kb().store, _matching_ids(params), limit=FEED_ENTRIES)
    fg = _feed(_search_title(params), _("Kasus dan praktik baru atau diperbarui yang cocok dengan pencarian ini."),
               _html_url("search.search"))
    stamps = []
    for rec in reversed(records):  # feedgen prepends: the newest ends first
        url = _case_url(rec["id"])
        fe = fg.add_entry()
        fe.id(url)
        fe.title(rec["title"])
        fe.link(href=url, rel="alternate", type="text/html")
        updated = _utc(rec.get("updated_at"))
        stamps.append(updated)
        fe.updated(updated)
        if rec.get("created_at"):
            fe.published(_utc(rec["created_at"]))
        if rec.get("summary"):
            fe.summary(rec["summary"])
        for key in rec.get("sectors") or ():
            fe.category(term=key, label=SECTORS.get(key, key))
    return _finish(fg, stamps)


def _agreement_summary(a: agr.Agreement, day: dt.date) -> str:
    days = a.days_left(day)
    when = (_("berakhir %(n)d hari lalu", n=-days) if days < 0 else _("%(n)d hari lagi", n=days))
    parts = [f"{a.type}{' ' + a.number if a.number else ''}"]
    if a.signed:
        parts.append(f"{_('ditandatangani')} {a.signed.isoformat()}")
    parts.append(f"{_('berlaku sampai')} {a.expires.isoformat()} ({when})")
    parts.append(f"{_('Daerah')}: {region_names(a.regions)}")
    return "; ".join(parts) + "."


@bp.get("/perjanjian.atom")
def agreements():
    """Agreements that expire within a year (or ``expiring_within_days``) or expired within
    the last 30 days; the ``region`` and ``state`` filters of ``/perjanjian`` apply. An entry's id names the
    agreement and its state, so a feed reader shows it again when it moves from "within 12
    months" to "within 6 months" to "expired"; its updated time is the day it entered that
    state, or the case's last change if later."""
    filters = parse_filters()
    return _cached(lambda: _agreements_feed(filters))


def _agreements_feed(filters) -> bytes:
    day = today()
    within = SOON_DAYS if filters.expiring_within_days is None else filters.expiring_within_days
    store = get_kb().store
    rows = agr.select(agr.published_agreements(store), day, region=filters.region.code if filters.region else None,
                      states=filters.states or None, expiring_within_days=within,
                      expired_within_days=LATELY_EXPIRED_DAYS)
    changed = {rec["id"]: _utc(rec.get("updated_at")) for rec in store.records(ids=sorted({a.case_id for a in rows}))}
    labels = state_labels()
    where = f" — {filters.region.name}" if filters.region else ""
    fg = _feed(_("Sinergi: perjanjian yang segera berakhir") + where,
               _("Perjanjian kerja sama yang berakhir dalam 12 bulan atau baru berakhir dalam 30 hari terakhir."),
               _html_url("agreements.index"))
    stamps = []
    for a in reversed(rows):
        if a.case_id not in changed:  # unpublished since the list was derived
            continue
        state = a.state(day)
        since = agr.state_since(a.expires, day)
        updated = max(changed[a.case_id], dt.datetime.combine(since, dt.time(), dt.timezone.utc))
        stamps.append(updated)
        url = _case_url(a.case_id)
        fe = fg.add_entry()
        fe.id(f"{url}#perjanjian-{a.position + 1}-{state}")
        fe.title(f"{labels[state]}: {a.type}{' ' + a.number if a.number else ''} — {a.title}")
        fe.link(href=url, rel="alternate", type="text/html")
        fe.updated(updated)
        fe.summary(_agreement_summary(a, day))
        fe.category(term=state, label=labels[state])
    return _finish(fg, stamps)
