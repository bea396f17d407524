"""Every page and API call through Flask's test client, including the refusals."""

import io
import re

import pytest

from webapp import create_app
from webapp.auth import add_user, new_token
from conftest import copy_instance

TEST_CONFIG = {"TESTING": True, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
PASSWORD = "kata-sandi-uji-123"


@pytest.fixture(scope="module")
def read_app(corpus_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("web") / "inst"
    copy_instance(corpus_home, home)
    return create_app(TEST_CONFIG, home=home)


@pytest.fixture
def app(corpus_home, tmp_path):
    home = tmp_path / "inst"
    copy_instance(corpus_home, home)
    app = create_app(TEST_CONFIG, home=home)
    store = app.extensions["sinergi_kb"].store
    add_user(store, "editor", PASSWORD, "editor")
    add_user(store, "kontributor", PASSWORD, "contributor")
    return app


@pytest.fixture
def client(read_app):
    return read_app.test_client()


def token_of(html: str) -> str:
    m = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1)


def login(c, user="editor"):
    page = c.get("/kurasi/masuk").get_data(as_text=True)
    return c.post("/kurasi/masuk", data={"username": user, "password": PASSWORD, "csrf_token": token_of(page)})


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


def test_search_page_shows_facets_highlights_and_state_in_url(client):
    html = client.get("/cari?q=pengelolaan+sampah").get_data(as_text=True)
    assert 'class="match' in html and "Persampahan" in html
    assert "sector=persampahan" in html  # facet links keep the query in the URL
    assert "Unduh hasil (CSV)" in html


def test_facet_links_add_and_remove_filters(client):
    """Following a facet link narrows the results and marks the value; its link then removes it."""
    import html as htmlmod
    import re

    page = client.get("/cari?q=sampah").get_data(as_text=True)
    total = int(re.search(r"<strong>(\d+)</strong>", page).group(1))
    link = re.search(r'<a href="([^"]*island=jawa[^"]*)"', page).group(1)
    narrowed = client.get(htmlmod.unescape(link)).get_data(as_text=True)
    assert 0 < int(re.search(r"<strong>(\d+)</strong>", narrowed).group(1)) < total
    on = re.search(r'<a href="([^"]*)" aria-current="true" class="on">Jawa</a>', narrowed)
    assert on and "island=jawa" not in on.group(1) and "q=sampah" in on.group(1)


def test_template_links_match_url_for(read_app):
    """Templates build links through a cache; it gives exactly what url_for gives."""
    from flask import url_for

    from webapp.views.common import cached_url_for as _cached_url_for

    with read_app.test_request_context("/"):
        for endpoint, values in [("cases.view", {"record_id": "kartamantul-sampah"}),
                                 ("cases.view", {"record_id": "kasus ä/β?"}),
                                 ("regions.region", {"code": "34.04"}),
                                 ("search.search", {"q": "air minum", "sector": "persampahan"}),
                                 ("search.search", {"q": "x"}), ("search.search", {})]:
            assert _cached_url_for(endpoint, **values) == url_for(endpoint, **values)
            assert _cached_url_for(endpoint, **values) == url_for(endpoint, **values)  # from the cache
    with read_app.test_request_context("/", base_url="http://localhost/sinergi/"):
        assert _cached_url_for("search.search", q="x") == url_for("search.search", q="x")
        assert _cached_url_for("search.search", q="x").startswith("/sinergi/")


def test_sidebar_filter_links_are_the_urls_of_url_with(read_app):
    """The sidebar builds its ~70 links a faster way; each equals url_with's."""
    from webapp.views.common import FilterLinks, url_with

    cases = [{"text": "air minum", "filters": {}, "year_from": None, "year_to": None, "sort": "relevance",
              "page": 1, "limit": 10},
             {"text": "sampah & ä", "filters": {"sector": ["persampahan", "air minum"], "island": ["jawa"]},
              "year_from": 2001, "year_to": 2020, "sort": "year", "page": 3, "limit": 10},
             {"text": "", "filters": {"province": ["34", "34"]}, "year_from": None, "year_to": 2010,
              "sort": "title", "page": 2, "limit": 10}]
    changes = [("add", "sector", "persampahan"), ("add", "sector", "tata ruang/batas"), ("remove", "sector", "persampahan"),
               ("add", "island", "bali-nusa"), ("remove", "island", "jawa"), ("add", "province", "34"),
               ("remove", "province", "34"), ("remove", "kind", "case"), ("add", "kind", "case")]
    with read_app.test_request_context("/cari"):
        for params in cases:
            links = FilterLinks(params)
            for change in changes:
                assert links(*change) == url_with(params, filter=change), (params, change)


def test_did_you_mean_and_empty_state(client):
    html = client.get("/cari?q=persampahn").get_data(as_text=True)
    assert "persampahan" in html and "Menampilkan hasil untuk" in html
    html = client.get("/cari?q=xyzzyplugh").get_data(as_text=True)
    assert "Tidak ada hasil" in html


def test_csv_download_of_filtered_results(client):
    r = client.get("/cari.csv?q=sampah&island=jawa")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.get_data(as_text=True)
    assert body.splitlines()[0].startswith("id,kind,language,title")
    assert len(body.splitlines()) > 3


def test_download_and_map_links_keep_every_filter_value(client):
    import html as htmlmod
    import re

    page = client.get("/cari?q=air&sector=air-minum&sector=persampahan").get_data(as_text=True)
    download = htmlmod.unescape(re.search(r'href="(/cari\.csv[^"]*)"', page).group(1))
    assert "sector=air-minum" in download and "sector=persampahan" in download and "q=air" in download
    assert "sector=persampahan" in htmlmod.unescape(re.search(r'href="(/peta\?[^"]*)"', page).group(1))
    switch = htmlmod.unescape(re.search(r'href="(/lang/en[^"]*)"', page).group(1))
    assert client.get(switch).headers["Location"].endswith("/cari?q=air&sector=air-minum&sector=persampahan")
    client.get("/lang/id")


def test_language_switch(client):
    r = client.get("/lang/en?next=/cari?q=sampah", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "Download results (CSV)" in html and 'lang="en"' in html
    client.get("/lang/id")
    assert "Unduh hasil" in client.get("/cari?q=sampah").get_data(as_text=True)


def test_case_page_shows_fields_sources_similar_and_history(client):
    html = client.get("/kasus/kartamantul-sekretariat-bersama").get_data(as_text=True)
    for text in ("Kabupaten Sleman", "Pelajaran", "Sumber", "Kasus serupa", "riwayat"):
        assert text in html, text
    assert 'href="/daerah/34.04"' in html


def test_proposal_flow_and_shortlist(client):
    q = {"description": "Kota kami ingin membangun TPA regional bersama kabupaten tetangga karena lahan penuh.",
         "region": "Kota Pekanbaru"}
    html = client.get("/usulan", query_string=q).get_data(as_text=True)
    for text in ("Kasus serupa", "Yang berhasil", "Yang perlu diwaspadai", "Daerah tujuan studi banding",
                 "Calon mitra kerja sama", "km"):
        assert text in html, text
    peer = re.search(r'name="peer" value="([^"]+)"', html).group(1)
    r = client.get("/usulan/studi-banding.csv", query_string={**q, "peer": peer})
    assert r.status_code == 200 and peer in r.get_data(as_text=True)
    bad = client.get("/usulan", query_string={"description": "x", "region": "Bandung"})
    assert bad.status_code == 400


def test_script_in_case_text_is_shown_as_text(app):
    kb = app.extensions["sinergi_kb"]
    kb.create({"id": "uji-xss", "title": "Uji <script>alert(1)</script>",
               "summary": "Ringkasan <img src=x onerror=alert(1)> uji.",
               "body": "Teks <script>alert(2)</script> dan [tautan](javascript:alert(3))."}, author="uji")
    html = app.test_client().get("/kasus/uji-xss").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "javascript:" not in html
    search = app.test_client().get("/cari?q=uji+ringkasan").get_data(as_text=True)
    assert "<script>alert" not in search and "<img src=x" not in search
    assert "Uji &lt;script&gt;alert(1)&lt;/script&gt;" in search  # the hit is there, as text


def test_sign_in_add_case_with_validation_error_then_success(app):
    c = app.test_client()
    assert login(c).status_code == 302
    page = c.get("/kurasi/baru").get_data(as_text=True)
    data = {"csrf_token": token_of(page), "kind": "case", "language": "id", "title": "Kerja sama uji sampah",
            "summary": "Dua daerah berbagi TPA regional.", "regions": "Slemann", "publish": "1"}
    r = c.post("/kurasi/baru", data=data)
    assert r.status_code == 400
    assert "Kabupaten Sleman" in r.get_data(as_text=True)  # the candidates are named
    r = c.post("/kurasi/baru", data={**data, "regions": "Kab. Sleman\nKota Yogyakarta", "sectors": ["persampahan"]})
    assert r.status_code == 302
    assert app.extensions["sinergi_kb"].search("kerja sama uji sampah").results[0].id == "kerja-sama-uji-sampah"


def test_write_without_csrf_is_refused(app):
    c = app.test_client()
    login(c)
    r = c.post("/kurasi/baru", data={"title": "x", "summary": "y" * 20})
    assert r.status_code == 400


def test_contributor_saves_drafts_and_editor_publishes(app):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    login(c, "kontributor")
    page = c.get("/kurasi/baru").get_data(as_text=True)
    c.post("/kurasi/baru", data={"csrf_token": token_of(page), "kind": "case", "language": "id",
                                 "title": "Draf kerja sama air", "summary": "Draf dari kontributor uji.",
                                 "publish": "1"})
    assert kb.get("draf-kerja-sama-air", include_deleted=True)["state"] == "draft"
    assert app.test_client().get("/kasus/draf-kerja-sama-air").status_code == 404  # not public
    e = app.test_client()
    login(e)
    page = e.get("/kasus/draf-kerja-sama-air").get_data(as_text=True)
    r = e.post("/kurasi/draf-kerja-sama-air/status", data={"csrf_token": token_of(page), "state": "published"})
    assert r.status_code == 302 and kb.get("draf-kerja-sama-air")["state"] == "published"


def test_two_editors_same_case_second_save_is_refused_with_both_versions(app):
    a, b = app.test_client(), app.test_client()
    login(a)
    login(b)
    form_a = a.get("/kurasi/tpa-sarimukti/sunting").get_data(as_text=True)
    form_b = b.get("/kurasi/tpa-sarimukti/sunting").get_data(as_text=True)
    rec = app.extensions["sinergi_kb"].get("tpa-sarimukti")

    def post(c, page, title):
        return c.post("/kurasi/tpa-sarimukti/sunting", data={
            "csrf_token": token_of(page), "version": str(rec["version"]), "kind": "case", "language": "id",
            "title": title, "summary": rec["summary"], "body": rec["body"], "regions": "\n".join(rec["regions"]),
            "sectors": rec["sectors"], "lessons": "\n".join(rec["lessons"])})

    assert post(a, form_a, "Judul dari A").status_code == 302
    r = post(b, form_b, "Judul dari B")
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "Judul dari A" in html and "Judul dari B" in html
    assert app.extensions["sinergi_kb"].get("tpa-sarimukti")["title"] == "Judul dari A"


def test_soft_delete_and_restore(app):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    login(c)
    page = c.get("/kasus/tpa-galuga").get_data(as_text=True)
    c.post("/kurasi/tpa-galuga/status", data={"csrf_token": token_of(page), "state": "deleted"})
    assert app.test_client().get("/kasus/tpa-galuga").status_code == 404
    assert "tpa-galuga" not in [h.id for h in kb.search("Galuga").results]
    page = c.get("/kasus/tpa-galuga").get_data(as_text=True)
    c.post("/kurasi/tpa-galuga/status", data={"csrf_token": token_of(page), "state": "published"})
    assert "tpa-galuga" in [h.id for h in kb.search("Galuga").results]


def test_bulk_upload_preview_then_confirm(app):
    kb = app.extensions["sinergi_kb"]
    c = app.test_client()
    login(c)
    good = b'{"id": "unggah-1", "title": "Kerja sama unggahan", "summary": "Catatan dari unggahan uji."}\n'
    bad = good + b'{"id": "unggah-2", "title": "Salah", "summary": "Bidang tidak dikenal.", "sectors": ["kuliner"]}\n'
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    r = c.post("/kurasi/unggah", data={"csrf_token": token_of(page), "file": (io.BytesIO(bad), "b.jsonl")},
               content_type="multipart/form-data")
    assert r.status_code == 400 and "b.jsonl:2: sectors" in r.get_data(as_text=True)
    broken = b'{"id": "unggah-3", "title": \n' + bad  # a malformed line hides nothing else
    r = c.post("/kurasi/unggah", data={"csrf_token": token_of(page), "file": (io.BytesIO(broken), "c.jsonl")},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "c.jsonl:1: invalid JSON" in html and "c.jsonl:3: sectors" in html
    r = c.post("/kurasi/unggah", data={"csrf_token": token_of(page), "file": (io.BytesIO(good), "g.jsonl")},
               content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Pratinjau" in html
    with pytest.raises(Exception):
        kb.get("unggah-1")  # nothing written before confirmation
    token = re.search(r'name="token" value="([0-9a-f]+)"', html).group(1)
    r = c.post("/kurasi/unggah", data={"csrf_token": token_of(html), "token": token, "confirm": "1"})
    assert r.status_code == 302 and kb.get("unggah-1")["title"] == "Kerja sama unggahan"


def test_upload_size_limit(app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    c = app.test_client()
    login(c)
    page = c.get("/kurasi/unggah").get_data(as_text=True)
    r = c.post("/kurasi/unggah", data={"csrf_token": token_of(page), "file": (io.BytesIO(b"x" * 5000), "a.jsonl")},
               content_type="multipart/form-data")
    assert r.status_code == 413


def test_login_attempts_are_rate_limited(app):
    app.config["SINERGI_LOGIN_LIMIT"] = "3 per minute"
    c = app.test_client()
    codes = []
    for _ in range(5):
        page = c.get("/kurasi/masuk").get_data(as_text=True)
        codes.append(c.post("/kurasi/masuk", data={"username": "editor", "password": "salah-sekali",
                                                   "csrf_token": token_of(page)}).status_code)
    assert 429 in codes


# -- API ---------------------------------------------------------------------------------------
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


def test_api_regions_and_cases(client):
    assert client.get("/api/v1/regions/34.04").get_json()["name"] == "Kabupaten Sleman"
    assert client.get("/api/v1/regions/99").status_code == 404
    assert client.get("/api/v1/cases/tpa-sarimukti").get_json()["id"] == "tpa-sarimukti"
    err = client.get("/api/v1/cases/nope").get_json()["error"]
    assert err["code"] == 404 and err["message"]


def test_api_writes_need_a_token_and_refuse_stale_versions(app):
    c = app.test_client()
    assert c.post("/api/v1/cases", json={"title": "x", "summary": "y" * 20}).status_code == 401
    token = new_token(app.extensions["sinergi_kb"].store, "editor")
    h = {"Authorization": f"Bearer {token}"}
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


def test_template_translations_with_variables_are_escaped(read_app):
    """Templates' _() gives the catalogue's text as markup with its variables escaped in."""
    from flask import render_template_string

    with read_app.test_request_context("/?lang=en"):
        read_app.preprocess_request()
        out = render_template_string("{{ _('Halaman %(p)d dari %(n)d', p=2, n=5) }}|{{ _('Cari') }}|"
                                     "{{ _('Tidak ada hasil untuk') }} {{ '<b>' }}")
    assert out == "Page 2 of 5|Search|No results for &lt;b&gt;"


def test_pages_name_an_icon_that_is_served(app):
    """Browsers ask for an icon on every first visit; a missing one is a console error."""
    c = app.test_client()
    href = re.search(r'<link rel="icon" href="([^"]+)"', c.get("/").get_data(as_text=True)).group(1)
    with c.get(href) as r:  # a static file response: closed after use
        assert r.status_code == 200 and b"<svg" in r.data


def test_active_filters_are_shown_by_their_names(app):
    html = app.test_client().get("/cari?q=sampah&province=jabar&kind=practice").get_data(as_text=True)
    assert "Provinsi: Jawa Barat ✕" in html and "Jenis catatan: Praktik baik ✕" in html


def test_case_page_shows_sources_as_citations(app):
    kb = app.extensions["sinergi_kb"]
    kb.create({"id": "uji-sitasi", "title": "Uji sitasi sumber", "summary": "Ringkasan untuk menguji sitasi.",
               "checked": "2026-03-02",
               "sources": [{"title": "Pencanangan SPAM Regional", "url": "https://example.org/berita/spam-regional",
                            "publisher": "Kementerian PUPR", "date": "2017-09", "accessed": "2026-03-01"},
                           {"title": "Peraturan Presiden Nomor 78 Tahun 2017", "date": "2017"}]}, author="uji")
    c = app.test_client()
    html = c.get("/kasus/uji-sitasi").get_data(as_text=True)
    items = re.findall(r'<li class="citation">(.*?)</li>', html, re.S)
    assert len(items) == 2
    web, law = items
    assert '<span class="publisher">Kementerian PUPR</span>' in web
    assert '<a href="https://example.org/berita/spam-regional" rel="noopener noreferrer">' in web
    assert 'datetime="2017-09">September 2017</time>' in web
    assert 'Diakses <time datetime="2026-03-01">1 Maret 2026</time>' in web
    assert "<a " not in law and "<cite>Peraturan Presiden Nomor 78 Tahun 2017</cite>" in law
    assert "Diakses" not in law and ">2017</time>" in law
    assert '2 Maret 2026' in html  # when the record was checked against its sources
    english = c.get("/kasus/uji-sitasi?lang=en").get_data(as_text=True)
    assert 'Accessed <time datetime="2026-03-01">1 March 2026</time>' in english
    assert "September 2017" in english and "Checked against its sources on" in english
    c.get("/lang/id")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_chart_labels_are_never_cut_inside_a_word(read_app, lang):
    """A long label wraps onto a second line (or ends with "…" after a whole word); the full
    label is the bar's <title>."""
    c = read_app.test_client()
    c.get(f"/lang/{lang}")
    page = c.get("/statistik").get_data(as_text=True)
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
