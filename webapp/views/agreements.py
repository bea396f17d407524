"""Agreements watched by their expiry: the page ``/perjanjian``, its CSV download, the API
``/api/v1/agreements``, and the sections of the region page and the editors' dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from kb import agreements as agr
from kb.errors import RegionError
from kb.gazetteer import Region, gazetteer

from .. import get_kb
from .common import cached_url_for, link

bp = Blueprint("agreements", __name__)
MAX_WITHIN_DAYS = 3650
# Rows shown per state on the page (the counts, the CSV and the API have them all).
MAX_ROWS_PER_GROUP = 100


def today() -> dt.date:
    """The day agreements are judged against: ``SINERGI_TODAY`` (an ISO date, for tests and
    demonstrations) or the server's date."""
    fixed = current_app.config.get("SINERGI_TODAY")  # a date once the settings were checked
    if isinstance(fixed, str):
        fixed = dt.date.fromisoformat(fixed)
    return fixed or dt.date.today()


def state_labels() -> dict[str, str]:
    """The states of :data:`kb.agreements.STATES` as a reader says them, in that order."""
    return {"expired": _("Sudah berakhir"), "expiring_6m": _("Berakhir dalam 6 bulan"),
            "expiring_12m": _("Berakhir dalam 6–12 bulan"), "active": _("Berlaku lebih dari 12 bulan"),
            "open_ended": _("Tanpa batas waktu atau belum diketahui")}


@dataclass
class AgreementFilters:
    """The filters of an agreements URL (page, CSV, API and feed read the same parameters)."""

    region: Region | None = None
    expiring_within_days: int | None = None
    states: list[str] = field(default_factory=list)
    region_text: str = ""

    def select(self, day: dt.date, **extra) -> list[agr.Agreement]:
        return agr.agreements(get_kb().store, day, region=self.region.code if self.region else None,
                              expiring_within_days=self.expiring_within_days, states=self.states or None, **extra)

    def args(self) -> MultiDict:
        """The URL parameters of these filters (for links to the CSV, the feed and the API)."""
        out = MultiDict()
        if self.region:
            out.add("region", self.region.code)
        if self.expiring_within_days is not None:
            out.add("expiring_within_days", str(self.expiring_within_days))
        for s in self.states:
            out.add("state", s)
        return out


class BadFilter(ValueError):
    """A filter parameter that cannot be read; the message names the parameter."""


def parse_filters(args: MultiDict | None = None) -> AgreementFilters:
    """``region`` (a Kemendagri code or a region's name; a province means all its regions),
    ``expiring_within_days`` (0 to 3650) and ``state`` (repeated or comma-separated, any of
    :data:`kb.agreements.STATES`). A bad value is a 400 that names the parameter (the page
    shows it beside its form instead: :func:`read_filters`)."""
    try:
        return read_filters(args if args is not None else request.args)
    except BadFilter as e:
        abort(400, str(e))


def read_filters(args: MultiDict) -> AgreementFilters:
    """The filters of ``args``, else :class:`BadFilter` for the first unreadable one."""
    out = AgreementFilters()
    raw = args.get("region", "").strip()[:200]
    if raw:
        out.region_text = raw
        try:
            out.region = gazetteer().resolve(raw)
        except RegionError as e:
            raise BadFilter(f"parameter 'region': {e}") from None
    days = args.get("expiring_within_days", "").strip()
    if days:
        try:
            out.expiring_within_days = int(days)
        except ValueError:
            raise BadFilter(f"parameter 'expiring_within_days' must be a whole number of days, "
                            f"got {days[:40]!r}") from None
        if not 0 <= out.expiring_within_days <= MAX_WITHIN_DAYS:
            raise BadFilter(f"parameter 'expiring_within_days' must be between 0 and {MAX_WITHIN_DAYS}")
    for value in args.getlist("state"):
        for s in (p.strip() for p in value.split(",")):
            if not s:
                continue
            if s not in agr.STATES:
                raise BadFilter(f"parameter 'state' must be one of {', '.join(agr.STATES)}, got {s[:40]!r}")
            if s not in out.states:
                out.states.append(s)
    return out


def region_names(codes) -> str:
    g = gazetteer()
    return ", ".join(r.name if (r := g.get(c)) else c for c in codes)


