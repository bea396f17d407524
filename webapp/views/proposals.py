"""The proposal form, its recommendations, and the study-visit plan: the shortlist as CSV and as
a printable page."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from flask import Blueprint, Response, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from kb.errors import Invalid
from kb.gazetteer import gazetteer
from recommender.legal import FOREIGN_KINDS, split_named
from recommender.service import Recommendation, recommender_for
from recommender.visits import DIVERSE_TOP, route

from .. import get_kb
from ..csvsafe import stream_csv
from ..forms import ProposalForm, lines
from .search import download_limit
from ..labels import lang, wording

bp = Blueprint("proposals", __name__)
CHOSEN_LIMIT = 50   # peers considered when a shortlist is rebuilt from its chosen codes
PRINT_SHORTLIST = 5  # similar cases and candidate partners on the printable legal path


def _proposal(form: ProposalForm) -> dict:
    return {"title": form.title.data or "", "description": form.description.data or "",
            "region": form.region.data or None, "sectors": form.sectors.data or [],
            "learn_from_failure": bool(form.learn_from_failure.data),
            "partners": lines(form.partners.data),
            "third_parties": [split_named(x) for x in lines(form.third_parties.data)],
            "foreign_partners": [split_named(x, FOREIGN_KINDS) for x in lines(form.foreign_partners.data)],
            "burdens_community": form.answer("burdens_community"), "in_current_budget": form.answer("in_current_budget")}


def _refused(e: Invalid) -> Response:
    """A printable page or download asked for an invalid proposal: its problems as plain text."""
    return Response("\n".join(str(p) for p in e.problems) + "\n", status=400,
                    content_type="text/plain; charset=utf-8")


# The proposal's fields a follow-up form (the shortlist) carries on as hidden inputs.
CARRIED = ("title", "description", "region", "partners", "third_parties", "foreign_partners", "burdens_community",
           "in_current_budget")


@bp.get("/usulan")
def propose():
    form = ProposalForm(formdata=request.args if request.args else None)
    result, problems = None, []
    if request.args and form.validate():
        try:
            result = recommender_for(get_kb()).recommend(_proposal(form), limit=10).as_dict(wording(html=True))
        except Invalid as e:
            problems = e.problems
    elif request.args:
        problems = [f"{form[k].label.text}: {', '.join(v)}" for k, v in form.errors.items()]
    regions = gazetteer().regions
    # Ticked at first: the first peers (the route's stops), at most two of one arrangement.
    chosen = {p["code"] for p in (result or {}).get("peers", [])[:DIVERSE_TOP]}
    legal_url = url_for("proposals.legal_print", **{k: request.args.getlist(k) for k in request.args}) \
        if result else None
    return render_template("proposals/form.html", form=form, result=result, problems=problems, regions=regions,
                           chosen=chosen, carried=CARRIED, legal_url=legal_url,
                           status=400 if problems else 200), (400 if problems else 200)


def _shortlist() -> tuple[ProposalForm, Recommendation, list[dict]] | Response:
    """The proposal and its chosen regions (``peer``) as stops of the plan: each stop with its
    arrangements (those of the plan it is a member of), in route order when the proposer is
    known, else in plan order. A Response (400) when the request cannot make a plan."""
    form = ProposalForm(formdata=MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "peer"]))
    chosen = request.args.getlist("peer")
    if not form.validate() or not chosen:
        return Response("Pilih setidaknya satu daerah dan sertakan uraian usulan.\n", status=400,
                        content_type="text/plain; charset=utf-8")
    try:
        res = recommender_for(get_kb()).recommend(_proposal(form), limit=CHOSEN_LIMIT)
    except Invalid as e:
        return _refused(e)
    w = wording()
    visits = w.items(res.visits)
    peers = {p["code"]: p for p in w.items(res.peers)}
    g = gazetteer()
    kb = get_kb()
    stops = []
    for code in dict.fromkeys(chosen):
        if code not in peers:
            continue  # not a destination of this proposal
        mine = [v for v in visits if any(m["code"] == code for m in v["members"])]
        if not mine:  # a peer whose arrangements fall outside the plan's cards: its cases
            mine = [{"id": r["id"], "title": r["title"], "status": r.get("status"), "ask_about": [],
                     "watch_out": []} for r in kb.visible(peers[code]["cases"])]
        stops.append({"code": code, "name": peers[code]["name"], "distance_km": peers[code].get("distance_km"),
                      "arrangements": mine})
    if not stops:
        return Response("Tidak ada daerah terpilih yang termasuk tujuan studi banding usulan ini.\n", status=400,
                        mimetype="text/plain; charset=utf-8")
    if res.proposer:
        origin = g.get(res.proposer["code"])
        legs = {s["code"]: s for s in route(origin, [g.get(s["code"]) for s in stops], g.distance_km)}
        stops.sort(key=lambda s: legs[s["code"]]["order"])
        for s in stops:
            s["leg"] = legs[s["code"]]
    return form, res, stops


@bp.get("/usulan/studi-banding.csv")
@download_limit
def shortlist():
    """The chosen destinations as CSV: one row per stop and arrangement, in route order, with
    the leg that reaches the stop and what to ask there."""
    made = _shortlist()
    if isinstance(made, Response):
        return made
    _, _, stops = made
    rows = []
    for s in stops:
        leg = s.get("leg") or {}
        for a in s["arrangements"]:
            rows.append([leg.get("order", ""), s["code"], s["name"], s.get("distance_km", ""),
                         leg.get("from_name", ""), leg.get("leg_km", ""), a["title"], a["id"], a.get("status") or "",
                         " | ".join(a["ask_about"]), " | ".join(a["watch_out"])])
    header = ["urutan", "kode", "daerah", "jarak_km", "dari", "jarak_tempuh_km", "kasus", "kasus_id", "status",
              "tanyakan", "waspadai"]
    return Response("".join(stream_csv(header, rows)), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sinergi-studi-banding.csv"'})


@bp.get("/usulan/rencana-kunjungan")
@download_limit
def printable():
    """The study-visit plan on A4: the proposal, the route, the arrangements, dated."""
    made = _shortlist()
    if isinstance(made, Response):
        return made
    form, res, stops = made
    codes = {s["code"] for s in stops}
    first = {}  # an arrangement is described where the route first reaches it
    for n, s in enumerate(stops):
        for a in s["arrangements"]:
            first.setdefault(a["id"], n)
    visits = sorted((v for v in wording(html=True).items(res.visits) if v["id"] in first), key=lambda v: first[v["id"]])
    today = format_date(date.today(), format="long", locale=lang())
    back = url_for("proposals.propose", **{k: request.args.getlist(k) for k in request.args if k != "peer"})
    return render_template("proposals/plan.html", form=form, proposer=res.proposer, stops=stops, visits=visits,
                           codes=codes, today=today, back=back)


@bp.get("/usulan/jalur-hukum")
@download_limit
def legal_print():
    """The legal path on A4, for a planner's memo: the proposal, its cooperation type and
    obligation, the steps with their basis and lessons, the shortlist of similar cases and
    candidate partners, dated."""
    form = ProposalForm(formdata=request.args)
    if not form.validate():
        return Response("Sertakan uraian usulan.\n", status=400, content_type="text/plain; charset=utf-8")
    try:
        res = recommender_for(get_kb()).recommend(_proposal(form), limit=PRINT_SHORTLIST).as_dict(wording(html=True))
    except Invalid as e:
        return _refused(e)
    today = format_date(date.today(), format="long", locale=lang())
    back = url_for("proposals.propose", **{k: request.args.getlist(k) for k in request.args})
    cases = [c for c in res["cases"] if c["kind"] == "case"][:PRINT_SHORTLIST]
    return render_template("proposals/legal.html", form=form, result=res, proposer=res["proposer"], cases=cases,
                           partners=res["partners"][:PRINT_SHORTLIST], today=today, back=back)
