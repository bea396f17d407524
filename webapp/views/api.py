"""The JSON API under /api/v1 (same shapes as the command line)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, g, jsonify, request, url_for
from pydantic import BaseModel, ValidationError

from kb.errors import Conflict, Forbidden, Invalid, NotFound
from kb.gazetteer import gazetteer
from kb.geography import profile
from kb.io import loads_json
from recommender.service import recommender_for

from .. import get_kb
from ..apimodels import PeersQuery, RecommendRequest, RecordCreate, RecordUpdate, problems
from ..auth import api_account
from ..labels import wording
from .common import search_params

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _fail(code: int, message: str, details=None):
    g.error_details = details
    abort(code, message)


def _problems(e: Invalid) -> list[dict]:
    return [{"field": p.field, "message": p.message} for p in e.problems]


def _json_object() -> dict:
    """The request body as a JSON object; a body that is not UTF-8, not JSON or not an object
    is a 400 that says which. Bodies over MAX_CONTENT_LENGTH (also when sent in chunks) are
    refused with a 413 while they are read."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # A body sent in chunks is cut at the limit without an error: a byte past it means
        # the body was larger.
        if request.environ["wsgi.input"].read(1):
            abort(413)
    if not raw.strip():
        _fail(400, "the request body is empty: send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(400, f"the request body is not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r})")
    try:
        data = loads_json(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        _fail(400, f"the request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")
    except ValueError as e:  # nested too deeply, NaN/Infinity, an integer of 4,300+ digits
        _fail(400, f"the request body is not valid JSON: {e}")
    if not isinstance(data, dict):
        _fail(400, f"the request body must be a JSON object, not {_json_type(data)}")
    try:  # a lone surrogate (\ud800) is valid JSON but no text: refuse it here, not in the index
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        _fail(400, f"the request body contains an unpaired surrogate escape ({e.object[e.start]!r})")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value) -> str:
    return {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(type(value), "a number")


def _valid(model: type[BaseModel], data: dict, message: str) -> BaseModel:
    """``data`` validated by ``model``; problems are a 400 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        _fail(400, message, problems(e, model))


def _body(model: type[BaseModel] | None = None, message: str = "invalid case") -> dict:
    """The JSON object of the request, checked against ``model`` (the one the API document
    describes the body with)."""
    data = _json_object()
    if model is not None:
        _valid(model, data, message)
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
    proposal = _valid(RecommendRequest, _json_object(), "invalid proposal")
    try:
        res = recommender_for(get_kb()).recommend(proposal, limit=proposal.limit)
    except Invalid as e:
        _fail(400, "invalid proposal", _problems(e))
    return jsonify(res.as_dict(wording()))  # why: the reasons worded in the request's language


@bp.get("/peers")
def peers():
    query = _valid(PeersQuery, {k: request.args[k] for k in PeersQuery.model_fields if k in request.args},
                   "invalid request")
    try:
        res = recommender_for(get_kb()).peers_for(query.topic, query.region or None,
                                                  learn_from_failure=query.learn_from_failure)
    except Invalid as e:
        # The topic is checked as a proposal's description: name the parameter that was sent.
        _fail(400, "invalid request", [{"field": "topic", "message": "the topic is too short: name it in a few "
                                                                    "words, e.g. 'SPAM regional'"}
                                       if p["field"] == "description" else p for p in _problems(e)])
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
    data = _body(RecordCreate)
    publish = data.pop("publish", None)  # default: an editor publishes, a contributor drafts
    state = "published" if publish or (publish is None and acc.can("editor")) else "draft"
    try:
        rec = get_kb().create(data, author=acc.actor, state=state)
    except Forbidden as e:
        _fail(403, str(e))
    except Invalid as e:
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
    data = _body(RecordUpdate)
    if data.get("id") not in (None, "", record_id):
        _fail(400, "invalid case", [{"field": "id", "message": f"the id in the body must be the URL's ({record_id!r})"}])
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
    except Invalid as e:
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
    return jsonify({**profile(r, gz),
                    "cases": [{"id": h.id, "title": h.title, "kind": h.kind} for h in res.results],
                    "sectors": res.facets.get("sector", []),
                    "nearest": [{"code": x.code, "name": x.name, "distance_km": round(d)}
                                for x, d in gz.nearest(r, limit=8)]})


@bp.get("/statistics")
def statistics():
    """The numbers of the statistics page (kept per store change)."""
    from .main import cached_statistics

    return jsonify(cached_statistics(get_kb()))


@bp.get("/openapi.json")
def openapi():
    from ..openapi import build

    return jsonify(build())