@bp.get("/perjanjian")
def index():
    """The page; a filter that cannot be read is shown beside the form (status 400) with the
    text the user typed kept in it, and nothing listed."""
    day = today()
    problem = None
    try:
        filters = read_filters(request.args)
    except BadFilter as e:
        problem = str(e)
        filters = AgreementFilters(region_text=request.args.get("region", "")[:200])
    rows = filters.select(day) if problem is None else []
    groups = {s: [] for s in agr.STATES}
    for a in rows:
        groups[a.state(day)].append(a)
    return render_template("agreements/index.html", filters=filters, today=day, total=len(rows), groups=groups,
                           labels=state_labels(), states=agr.STATES, regions=gazetteer().regions,
                           region_names=region_names, query=filters.args(), within_choices=(30, 90, 183, 365),
                           provinces=per_province(rows, day) if not filters.region else [],
                           problem=problem, max_rows=MAX_ROWS_PER_GROUP), 400 if problem else 200


def per_province(rows: list[agr.Agreement], day: dt.date) -> list[tuple[Region, dict[str, int], int]]:
    """Each province with agreements among ``rows``: its counts by state and in all, the most
    agreements first (an agreement between provinces counts for each of them)."""
    g = gazetteer()
    counts: dict[str, dict[str, int]] = {}
    for a in rows:
        for code in a.provinces:
            c = counts.setdefault(code, dict.fromkeys(agr.STATES, 0))
            c[a.state(day)] += 1
    out = [(g.get(code), c, sum(c.values())) for code, c in counts.items() if g.get(code)]
    out.sort(key=lambda t: (-t[2], t[0].name))
    return out


# -- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = ("case_id", "title", "type", "number", "signed", "expires", "state", "days_left", "regions",
               "provinces", "status", "url")


def csv_cell(value) -> str | int:
    """One cell of a public CSV download. Text that a spreadsheet would run as a formula (it
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
    apostrophe; numbers stay numbers. Every cell of :func:`agreements_csv` goes through here."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def agreements_csv(rows: list[agr.Agreement], day: dt.date) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    root = request.url_root.rstrip("/")
    for a in rows:
        w.writerow([csv_cell(v) for v in (
            a.case_id, a.title, a.type, a.number, a.signed.isoformat() if a.signed else None,
            a.expires.isoformat() if a.expires else None, a.state(day), a.days_left(day),
            region_names(a.regions), region_names(a.provinces), a.status,
            root + cached_url_for("cases.view", record_id=a.case_id))])
    return out.getvalue()


@bp.get("/perjanjian.csv")
def download():
    filters = parse_filters()
    day = today()
    body = "\ufeff" + agreements_csv(filters.select(day), day)  # the BOM: spreadsheets read UTF-8
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="sinergi-perjanjian-{day}.csv"'})


# -- API ------------------------------------------------------------------------------------

@bp.get("/api/v1/agreements")
def api():
    """``{"today", "total", "counts", "agreements": [...]}``; bad parameters are 400 with the
    API's error shape (``webapp._error`` answers JSON under /api/)."""
    filters = parse_filters()
    day = today()
    rows = filters.select(day)
    root = request.url_root.rstrip("/")
    return jsonify({"today": day.isoformat(), "region": filters.region.as_ref() if filters.region else None,
                    "total": len(rows), "counts": agr.count_states(rows, day),
                    "agreements": [{**a.as_dict(day), "url": root + cached_url_for("cases.view", record_id=a.case_id)}
                                   for a in rows]})


# -- sections of other pages (template globals, so those views need no change) ----------------

@bp.app_template_global()
def region_agreements(code: str) -> list[tuple[agr.Agreement, str]]:
    """The agreements of region ``code`` (a province: all its regions) with their states."""
    day = today()
    return [(a, a.state(day)) for a in agr.agreements(get_kb().store, day, region=code)]


@bp.app_template_global()
def agreement_state_labels() -> dict[str, str]:
    return state_labels()


@bp.app_template_global()
def agreements_link(**args) -> str:
    """The URL of ``/perjanjian`` with these filters (a list value repeats its parameter;
    ``None`` and empty values are left out)."""
    query = MultiDict()
    for key, value in args.items():
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if v is not None and v != "":
                query.add(key, str(v))
    return link("agreements.index", query)


@bp.app_template_global()
def stale_agreement_cases() -> list[agr.StaleCase]:
    """Cases whose status is ``berjalan`` while all their dated agreements have expired."""
    return agr.stale_cases(get_kb().store, today())
