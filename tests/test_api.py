"""The JSON API (the api blueprint): its answers' shapes, its errors and its OpenAPI document:
what a client sees for bad input, and that the document states the rules the server enforces
(Flask's test client on a real instance; gunicorn itself for what it answers before the app)."""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import sys
import time
from urllib.request import urlopen

import jsonschema_rs
import pytest

from kb.vocab import COOPERATION_TYPES, SECTORS
from webapp.views.common import MAX_PAGE, SORTS

from conftest import copy_instance, make_app

CASE = {"title": "Kerja sama persampahan dua kabupaten", "summary": "Dua kabupaten berbagi TPA regional.",
        "regions": ["Kabupaten Sleman", "34.02"], "sectors": ["sampah"]}
PROPOSAL = {"description": "Tiga daerah ingin berbagi air curah dari SPAM regional untuk PDAM masing-masing."}


@pytest.fixture(scope="module")
def shared_app(corpus_home, tmp_path_factory):
    """The module's own instance: its tests create records through the API."""
    return make_app(copy_instance(corpus_home, tmp_path_factory.mktemp("api") / "inst"))


@pytest.fixture(scope="module")
def token(shared_app, auth):
    return auth.token(shared_app, "redaktur", "editor")


@pytest.fixture(scope="module")
def spec(shared_app):
    return shared_app.test_client().get("/api/v1/openapi.json").get_json()


def error_of(r, status: int) -> dict:
    """The API error of an answer, after checking its status and shape."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == status
    return body["error"]


def validator(spec: dict, name: str) -> jsonschema_rs.Draft202012Validator:
    """A validator for the document's component schema ``name``."""
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                               "components": spec["components"]})


