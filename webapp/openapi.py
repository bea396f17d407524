"""The OpenAPI 3.1 document of /api/v1, generated from the models the views validate with
(:mod:`webapp.apimodels`, which reuse kb's record model): every request and answer field, and
every limit, pattern and enumeration the server enforces, comes from there."""

from __future__ import annotations

import copy
import functools

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .apimodels import (Deleted, Error, Peers, PeersQuery, Recommendation, RecommendRequest, Record,
                        RecordCreate, RecordUpdate, Region, SearchQuery, SearchResult, Statistics)

_REF = "#/components/schemas/{model}"
_REQUESTS = (RecommendRequest, RecordCreate, RecordUpdate)
_ANSWERS = (SearchResult, Recommendation, Peers, Region, Record, Deleted, Statistics, Error)

_EXAMPLE_CASE = {"title": "Kerja sama pengelolaan sampah regional",
                 "summary": "Dua kabupaten berbagi TPA regional dan biaya operasionalnya.",
                 "regions": ["34.04", "34.02"], "sectors": ["persampahan"], "cooperation_type": "KSDD",
                 "status": "berjalan", "start_year": 2019}


@functools.cache
def _schemas() -> tuple[dict[type[BaseModel], dict], dict]:
    """The ``$ref`` of each model and the component schemas they use."""
    refs, top = models_json_schema([(m, "validation") for m in _REQUESTS] + [(m, "serialization") for m in _ANSWERS],
                                   ref_template=_REF)
    return {model: ref for (model, _), ref in refs.items()}, top.get("$defs", {})


def _ref(model: type[BaseModel]) -> dict:
    return _schemas()[0][model]


def _json(schema: dict, description: str, **extra) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _answer(model: type[BaseModel], description: str, **extra) -> dict:
    return _json(_ref(model), description, **extra)


def _body(model: type[BaseModel], **example) -> dict:
    media = {"schema": _ref(model), **({"example": example["example"]} if example else {})}
    return {"required": True, "content": {"application/json": media}}


def _error(description: str, **extra) -> dict:
    return _answer(Error, description, **extra)


def _plain(schema: dict) -> dict:
    """A parameter's schema without pydantic's ``null`` branch (an absent parameter is the null)
    and without titles."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    options = schema.pop("anyOf", None)
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        schema = {**(kept[0] if len(kept) == 1 else {"anyOf": kept}), **schema}
        if schema.get("default", 0) is None:
            schema.pop("default")
    return schema


def _query(model: type[BaseModel]) -> list[dict]:
    """Query parameters from the fields of ``model`` (lists are repeated parameters)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = _plain(prop)
        param = {"name": name, "in": "query", "required": name in required,
                 "description": prop.pop("description", ""), "schema": prop}
        if prop.get("type") == "array":
            param |= {"style": "form", "explode": True}
        out.append(param)
    return out


