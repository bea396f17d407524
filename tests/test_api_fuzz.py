"""The API against its own document: schemathesis reads /api/v1/openapi.json, sends requests
generated from it (valid ones and invalid ones) through the app's WSGI interface, with an
editor's token, and checks every answer: never a 5xx, only documented statuses, content types
and headers, and bodies that match the documented schemas. A bounded run (25 examples per
operation and mode, fixed seed); ``scripts/fuzz_api.py`` runs the long one."""

from __future__ import annotations

from scripts.fuzz_api import USER, fuzz, known_ids

MAX_EXAMPLES = 25
SEED = 20261204


def test_api_answers_as_its_document_says(app, auth):
    report = fuzz(app, auth.token(app, USER, "editor"), max_examples=MAX_EXAMPLES, seed_value=SEED,
                  known_ids=known_ids(app))
    print(report.summary())
    assert report.server_errors == 0, report.summary()
    assert report.failures == [], report.summary()
    # The run reached past the refusals: records were created and read, searches answered.
    answered = {(op, status) for op, status in report.statuses}
    for wanted in [("POST /api/v1/cases", 201), ("GET /api/v1/cases/{id}", 200), ("DELETE /api/v1/cases/{id}", 200),
                   ("GET /api/v1/search", 200), ("POST /api/v1/recommend", 200)]:
        assert wanted in answered, (wanted, report.summary())
    assert report.cases >= 8 * 2 * MAX_EXAMPLES * 0.8
