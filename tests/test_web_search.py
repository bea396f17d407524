"""The search page (/cari) and its CSV download through Flask's test client: facets, filter
links, suggestions, the state kept in the URL."""


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


def test_sidebar_filter_links_are_the_urls_of_url_with(shared_app):
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
    with shared_app.test_request_context("/cari"):
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


def test_active_filters_are_shown_by_their_names(client):
    html = client.get("/cari?q=sampah&province=jabar&kind=practice").get_data(as_text=True)
    assert "Provinsi: Jawa Barat ✕" in html and "Jenis catatan: Praktik baik ✕" in html