def _path(name: str, schema: dict, example: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": example}


_BAD = {"400": _error("bad input: which field and why, in details")}
_LONG_URL = {"414": _error("the request line (method, path and query) is longer than 8,190 bytes")}
_TOO_LARGE = {"413": _error("the request body is larger than the server takes (10 MB)")}
_AUTH = {"401": _error("no token, or an unknown one",
                       headers={"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}),
         "403": _error("the token's account has too low a role")}
_NOT_FOUND = {"404": _error("no such record or region")}
_NOT_READY = {"503": _error("the recommender has no fitted model yet (its fit runs in the background): "
                            "try again after Retry-After seconds",
                            headers={"Retry-After": {"schema": {"type": "integer"}, "required": True}})}


def build() -> dict:
    """The document (a new copy each call)."""
    defs = _schemas()[1]
    record_id = _path("id", {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$", "maxLength": 120},
                      "tpa-sarimukti")
    region_code = _path("code", {"type": "string", "pattern": r"^\d{2}(\.\d{2})?$"}, "34.04")
    paths = {
        "/api/v1/search": {"get": {
            "operationId": "search", "summary": "Search cases and practices",
            "parameters": _query(SearchQuery),
            "responses": {"200": _answer(SearchResult, "a page of results with facet counts"), **_BAD,
                          **_LONG_URL}}},
        "/api/v1/recommend": {"post": {
            "operationId": "recommend", "summary": "Similar cases, study-visit peers and partners for a proposal",
            "requestBody": _body(RecommendRequest, example={
                "description": "Kota kami ingin membangun TPA regional bersama kabupaten tetangga.",
                "region": "Kota Pekanbaru", "limit": 5}),
            "responses": {"200": _answer(Recommendation, "cases, peers, partners and lessons"),
                          **_BAD, **_TOO_LARGE, **_NOT_READY}}},
        "/api/v1/peers": {"get": {
            "operationId": "peers", "summary": "Study-visit destinations for a topic",
            "parameters": _query(PeersQuery),
            "responses": {"200": _answer(Peers, "regions worth a visit, best first"), **_BAD, **_LONG_URL,
                          **_NOT_READY}}},
        "/api/v1/cases": {"post": {
            "operationId": "createCase", "summary": "Add a case or practice (token needed)",
            "security": [{"token": []}], "requestBody": _body(RecordCreate, example=_EXAMPLE_CASE),
            "responses": {"201": _answer(Record, "created", headers={"Location": {
                              "description": "the record's URL", "schema": {"type": "string"}, "required": True}}),
                          **_BAD, **_AUTH, "409": _error("a record with this id exists"), **_TOO_LARGE}}},
        "/api/v1/cases/{id}": {
            "parameters": [record_id],
            "get": {"operationId": "getCase", "summary": "A case or practice",
                    "responses": {"200": _answer(Record, "the record"), **_NOT_FOUND}},
            "put": {"operationId": "updateCase",
                    "summary": "Replace a case with the version read (token needed)",
                    "security": [{"token": []}],
                    "requestBody": _body(RecordUpdate, example={**_EXAMPLE_CASE, "version": 1}),
                    "responses": {"200": _answer(Record, "the record as saved"), **_BAD, **_AUTH, **_NOT_FOUND,
                                  "409": _error("stale version: someone saved first; details.current is "
                                                "the stored record"), **_TOO_LARGE}},
            "delete": {"operationId": "deleteCase", "summary": "Delete a case (token needed; kept in its history)",
                       "security": [{"token": []}],
                       "responses": {"200": _answer(Deleted, "deleted"), **_AUTH, **_NOT_FOUND}}},
        "/api/v1/statistics": {"get": {
            "operationId": "statistics", "summary": "Counts of the published records by facet, and cross-tables",
            "responses": {"200": _answer(Statistics, "the counts of the statistics page")}}},
        "/api/v1/regions/{code}": {"get": {
            "operationId": "region", "summary": "A region, its cases and its nearest regions",
            "parameters": [region_code],
            "responses": {"200": _answer(Region, "the region"), **_NOT_FOUND}}},
    }
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Sinergi API", "version": "1", "description": (
            "Knowledge base and recommender for kerja sama antar daerah. Every error is JSON "
            "`{\"error\": {\"code\", \"message\", \"details\"}}` with a 4xx status, or 503 with `Retry-After` "
            "while the store is busy or the recommender's model is still being fitted; a method a path does not "
            "have is a 405 with an `Allow` header, a request line longer than 8,190 bytes a 414. Bodies "
            "are JSON objects in UTF-8; unknown fields are refused. Times are ISO 8601 with their UTC offset.")},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "an API token from `sinergi user token NAME`"}},
            "schemas": defs,
            "responses": {"MethodNotAllowed": _error("the path has no such method; Allow lists those it has",
                                                     headers={"Allow": {"schema": {"type": "string"}}})},
        },
    })


__all__ = ["build"]
