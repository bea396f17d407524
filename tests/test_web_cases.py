"""Case pages (/kasus/…) through Flask's test client: fields, sources as citations, similar
cases, history, and record text shown as text."""

import re


def test_case_page_shows_fields_sources_similar_and_history(client):
    html = client.get("/kasus/kartamantul-sekretariat-bersama").get_data(as_text=True)
    for text in ("Kabupaten Sleman", "Pelajaran", "Sumber", "Kasus serupa", "riwayat"):
        assert text in html, text
    assert 'href="/daerah/34.04"' in html


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
