"""Pages of every blueprint answer, refusals are friendly pages, and the main blueprint's own
pages (home, language switch, statistics, icon) and the templates' helpers, through Flask's
test client."""

import re

import pytest


@pytest.mark.parametrize("url", ["/", "/cari", "/cari?q=sampah", "/cari?q=sampah&sector=persampahan&island=jawa",
                                 "/cari?q=kerja+sama&page=2&sort=year", "/kasus/tpa-sarimukti",
                                 "/kasus/tpa-sarimukti/riwayat", "/usulan", "/daerah", "/daerah?q=slem", "/daerah/34.04",
                                 "/daerah/34", "/peta", "/peta?q=sampah&island=jawa", "/statistik", "/kurasi/masuk",
                                 "/daerah.json?q=band", "/api/v1/openapi.json"])
def test_pages_answer(client, url):
    r = client.get(url)
    assert r.status_code == 200, url
    assert "Content-Security-Policy" in r.headers


@pytest.mark.parametrize("url,code", [("/kasus/tidak-ada", 404), ("/daerah/99.99", 404), ("/cari?page=x", 400),
                                      ("/cari?limit=100000", 400), ("/cari?sort=drop", 400),
                                      ("/cari?year_from=abc", 400), ("/kurasi/", 302), ("/kurasi/baru", 302)])
def test_refusals_are_friendly(client, url, code):
    r = client.get(url)
    assert r.status_code == code
    if code >= 400:
        assert "Traceback" not in r.get_data(as_text=True)


def test_template_links_match_url_for(shared_app):
    """Templates build links through a cache; it gives exactly what url_for gives."""
    from flask import url_for

    from webapp.views.common import cached_url_for as _cached_url_for

    with shared_app.test_request_context("/"):
        for endpoint, values in [("cases.view", {"record_id": "kartamantul-sampah"}),
                                 ("cases.view", {"record_id": "kasus ä/β?"}),
                                 ("regions.region", {"code": "34.04"}),
                                 ("search.search", {"q": "air minum", "sector": "persampahan"}),
                                 ("search.search", {"q": "x"}), ("search.search", {})]:
            assert _cached_url_for(endpoint, **values) == url_for(endpoint, **values)
            assert _cached_url_for(endpoint, **values) == url_for(endpoint, **values)  # from the cache
    with shared_app.test_request_context("/", base_url="http://localhost/sinergi/"):
        assert _cached_url_for("search.search", q="x") == url_for("search.search", q="x")
        assert _cached_url_for("search.search", q="x").startswith("/sinergi/")


def test_language_switch(client):
    r = client.get("/lang/en?next=/cari?q=sampah", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "Download results (CSV)" in html and 'lang="en"' in html
    client.get("/lang/id")
    assert "Unduh hasil" in client.get("/cari?q=sampah").get_data(as_text=True)


def test_template_translations_with_variables_are_escaped(shared_app):
    """Templates' _() gives the catalogue's text as markup with its variables escaped in."""
    from flask import render_template_string

    with shared_app.test_request_context("/?lang=en"):
        shared_app.preprocess_request()
        out = render_template_string("{{ _('Halaman %(p)d dari %(n)d', p=2, n=5) }}|{{ _('Cari') }}|"
                                     "{{ _('Tidak ada hasil untuk') }} {{ '<b>' }}")
    assert out == "Page 2 of 5|Search|No results for &lt;b&gt;"


def test_pages_name_an_icon_that_is_served(client):
    """Browsers ask for an icon on every first visit; a missing one is a console error."""
    href = re.search(r'<link rel="icon" href="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    with client.get(href) as r:  # a static file response: closed after use
        assert r.status_code == 200 and b"<svg" in r.data


@pytest.mark.parametrize("lang", ["id", "en"])
def test_chart_labels_are_never_cut_inside_a_word(client, lang):
    """A long label wraps onto a second line (or ends with "…" after a whole word); the full
    label is the bar's <title>."""
    client.get(f"/lang/{lang}")
    page = client.get("/statistik").get_data(as_text=True)
    bars = re.findall(r'<title>([^<]+): \d+</title><text[^>]*class="lbl">(.*?)</text>', page)
    assert len(bars) > 10
    wrapped = 0
    for full, spans in bars:
        lines = [html_unescape(x) for x in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", spans)]
        words = " ".join(lines).replace(" …", "").split()
        assert words == html_unescape(full).split()[:len(words)], (full, lines)
        wrapped += len(lines) > 1
    assert wrapped  # the sector names hold labels longer than a line
    full_labels = [html_unescape(f) for f, _ in bars]
    assert ("Environment and natural resources" if lang == "en" else "Lingkungan dan sumber daya alam") in full_labels


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)
