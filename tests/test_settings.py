"""The web app's settings are checked when it starts, and the ones it reads take effect."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.errors import SinergiError
from webapp import create_app

from conftest import copy_instance

BASE = {"TESTING": True, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}


@pytest.fixture(scope="module")
def home(corpus_home, tmp_path_factory):
    return copy_instance(corpus_home, tmp_path_factory.mktemp("settings") / "copy")


@pytest.mark.parametrize("name, value, expected", [
    ("PROXY_HOPS", "two", "SINERGI_FLASK_PROXY_HOPS"),
    ("PROXY_HOPS", "11", "less than or equal to 10"),
    ("SINERGI_LOGIN_LIMIT", "lots", "a rate such as '10 per minute'"),
    ("PAGE_SIZE", "0", "PAGE_SIZE (environment variable SINERGI_FLASK_PAGE_SIZE) = 0"),
    ("SINERGI_WRITE_WAIT", "-1", "greater than 0"),
    ("SINERGI_TILE_URL", '"http://tiles.example/x.png"', "https URL template with {z}, {x} and {y}"),
    ("SINERGI_TODAY", '"kemarin"', "SINERGI_TODAY"),
])
def test_a_wrong_setting_in_the_environment_stops_the_start_naming_it(home, monkeypatch, name, value, expected):
    monkeypatch.setenv(f"SINERGI_FLASK_{name}", value)
    with pytest.raises(SinergiError, match="invalid setting") as e:
        create_app(dict(BASE), home=home)
    assert expected in str(e.value)


def test_settings_from_the_environment_are_typed_and_used(home, monkeypatch):
    monkeypatch.setenv("SINERGI_FLASK_PAGE_SIZE", "3")
    monkeypatch.setenv("SINERGI_FLASK_SINERGI_TODAY", '"2030-01-31"')
    app = create_app(dict(BASE), home=home)
    assert app.config["PAGE_SIZE"] == 3 and app.config["SINERGI_TODAY"] == dt.date(2030, 1, 31)
    body = app.test_client().get("/api/v1/search?q=sampah").get_json()
    assert body["limit"] == 3 and len(body["results"]) == 3 and body["total"] > 3
    page = app.test_client().get("/cari?q=sampah").get_data(as_text=True)
    assert page.count('<article class="hit') == 3


def test_the_defaults_hold_without_any_setting(home):
    app = create_app(dict(BASE), home=home)
    assert app.config["PAGE_SIZE"] == 10 and app.config["PROXY_HOPS"] == 0
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024


def test_serve_refuses_a_wrong_setting_before_any_worker_starts(home, monkeypatch):
    from click.testing import CliRunner

    from webapp.cli import main

    monkeypatch.setenv("SINERGI_FLASK_PAGE_SIZE", "abc")
    result = CliRunner().invoke(main, ["--home", str(home), "serve", "--port", "8799"])
    assert result.exit_code == 1
    assert "SINERGI_FLASK_PAGE_SIZE" in result.output and "Sinergi ready" not in result.output
