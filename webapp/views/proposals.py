"""The proposal form, its recommendations, and the study-visit shortlist export."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import MultiDict

from kb.errors import ImportFailed
from kb.gazetteer import gazetteer
from recommender.service import recommender_for

from .. import get_kb
from ..csvsafe import stream_csv
from ..forms import ProposalForm
from .search import download_limit
from ..labels import wording

bp = Blueprint("proposals", __name__)


def _proposal(form: ProposalForm) -> dict:
    return {"title": form.title.data or "", "description": form.description.data or "",
            "region": form.region.data or None, "sectors": form.sectors.data or []}


@bp.get("/usulan")
def propose():
    form = ProposalForm(formdata=request.args if request.args else None)
    result, problems = None, []
    if request.args and form.validate():
        try:
            result = recommender_for(get_kb()).recommend(_proposal(form), limit=10).as_dict(wording(html=True))
        except ImportFailed as e:
            problems = e.problems
    elif request.args:
        problems = [f"{form[k].label.text}: {', '.join(v)}" for k, v in form.errors.items()]
    regions = gazetteer().regions
    return render_template("proposals/form.html", form=form, result=result, problems=problems, regions=regions,
                           status=400 if problems else 200), (400 if problems else 200)


@bp.get("/usulan/studi-banding.csv")
@download_limit
def shortlist():
    """The chosen peer regions, with distances and supporting cases, as CSV."""
    form = ProposalForm(formdata=MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "peer"]))
    chosen = request.args.getlist("peer")
    if not form.validate() or not chosen:
        return Response("Pilih setidaknya satu daerah dan sertakan uraian usulan.\n", status=400,
                        content_type="text/plain; charset=utf-8")
    try:
        res = recommender_for(get_kb()).recommend(_proposal(form), limit=50)
    except ImportFailed as e:
        return Response("\n".join(str(p) for p in e.problems) + "\n", status=400, content_type="text/plain; charset=utf-8")
    kb = get_kb()
    rows = []
    for p in wording().items(res.peers):
        if p["code"] in chosen:
            titles = "; ".join(r["title"] for r in kb.visible(p["cases"]))
            rows.append([p["code"], p["name"], p.get("distance_km", ""), p["score"], " / ".join(p["why"]), titles])
    header = ["kode", "daerah", "jarak_km", "skor", "alasan", "kasus"]
    return Response("".join(stream_csv(header, rows)), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sinergi-studi-banding.csv"'})
