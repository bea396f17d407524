"""JSON request bodies read safely: malformed or too deeply nested JSON is a clear 400, never a
server error (the parser's recursion would otherwise end in ``RecursionError``)."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, request

from kb.io import MAX_JSON_DEPTH, JSONTooDeep, loads_json

__all__ = ["MAX_JSON_DEPTH", "BadJSON", "parse", "request_json"]


class BadJSON(ValueError):
    """A body that is not acceptable JSON; the message says why, for the client."""


def parse(raw: bytes | str) -> Any:
    """The JSON value of ``raw``; :class:`BadJSON` with a message such as "the request body is
    not valid JSON: nested too deeply (more than 32 levels)" otherwise."""
    try:
        return loads_json(raw)
    except JSONTooDeep as e:
        raise BadJSON(f"the request body is not valid JSON: {e}") from None
    except json.JSONDecodeError as e:
        raise BadJSON(f"the request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except UnicodeDecodeError:
        raise BadJSON("the request body is not valid JSON: it is not UTF-8 text") from None


def request_json() -> Any:
    """The current request's JSON body, or a 400 whose message says what is wrong with it."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        abort(400, "the request body is empty; send a JSON object")
    try:
        return parse(raw)
    except BadJSON as e:
        abort(400, str(e))
