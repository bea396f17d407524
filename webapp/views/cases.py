"""A case or practice: every field, similar records, and the revision history with differences."""

from __future__ import annotations

import difflib
import json

from flask import Blueprint, abort, render_template
from flask_login import current_user

from kb.errors import NotFound
from recommender.service import recommender_for

from .. import get_kb
from ..labels import wording
from ..render import markdown_html
from .common import region_refs

bp = Blueprint("cases", __name__)


def load_visible(record_id: str) -> dict:
    """A published record, or a draft/deleted one for editors and its author."""
    kb = get_kb()
    try:
        rec = kb.get(record_id, include_deleted=True)
    except NotFound:
        abort(404)
    if rec["state"] != "published":
        allowed = current_user.is_authenticated and (current_user.can("editor")
                                                     or rec["created_by"] == current_user.username)
        if not allowed:
            abort(404)
    return rec


@bp.get("/kasus/<record_id>")
def view(record_id: str):
    rec = load_visible(record_id)
    similar = recommender_for(get_kb()).similar_to(record_id) if rec["state"] == "published" else []
    similar = wording(html=True).items(similar)
    related = []
    for rid in rec.get("related_cases", []):
        try:
            related.append(get_kb().get(rid))
        except NotFound:
            continue
    history = get_kb().store.revisions(record_id)
    return render_template("cases/view.html", rec=rec, body=markdown_html(rec.get("body", "")),
                           regions=region_refs(rec.get("regions", [])), similar=similar, related=related,
                           history=history)


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