def created(client, token, **changes) -> dict:
    r = client.post("/api/v1/cases", json={**CASE, **changes}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# -- answers ----------------------------------------------------------------------------------
def test_api_search_shape(client):
    out = client.get("/api/v1/search?q=sampah&sector=persampahan&limit=3").get_json()
    assert {"query", "total", "results", "facets", "suggestion"} <= set(out)
    assert {"id", "kind", "title", "score", "regions", "sectors", "start_year", "highlight"} <= set(out["results"][0])


def test_api_recommend_and_peers(client):
    body = {"title": "SPAM regional", "description": "Tiga daerah ingin berbagi air curah dari SPAM regional "
                                                     "untuk PDAM masing-masing.", "region": "Kota Ambon"}
    out = client.post("/api/v1/recommend", json=body).get_json()
    assert out["cases"] and out["peers"] and out["partners"]
    assert client.get("/api/v1/peers?topic=SPAM+regional&region=81.71").get_json()["peers"]
    r = client.post("/api/v1/recommend", json={"description": "x"})
    assert r.status_code == 400 and r.get_json()["error"]["details"][0]["field"] == "description"
    assert client.post("/api/v1/recommend", data="not json").status_code == 400
    assert client.get("/api/v1/peers").status_code == 400


def test_api_recommend_without_a_saved_model_is_503_until_its_fit_is_in(app):
    """An instance whose saved model is gone: no request waits for the fit, which runs in the
    background; the recommendation is a 503 with Retry-After, a case page is served without
    its similar cases, and both come back once the fit is saved."""
    from recommender.holder import MODEL_FILE
    from recommender.service import recommender_for

    kb = app.extensions["sinergi_kb"]
    (kb.home / "models" / MODEL_FILE).unlink()
    client = app.test_client()
    r = client.post("/api/v1/recommend", json=PROPOSAL)
    assert error_of(r, 503)["message"] and int(r.headers["Retry-After"]) > 0
    page = client.get("/kasus/tpa-sarimukti")
    assert page.status_code == 200 and "TPA" in page.get_data(as_text=True)
    assert recommender_for(kb).holder.wait(timeout=180)
    assert client.post("/api/v1/recommend", json=PROPOSAL).get_json()["cases"]


def test_api_regions_and_cases(client):
    assert client.get("/api/v1/regions/34.04").get_json()["name"] == "Kabupaten Sleman"
    assert client.get("/api/v1/regions/99").status_code == 404
    assert client.get("/api/v1/cases/tpa-sarimukti").get_json()["id"] == "tpa-sarimukti"
    err = client.get("/api/v1/cases/nope").get_json()["error"]
    assert err["code"] == 404 and err["message"]


def test_api_writes_need_a_token_and_refuse_stale_versions(client, auth):
    c = client
    assert c.post("/api/v1/cases", json={"title": "x", "summary": "y" * 20}).status_code == 401
    h = auth.headers(client, "editor")
    assert c.post("/api/v1/cases", json={"title": "x"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = c.post("/api/v1/cases", headers=h, json={"id": "api-uji", "title": "Kerja sama dari API",
                                                 "summary": "Dibuat lewat API untuk uji."})
    assert r.status_code == 201
    bad = c.post("/api/v1/cases", headers=h, json={"title": "Judul uji", "summary": "pendek sekali", "regions": ["Slemann"]})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "regions"
    rec = c.get("/api/v1/cases/api-uji").get_json()
    upd = {k: rec[k] for k in ("title", "summary")} | {"version": rec["version"], "status": "berjalan"}
    assert c.put("/api/v1/cases/api-uji", headers=h, json=upd).status_code == 200
    stale = c.put("/api/v1/cases/api-uji", headers=h, json={**upd, "title": "Basi"})
    assert stale.status_code == 409 and stale.get_json()["error"]["details"]["current"]["version"] == rec["version"] + 1
    assert c.delete("/api/v1/cases/api-uji", headers=h).status_code == 200
    assert c.get("/api/v1/cases/api-uji").status_code == 404


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/recommend" in spec["paths"]
    assert "Record" in spec["components"]["schemas"]


# -- request bodies --------------------------------------------------------------------------
@pytest.mark.parametrize("body,says", [
    (b'{"description": "air minum"', "not valid JSON: Expecting ',' delimiter (line 1, column 28)"),
    (b'{"description": "air \xff minum"}', "not valid UTF-8 (byte 21"),
    (b'["air minum"]', "must be a JSON object, not an array"),
    (b'"air minum"', "must be a JSON object, not a string"),
    (b"", "the request body is empty"),
    (b'{"limit": NaN}', "NaN is not a JSON number"),
    (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
    (b'{"description": "\\ud800 air minum"}', "unpaired surrogate"),
])
def test_a_bad_body_says_what_is_wrong_with_it(client, body, says):
    err = error_of(client.post("/api/v1/recommend", data=body, content_type="application/json"), 400)
    assert says in err["message"]


@pytest.mark.app_config(MAX_CONTENT_LENGTH=2_000)
def test_a_body_sent_in_chunks_over_the_limit_is_413(app):
    """Without a Content-Length the body is read up to the limit; one byte more is a 413 (it
    was cut at the limit and read as broken JSON, a 400)."""
    small = app.test_client()
    chunked = {"input_stream": None, "content_type": "application/json",
               "environ_overrides": {"wsgi.input_terminated": True}, "headers": {"Transfer-Encoding": "chunked"}}

    def send(body: bytes):
        return small.post("/api/v1/recommend", **{**chunked, "input_stream": io.BytesIO(body)})

    fits = b'{"description": "' + b"a" * (2_000 - 19) + b'"}'
    assert len(fits) == 2_000
    assert send(fits).status_code == 400  # read whole: a one-word proposal, not a size problem
    assert "too short" in send(fits).get_json()["error"]["details"][0]["message"]
    err = error_of(send(fits[:-2] + b'a"}'), 413)
    assert "larger than 2,000 bytes" in err["message"]
    error_of(small.post("/api/v1/recommend", data=fits + b" ", content_type="application/json"), 413)


def test_the_bearer_scheme_is_case_insensitive(client, token):
    for scheme in ("bearer", "BEARER", "Bearer"):
        r = client.delete("/api/v1/cases/tidak-ada", headers={"Authorization": f"{scheme} {token}"})
        assert r.status_code == 404, scheme  # past the token check
    error_of(client.delete("/api/v1/cases/tidak-ada", headers={"Authorization": f"Basic {token}"}), 401)


def test_a_refused_token_names_the_scheme_to_use(client):
    r = client.post("/api/v1/cases", json=CASE)
    error_of(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_true_is_not_a_number(client, token):
    err = error_of(client.post("/api/v1/recommend", json={**PROPOSAL, "limit": True}), 400)
    assert err["details"] == [{"field": "limit", "message": "Input should be a valid integer"}]
    rec = created(client, token, title="Kerja sama versi boolean")
    h = {"Authorization": f"Bearer {token}"}
    err = error_of(client.put(f"/api/v1/cases/{rec['id']}", json={**CASE, "version": True}, headers=h), 400)
    assert [d["field"] for d in err["details"]] == ["version"]
    err = error_of(client.post("/api/v1/cases", json={**CASE, "publish": "no"}, headers=h), 400)
    assert [d["field"] for d in err["details"]] == ["publish"]


@pytest.mark.parametrize("sectors", [1.5, {}, True])
def test_a_proposal_whose_sectors_are_no_list_is_a_400(client, sectors):
    """A number there was a server error; an object was read as no sectors."""
    err = error_of(client.post("/api/v1/recommend", json={**PROPOSAL, "sectors": sectors}), 400)
    assert [d["field"] for d in err["details"]] == ["sectors"]


def test_unknown_fields_are_refused_by_every_body(client, token):
    err = error_of(client.post("/api/v1/recommend", json={**PROPOSAL, "wilayah": "Sleman"}), 400)
    assert err["details"][0]["field"] == "wilayah" and err["details"][0]["message"].startswith("unknown field")
    err = error_of(client.post("/api/v1/cases", json={**CASE, "wilayah": "Sleman"},
                               headers={"Authorization": f"Bearer {token}"}), 400)
    assert err["details"][0]["field"] == "wilayah" and err["details"][0]["message"].startswith("unknown field")


def test_a_one_word_topic_is_reported_as_the_topic(client):
    err = error_of(client.get("/api/v1/peers?topic=sampah"), 400)
    assert [d["field"] for d in err["details"]] == ["topic"]
    assert "topic" in err["details"][0]["message"]
    err = error_of(client.get("/api/v1/peers?topic=+++"), 400)
    assert [d["field"] for d in err["details"]] == ["topic"]


def test_list_limits_count_repeated_items(client, token):
    h = {"Authorization": f"Bearer {token}"}
    err = error_of(client.post("/api/v1/cases", json={**CASE, "lessons": ["Sama"] * 201}, headers=h), 400)
    assert err["details"] == [{"field": "lessons", "message": "at most 200 items, got 201"}]
    err = error_of(client.post("/api/v1/cases", json={**CASE, "sectors": ["sampah"] * 17}, headers=h), 400)
    assert [d["field"] for d in err["details"]] == ["sectors"]
    rec = created(client, token, title="Kerja sama pelajaran berulang", lessons=["Sama"] * 200)
    assert rec["lessons"] == ["Sama"]


def test_405_lists_the_methods_the_path_has(client):
    r = client.patch("/api/v1/cases/tpa-sarimukti", json={})
    error_of(r, 405)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PUT", "DELETE"}
    assert "POST" in client.get("/api/v1/recommend").headers["Allow"]


def test_csv_downloads_name_their_charset_once(client):
    r = client.get("/cari.csv?q=sampah")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    r = client.get("/usulan/studi-banding.csv", query_string={**PROPOSAL, "peer": "34.04"})
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"


# -- records: PUT as documented, times with their offset -------------------------------------
def test_a_record_read_can_be_put_back_as_the_document_says(client, token, spec):
    h = {"Authorization": f"Bearer {token}"}
    rec = created(client, token, title="Kerja sama untuk disunting")
    got = client.get(f"/api/v1/cases/{rec['id']}").get_json()
    body = {**got, "status": "berjalan"}
    assert validator(spec, "RecordUpdate").is_valid(body)  # the document takes the body as read
    r = client.put(f"/api/v1/cases/{rec['id']}", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "berjalan" and r.get_json()["version"] == got["version"] + 1
    body = {k: v for k, v in got.items() if k != "version"}
    assert not validator(spec, "RecordUpdate").is_valid(body)  # version is required ...
    err = error_of(client.put(f"/api/v1/cases/{rec['id']}", json=body, headers=h), 400)
    assert [d["field"] for d in err["details"]] == ["version"]  # ... and the server says so
    err = error_of(client.put(f"/api/v1/cases/{rec['id']}", json={**got, "id": "lain"}, headers=h), 400)
    assert err["details"][0]["field"] == "id"


def test_times_carry_their_utc_offset_in_every_answer(client, token):
    h = {"Authorization": f"Bearer {token}"}
    rec = created(client, token, title="Kerja sama dengan waktu")
    got = client.get(f"/api/v1/cases/{rec['id']}").get_json()
    put = client.put(f"/api/v1/cases/{rec['id']}", json=got, headers=h).get_json()
    again = client.get(f"/api/v1/cases/{rec['id']}").get_json()
    for answer in (rec, got, put, again):
        for key in ("created_at", "updated_at"):
            assert dt.datetime.fromisoformat(answer[key]).utcoffset() == dt.timedelta(0), (key, answer[key])
    assert again["updated_at"] == put["updated_at"] and again["created_at"] == rec["created_at"]


# -- the document ----------------------------------------------------------------------------
def _params(spec: dict, path: str) -> dict:
    return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}


def test_the_document_states_the_limits_the_server_enforces(client, spec):
    search = _params(spec, "/api/v1/search")
    assert search["sort"]["schema"]["enum"] == list(SORTS)
    assert search["page"]["schema"]["maximum"] == MAX_PAGE
    assert client.get(f"/api/v1/search?page={MAX_PAGE}").status_code == 200
    error_of(client.get(f"/api/v1/search?page={MAX_PAGE + 1}"), 400)
    error_of(client.get("/api/v1/search?sort="), 400)
    topic = _params(spec, "/api/v1/peers")["topic"]
    assert topic["required"] and topic["schema"]["minLength"] == 1 and topic["schema"]["pattern"] == r"\S"
    schemas = spec["components"]["schemas"]
    record = schemas["RecordCreate"]["properties"]
    assert record["sectors"]["items"]["enum"] == list(SECTORS)
    assert record["cooperation_type"]["anyOf"][0]["enum"] == list(COOPERATION_TYPES)
    assert record["lessons"]["maxItems"] == 200
    assert schemas["Source"]["properties"]["url"]["anyOf"][0]["pattern"] == r"^https?://\S+$"
    proposal = schemas["RecommendRequest"]
    assert proposal["additionalProperties"] is False and proposal["properties"]["description"]["pattern"] == r"\S"
    assert proposal["properties"]["sectors"]["items"]["enum"] == list(SECTORS)
    assert proposal["properties"]["limit"]["maximum"] == 50


def test_every_operation_documents_typed_answers_and_its_refusals(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert ok, (method, path)
            for status in ok:
                assert "$ref" in op["responses"][status]["content"]["application/json"]["schema"], (method, path)
            if "requestBody" in op:
                assert "413" in op["responses"] and "400" in op["responses"], (method, path)
            if "security" in op:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
    put = spec["paths"]["/api/v1/cases/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert put == {"$ref": "#/components/schemas/RecordUpdate"}
    assert "version" in spec["components"]["schemas"]["RecordUpdate"]["required"]


@pytest.mark.parametrize("url,name", [("/api/v1/search?q=sampah&limit=3", "SearchResult"),
                                      ("/api/v1/peers?topic=SPAM+regional&region=81.71", "Peers"),
                                      ("/api/v1/regions/34.04", "Region"), ("/api/v1/regions/34", "Region"),
                                      ("/api/v1/cases/tpa-sarimukti", "Record"), ("/api/v1/cases/nope", "Error")])
def test_answers_match_their_documented_schema(client, spec, url, name):
    r = client.get(url)
    errors = [e.message for e in validator(spec, name).iter_errors(r.get_json())]
    assert errors == [], (url, errors[:5])


def test_recommendations_match_their_documented_schema(client, spec):
    body = {**PROPOSAL, "region": "Kota Ambon", "sectors": ["air-minum"], "limit": 5}
    answer = client.post("/api/v1/recommend", json=body).get_json()
    assert answer["cases"] and answer["partners"]
    assert [e.message for e in validator(spec, "Recommendation").iter_errors(answer)] == []


# -- gunicorn ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_request_line_too_long_for_gunicorn_is_a_json_414(corpus_home, tmp_path):
    home = copy_instance(corpus_home, tmp_path / "inst")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--port", str(port), "--workers", "1"],
                            env={**__import__("os").environ, "SINERGI_HOME": str(home)}, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /api/v1/search?q=" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414 "), head
        assert b"Content-Type: application/json" in head
        import json

        err = json.loads(body)["error"]
        assert err["code"] == 414 and "too large" in err["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
