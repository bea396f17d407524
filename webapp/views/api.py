"""The JSON API under /api/v1 (same shapes as the command line)."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request, url_for

from kb.errors import Conflict, Forbidden, ImportFailed, NotFound
from kb.gazetteer import gazetteer
from recommender.service import recommender_for

from .. import get_kb
from ..auth import api_account
from ..safejson import request_json
from ..labels import wording
from .common import search_params

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _fail(code: int, message: str, details=None):
    g.error_details = details
    abort(code, message)


def _problems(e: ImportFailed) -> list[dict]:
    return [{"field": p.field, "message": p.message} for p in e.problems]


def _body() -> dict:
    data = request_json() if request.is_json else None
    if not isinstance(data, dict):
        _fail(400, "the request body must be a JSON object")
    return data


def _writer():
    """The token's account; what it may change is decided by kb (kb/access.py)."""
    acc = api_account()
    if acc is None:
        _fail(401, "a write needs an API token: Authorization: Bearer <token> (see `sinergi user token`)")
    return acc


def _reader():
    acc = api_account()
    return acc.actor if acc else None


def _forbidden(record_id: str, e: Forbidden):
    """403 for a record the caller may see, 404 for one they may not (a draft of somebody else
    is not there for them)."""
    try:
        get_kb().get(record_id, actor=_reader())
    except NotFound:
        _fail(404, f"no case {record_id!r}")
    _fail(403, str(e))


@bp.get("/search")
def search():
    params = search_params()
    res = get_kb().search(params.pop("text"), **params)
    return jsonify(res.as_dict())


@bp.post("/recommend")
def recommend():
    data = _body()
    limit = data.pop("limit", 10)
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        _fail(400, "limit must be a whole number from 1 to 50")
    try:
        res = recommender_for(get_kb()).recommend(data, limit=limit)
    except ImportFailed as e:
        _fail(400, "invalid proposal", _problems(e))
    return jsonify(res.as_dict(wording()))  # why: the reasons worded in the request's language


@bp.get("/peers")
def peers():
    topic = request.args.get("topic", "")
    if not topic.strip():
        _fail(400, "parameter 'topic' is required")
    failure = request.args.get("learn_from_failure", "")
    if failure not in ("", "0", "1", "true", "false"):
        _fail(400, "learn_from_failure must be true or false")
    try:
        res = recommender_for(get_kb()).peers_for(topic, request.args.get("region") or None,
                                                  learn_from_failure=failure in ("1", "true"))
    except ImportFailed as e:
        _fail(400, "invalid request", _problems(e))
    w = wording()
    return jsonify({"peers": w.items(res["peers"]), "visits": w.items(res["visits"]), "route": res["route"],
                    "proposer": res["proposer"]})


@bp.get("/cases/<record_id>")
def get_case(record_id: str):
    try:
        return jsonify(get_kb().get(record_id, actor=_reader()))
    except NotFound:
        _fail(404, f"no case {record_id!r}")


@bp.post("/cases")
def create_case():
    acc = _writer()
    data = _body()
    publish = data.pop("publish", None)  # default: an editor publishes, a contributor drafts
    if publish not in (None, True, False):
        _fail(400, "publish must be true or false")
    state = "published" if publish or (publish is None and acc.can("editor")) else "draft"
    try:
        rec = get_kb().create(data, author=acc.actor, state=state)
    except Forbidden as e:
        _fail(403, str(e))
    except ImportFailed as e:
        _fail(400, "invalid case", _problems(e))
    except Conflict as e:
        _fail(409, f"a record with this id already exists: {e}")
    resp = jsonify(rec)
    resp.status_code = 201
    resp.headers["Location"] = url_for("api.get_case", record_id=rec["id"])
    return resp


@bp.put("/cases/<record_id>")
def update_case(record_id: str):
    acc = _writer()
    data = _body()
    version = data.pop("version", None)
    for key in ("state", "created_at", "updated_at", "created_by", "updated_by"):
        data.pop(key, None)
    if not isinstance(version, int):
        _fail(400, "send the 'version' you read, so that a stale write can be refused")
    try:
        rec = get_kb().update(record_id, data, expected_version=version, author=acc.actor)
    except NotFound:
        _fail(404, f"no case {record_id!r}")
    except Forbidden as e:
        _forbidden(record_id, e)
    except Conflict as e:
        try:
            current = get_kb().get(record_id, actor=acc.actor)
        except NotFound:
            current = None
        _fail(409, str(e), {"current": current})
    except ImportFailed as e:
        _fail(400, "invalid case", _problems(e))
    return jsonify(rec)


@bp.delete("/cases/<record_id>")
def delete_case(record_id: str):
    acc = _writer()
    try:
        rec = get_kb().set_state(record_id, "deleted", author=acc.actor)
    except NotFound:
        _fail(404, f"no case {record_id!r}")
    except Forbidden as e:
        _forbidden(record_id, e)
    return jsonify({"id": rec["id"], "state": rec["state"], "version": rec["version"]})


@bp.get("/regions/<code>")
def region(code: str):
    gz = gazetteer()
    r = gz.get(code)
    if r is None:
        _fail(404, f"no region with code {code!r}")
    kb = get_kb()
    key = "province" if r.is_province else "region"
    res = kb.search("", filters={key: [code]}, limit=100, facets=("sector",))
    return jsonify({"code": r.code, "name": r.name, "level": r.level, "province": gz.province_of(r).as_ref(),
                    "island": r.island, "lat": r.lat, "lon": r.lon, "coord_source": r.coord_source,
                    "cases": [{"id": h.id, "title": h.title, "kind": h.kind} for h in res.results],
                    "sectors": res.facets.get("sector", []),
                    "nearest": [{"code": x.code, "name": x.name, "distance_km": round(d)}
                                for x, d in gz.nearest(r, limit=8)]})


@bp.get("/openapi.json")
def openapi():
    from ..openapi import SPEC

    return jsonify(SPEC)
