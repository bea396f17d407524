"""Agreements (KSB, PKS, nota kesepakatan) derived from published records, and their term.

Every document of a published record is one agreement. Its state is computed against a given
day (``today``), never the clock, so callers and tests decide the day:

- ``expired``: the expiry date is before today;
- ``expiring_6m``: it expires within :data:`SIX_MONTHS` days (today included);
- ``expiring_12m``: within :data:`TWELVE_MONTHS` days;
- ``active``: later;
- ``open_ended``: no expiry date is recorded (open-ended, or the term is unknown).

The list is derived once per store state (:func:`published_agreements` caches it by the store's
head revision); filtering and sorting are pure functions of that list and ``today``.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import Iterable

from .gazetteer import gazetteer

SIX_MONTHS = 183
TWELVE_MONTHS = 365
STATES = ("expired", "expiring_6m", "expiring_12m", "active", "open_ended")


def state_of(expires: dt.date | None, today: dt.date) -> str:
    """The state of an agreement expiring on ``expires`` (``None``: no expiry) on ``today``."""
    if expires is None:
        return "open_ended"
    days = (expires - today).days
    if days < 0:
        return "expired"
    if days <= SIX_MONTHS:
        return "expiring_6m"
    if days <= TWELVE_MONTHS:
        return "expiring_12m"
    return "active"


def state_since(expires: dt.date | None, today: dt.date) -> dt.date | None:
    """The first day of the agreement's state on ``today`` (``None`` for ``active`` and
    ``open_ended``, which have no start of their own): a feed entry changes on that day."""
    state = state_of(expires, today)
    if state == "expired":
        return expires + dt.timedelta(days=1)
    if state == "expiring_6m":
        return expires - dt.timedelta(days=SIX_MONTHS)
    if state == "expiring_12m":
        return expires - dt.timedelta(days=TWELVE_MONTHS)
    return None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


def province_codes(region_codes: Iterable[str]) -> tuple[str, ...]:
    """The provinces of ``region_codes`` (a province's own code is its province), in order of
    first appearance."""
    out: list[str] = []
    for code in region_codes:
        province = code.split(".")[0]
        if province not in out:
            out.append(province)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Agreement:
    """One document of a published record."""

    case_id: str
    title: str
    kind: str
    status: str | None
    regions: tuple[str, ...]
    provinces: tuple[str, ...]
    position: int          # the document's place in the record's ``documents`` (0-based)
    type: str
    number: str | None
    signed: dt.date | None
    expires: dt.date | None

    def state(self, today: dt.date) -> str:
        return state_of(self.expires, today)

    def days_left(self, today: dt.date) -> int | None:
        """Days from ``today`` to the expiry date (negative once expired; ``None``: no expiry)."""
        return None if self.expires is None else (self.expires - today).days

    def covers(self, code: str) -> bool:
        """Whether the agreement concerns the region ``code``; a province code covers the
        province itself and every one of its regencies and cities."""
        if "." in code:
            return code in self.regions
        return code in self.provinces

    def as_dict(self, today: dt.date) -> dict:
        g = gazetteer()

        def refs(codes):
            return [{"code": c, "name": r.name if (r := g.get(c)) else c} for c in codes]

        return {"case_id": self.case_id, "title": self.title, "kind": self.kind, "status": self.status,
                "type": self.type, "number": self.number,
                "signed": self.signed.isoformat() if self.signed else None,
                "expires": self.expires.isoformat() if self.expires else None,
                "state": self.state(today), "days_left": self.days_left(today),
                "regions": refs(self.regions), "provinces": refs(self.provinces)}


def agreements_of(data: dict) -> list[Agreement]:
    """The agreements of one record's canonical data (one per document)."""
    regions = tuple(data.get("regions") or ())
    provinces = province_codes(regions)
    out = []
    for i, doc in enumerate(data.get("documents") or ()):
        out.append(Agreement(case_id=data["id"], title=data.get("title", ""), kind=data.get("kind", "case"),
                             status=data.get("status"), regions=regions, provinces=provinces, position=i,
                             type=doc.get("type", ""), number=doc.get("number") or None,
                             signed=_date(doc.get("signed")), expires=_date(doc.get("expires"))))
    return out


def derive(records: Iterable[dict]) -> list[Agreement]:
    """Every agreement of ``records``, in record order."""
    return [a for data in records for a in agreements_of(data)]


def sort_key(a: Agreement) -> tuple:
    """Soonest expiry first (expired ones, longest expired first, lead); open-ended last."""
    return (a.expires is None, a.expires or dt.date.max, a.title.casefold(), a.case_id, a.position)


def select(agreements: Iterable[Agreement], today: dt.date, *, region: str | None = None,
           expiring_within_days: int | None = None, states: Iterable[str] | None = None,
           expired_within_days: int | None = None) -> list[Agreement]:
    """The agreements matching every given filter, sorted by :func:`sort_key`.

    ``region``: a region code, or a province code meaning the province and all its regions.
    ``expiring_within_days``: not yet expired and expiring within that many days of ``today``;
    with ``expired_within_days`` as well, those that expired within that many days are kept
    too. ``states``: any of :data:`STATES`."""
    wanted = set(states) if states else None
    if wanted is not None and (unknown := wanted - set(STATES)):
        raise ValueError(f"unknown agreement state(s): {', '.join(sorted(unknown))}")
    out = []
    for a in agreements:
        if region and not a.covers(region):
            continue
        if wanted is not None and a.state(today) not in wanted:
            continue
        if expiring_within_days is not None or expired_within_days is not None:
            days = a.days_left(today)
            if days is None:
                continue
            soon = expiring_within_days is not None and 0 <= days <= expiring_within_days
            lately = expired_within_days is not None and -expired_within_days <= days < 0
            if not (soon or lately):
                continue
        out.append(a)
    out.sort(key=sort_key)
    return out


def count_states(agreements: Iterable[Agreement], today: dt.date) -> dict[str, int]:
    """``{state: count}`` for every state of :data:`STATES` (zeros included), in that order."""
    counts = dict.fromkeys(STATES, 0)
    for a in agreements:
        counts[a.state(today)] += 1
    return counts


@dataclass(frozen=True, slots=True)
class StaleCase:
    """A case whose status says it runs while every dated agreement of it has expired."""

    case_id: str
    title: str
    status: str
    last_expiry: dt.date


def stale_cases_in(agreements: Iterable[Agreement], today: dt.date) -> list[StaleCase]:
    """Cases with status ``berjalan`` that have at least one agreement with an expiry date and
    whose every such agreement has expired on ``today`` (open-ended documents do not count
    either way), the longest expired first."""
    latest: dict[str, Agreement] = {}
    running: dict[str, bool] = {}
    for a in agreements:
        if a.status != "berjalan" or a.expires is None:
            continue
        running[a.case_id] = running.get(a.case_id, False) or a.expires >= today
        if a.case_id not in latest or a.expires > latest[a.case_id].expires:
            latest[a.case_id] = a
    out = [StaleCase(cid, a.title, a.status, a.expires) for cid, a in latest.items() if not running[cid]]
    out.sort(key=lambda s: (s.last_expiry, s.case_id))
    return out


# -- reading the store, cached per store state -----------------------------------------------

# More changed records than this since the cached state: derive everything again.
PATCH_LIMIT = 500


@dataclass
class _Derived:
    head: int
    by_case: dict[str, list[Agreement]]
    flat: list[Agreement]


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _derived(head: int, by_case: dict[str, list[Agreement]]) -> _Derived:
    return _Derived(head, by_case, [a for rows in by_case.values() for a in rows])


def published_agreements(store) -> list[Agreement]:
    """The agreements of every published record of ``store`` (a :class:`kb.store.Store`).

    Kept per store and brought up to date when the store's head revision moved: the records
    changed since are re-read (:meth:`Store.changes_since`) and their agreements replaced, or
    dropped when the record is no longer published; after more than :data:`PATCH_LIMIT`
    changes everything is derived again. The head is read before the records, so a change
    made meanwhile is applied (again) at the next call."""
    head = store.head()
    with _cache_lock:
        cached = _cache.get(store)
    if cached is not None and cached.head == head:
        return cached.flat
    changes = store.changes_since(cached.head, limit=PATCH_LIMIT) if cached is not None else None
    if changes is None:
        by_case: dict[str, list[Agreement]] = {}
        for data in store.iter_data():
            rows = agreements_of(data)
            if rows:
                by_case[data["id"]] = rows
    else:
        by_case = dict(cached.by_case)
        for data in changes:
            rows = agreements_of(data) if data.get("state") == "published" else []
            if rows:
                by_case[data["id"]] = rows
            else:
                by_case.pop(data["id"], None)
    derived = _derived(head, by_case)
    with _cache_lock:
        _cache[store] = derived
    return derived.flat


def agreements(store, today: dt.date, **filters) -> list[Agreement]:
    """:func:`select` over :func:`published_agreements`."""
    return select(published_agreements(store), today, **filters)


def stale_cases(store, today: dt.date) -> list[StaleCase]:
    """:func:`stale_cases_in` over the published records of ``store``."""
    return stale_cases_in(published_agreements(store), today)
