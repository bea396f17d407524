"""The OpenAPI 3.1 document of /api/v1 (record schema generated from kb's validation model)."""

from __future__ import annotations

from kb.schema import RecordIn

_record = RecordIn.model_json_schema(ref_template="#/components/schemas/{model}")
_defs = _record.pop("$defs", {})

_error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "integer"}, "message": {"type": "string"}, "details": {}}}}}


def _q(name: str, desc: str, *, required: bool = False, schema: dict | None = None, many: bool = False) -> dict:
    s = schema or {"type": "string"}
    if many:
        s = {"type": "array", "items": s}
    return {"name": name, "in": "query", "required": required, "description": desc, "schema": s,
            **({"explode": True} if many else {})}


def _resp(desc: str, ref: str | None = None) -> dict:
    body = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
    return {"description": desc, "content": {"application/json": {"schema": body}}}


_errors = {"400": _resp("bad input", "Error"), "404": _resp("not found", "Error")}
_writes = {"401": _resp("no or bad token", "Error"), "403": _resp("role too low", "Error")}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Sinergi API", "version": "1",
             "description": "Knowledge base and recommender for kerja sama antar daerah."},
    "paths": {
        "/api/v1/search": {"get": {"summary": "Search cases and practices", "parameters": [
            _q("q", "query (quotes, AND/OR/NOT, field: syntax)"),
            _q("sector", "sector key", many=True), _q("province", "province code or name", many=True),
            _q("island", "island group", many=True), _q("status", "status", many=True),
            _q("type", "cooperation type", many=True), _q("kind", "case or practice", many=True),
            _q("year_from", "started in or after", schema={"type": "integer"}),
            _q("year_to", "started in or before", schema={"type": "integer"}),
            _q("sort", "relevance, year or title"), _q("page", "page", schema={"type": "integer", "minimum": 1}),
            _q("limit", "results a page", schema={"type": "integer", "minimum": 1, "maximum": 100})],
            "responses": {"200": _resp("results with facets"), **_errors}}},
        "/api/v1/recommend": {"post": {"summary": "Recommendations for a proposal", "requestBody": {
            "required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proposal"}}}},
            "responses": {"200": _resp("cases, peers and partners"), **_errors}}},
        "/api/v1/peers": {"get": {"summary": "Study-visit destinations", "parameters": [
            _q("topic", "what the visit is about", required=True), _q("region", "home region")],
            "responses": {"200": _resp("peers"), **_errors}}},
        "/api/v1/cases": {"post": {"summary": "Add a case (token needed)", "security": [{"token": []}],
                                   "requestBody": {"required": True, "content": {"application/json": {
                                       "schema": {"$ref": "#/components/schemas/Record"}}}},
                                   "responses": {"201": _resp("created"), **_errors, **_writes,
                                                 "409": _resp("id exists", "Error")}}},
        "/api/v1/cases/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "A case or practice", "responses": {"200": _resp("the record"), **_errors}},
            "put": {"summary": "Replace a case; send the version read (token needed)", "security": [{"token": []}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "allOf": [{"$ref": "#/components/schemas/Record"},
                                  {"type": "object", "required": ["version"],
                                   "properties": {"version": {"type": "integer"}}}]}}}},
                    "responses": {"200": _resp("updated"), **_errors, **_writes,
                                  "409": _resp("stale version: someone else saved first", "Error")}},
            "delete": {"summary": "Soft-delete a case (token needed)", "security": [{"token": []}],
                       "responses": {"200": _resp("deleted"), **_errors, **_writes}}},
        "/api/v1/regions/{code}": {"get": {"summary": "A region, its cases and nearest regions", "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("the region"), **_errors}}},
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Record": _record, **_defs, "Error": _error,
            "Proposal": {"type": "object", "required": ["description"], "properties": {
                "title": {"type": "string"}, "description": {"type": "string"},
                "region": {"type": "string"}, "sectors": {"type": "array", "items": {"type": "string"}},
                "language": {"type": "string", "enum": ["id", "en"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}}},
        },
    },
}
