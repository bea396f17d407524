"""A case or practice: every field, similar records, and the revision history with differences."""

from __future__ import annotations

import datetime as dt
import difflib
import json

from flask import Blueprint, abort, render_template
from flask_babel import format_date

from kb.errors import NotFound
from recommender.service import ModelNotReady, recommender_for

from .. import get_kb
from ..auth import current_actor
from ..labels import wording
from ..render import markdown_html
from .common import region_refs

bp = Blueprint("cases", __name__)


def load_visible(record_id: str) -> dict:
    """A published record, or a draft/deleted one for editors and its author."""
    try:
        return get_kb().get(record_id, actor=current_actor())
    except NotFound:
        abort(404)


def display_date(value: str | None) -> str:
    """A source's date as a reader says it in the page's language: a year stays a year, a month
    reads "Juli 2017", a day reads "7 Juli 2017"."""
    if not value:
        return ""
    value = str(value)
    try:
        if len(value) == 10:
            return format_date(dt.date.fromisoformat(value), format="d MMMM y")
        if len(value) == 7:
            return format_date(dt.date.fromisoformat(value + "-01"), format="MMMM y")
    except ValueError:
        pass
    return value


def citations(sources: list[dict]) -> list[dict]:
    """Each source as a citation: who published it, what, when, and when it was read."""
    return [{**s, "date_text": display_date(s.get("date")),
             "accessed_text": display_date(s.get("accessed")) if s.get("url") else ""} for s in sources]


@bp.get("/kasus/<record_id>")
def view(record_id: str):
    rec = load_visible(record_id)
    try:
        similar = recommender_for(get_kb()).similar_to(record_id) if rec["state"] == "published" else []
    except ModelNotReady:  # the page without its similar cases, rather than none at all
        similar = []
    similar = wording(html=True).items(similar)
    related = get_kb().visible(rec.get("related_cases", []), current_actor())
    history = get_kb().store.revisions(record_id)
    return render_template("cases/view.html", rec=rec, body=markdown_html(rec.get("body", "")),
                           regions=region_refs(rec.get("regions", [])), similar=similar, related=related,
                           history=history, citations=citations(rec.get("sources", [])),
                           checked_text=display_date(rec.get("checked")))


def _lines(data: dict) -> list[str]:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).splitlines()


@bp.get("/kasus/<record_id>/riwayat")
def history(record_id: str):
    rec = load_visible(record_id)
    revs = get_kb().store.revisions(record_id)
    diffs = []
    prev: dict = {}
    for r in revs:
        diff = list(difflib.unified_diff(_lines(prev), _lines(r["data"]), lineterm="", n=1))[2:]
        diffs.append({**r, "diff": diff})
        prev = r["data"]
    return render_template("cases/history.html", rec=rec, revisions=list(reversed(diffs)))
