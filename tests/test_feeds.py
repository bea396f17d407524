"""Atom feeds: parsed with feedparser, checked against the Atom namespace with ElementTree, and
the search's filters applied (instance: tests/data/agreements.jsonl plus one draft, see
test_agreements.py; agreements judged on 2026-06-01)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import feedparser
import pytest

from conftest import make_app
from test_agreements import CONFIG, DRAFT, make_instance

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """The instance the feeds are read from (``client``)."""
    home = tmp_path_factory.mktemp("feeds") / "inst"
    make_instance(home).close()
    return make_app(home, CONFIG, read_only=True)


@pytest.fixture
def app(tmp_path):
    """A private instance, for the tests that change records."""
    make_instance(tmp_path / "inst").close()
    return make_app(tmp_path / "inst", CONFIG)


def atom(client, url: str) -> ET.Element:
    """The feed at ``url``, checked: an Atom document whose required elements are there."""
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/atom+xml"
    parsed = feedparser.parse(r.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    root = ET.fromstring(r.data)
    assert root.tag == ATOM + "feed"
    for el in root.iter():  # nothing outside the Atom namespace
        assert el.tag.startswith(ATOM), el.tag
    for name in ("id", "title", "updated"):
        assert (root.findtext(ATOM + name) or "").strip(), name
    assert root.find(ATOM + "author/" + ATOM + "name") is not None
    selfs = [link.get("href") for link in root.findall(ATOM + "link") if link.get("rel") == "self"]
    assert selfs == ["http://localhost" + url]
    for entry in root.findall(ATOM + "entry"):
        for name in ("id", "title", "updated"):
            assert (entry.findtext(ATOM + name) or "").strip(), name
        links = entry.findall(ATOM + "link")
        assert links and links[0].get("href", "").startswith("http://localhost/kasus/")
    assert len(parsed.entries) == len(root.findall(ATOM + "entry"))
    return root


def entry_ids(root: ET.Element) -> list[str]:
    return [e.findtext(ATOM + "id") for e in root.findall(ATOM + "entry")]


def test_search_feed_lists_published_records_with_categories(client):
    root = atom(client, "/cari.atom")
    ids = entry_ids(root)
    assert len(ids) == 6 and "http://localhost/kasus/uji-draf-berakhir" not in ids
    bus = next(e for e in root.findall(ATOM + "entry") if e.findtext(ATOM + "id").endswith("uji-bus-sarbagita"))
    assert [c.get("term") for c in bus.findall(ATOM + "category")] == ["transportasi"]
    assert bus.findtext(ATOM + "summary").startswith("Kota Denpasar dan Kabupaten Badung")


def test_search_feed_applies_the_search_filters(client):
    def cases(url):
        return sorted(i.rsplit("/", 1)[1] for i in entry_ids(atom(client, url)))

    def searched(query):
        return sorted(h["id"] for h in client.get("/api/v1/search?limit=100&" + query).get_json()["results"])

    assert cases("/cari.atom?sector=persampahan") == searched("sector=persampahan") == [
        "uji-bandung-terbuka", "uji-sampah-sleman-bantul", "uji-tanpa-dokumen"]
    assert cases("/cari.atom?q=sampah&province=34") == searched("q=sampah&province=34") == [
        "uji-sampah-sleman-bantul", "uji-tanpa-dokumen"]
    assert cases("/cari.atom?q=bus&island=bali") == ["uji-bus-sarbagita"]
    assert cases("/cari.atom?q=zzzqqq+xyzzy") == []
    title = atom(client, "/cari.atom?q=sampah&province=34").findtext(ATOM + "title")
    assert "sampah" in title and "Daerah Istimewa Yogyakarta" in title


def test_search_feed_newest_change_first(app):
    client = app.test_client()
    kb = app.extensions["sinergi_kb"]
    time.sleep(1.1)  # the store keeps times to the second
    rec = kb.get("uji-pasar-selesai")
    data = {k: v for k, v in rec.items() if k not in ("version", "state", "created_at", "updated_at",
                                                     "created_by", "updated_by")}
    kb.update(rec["id"], {**data, "summary": data["summary"] + " Laporan akhir sudah terbit."},
              expected_version=rec["version"], author="system")
    root = atom(client, "/cari.atom")
    entries = root.findall(ATOM + "entry")
    assert entries[0].findtext(ATOM + "id").endswith("/kasus/uji-pasar-selesai")
    assert entries[0].findtext(ATOM + "updated") > entries[1].findtext(ATOM + "updated")
    assert root.findtext(ATOM + "updated") == entries[0].findtext(ATOM + "updated")
    # A published draft appears; a deleted record goes.
    kb.set_state(DRAFT["id"], "published", author="system")
    kb.set_state("uji-bus-sarbagita", "deleted", author="system")
    ids = entry_ids(atom(client, "/cari.atom"))
    assert ids[0].endswith("/" + DRAFT["id"]) and not any(i.endswith("/uji-bus-sarbagita") for i in ids)


def test_search_feed_refuses_bad_parameters(client):
    assert client.get("/cari.atom?year_from=abc").status_code == 400


def test_agreements_feed_lists_soon_and_lately_expired(client):
    root = atom(client, "/perjanjian.atom")
    titles = [e.findtext(ATOM + "title") for e in root.findall(ATOM + "entry")]
    assert len(titles) == 4
    assert any(t.startswith("Sudah berakhir: PKS 11/PKS/2021") for t in titles)      # expired yesterday
    assert not any("3/KSB/2020" in t for t in titles)                                 # expired 92 days ago
    assert not any("9/PKS/2015" in t or "5/PKS/2024" in t for t in titles)            # long expired, not soon
    assert any(t.startswith("Berakhir dalam 6 bulan: KSB 1/KSB/2021") for t in titles)
    assert any(t.startswith("Berakhir dalam 6–12 bulan: KSB 2/KSB/2022") for t in titles)
    ids = entry_ids(root)
    assert len(set(ids)) == 4 and "http://localhost/kasus/uji-sampah-sleman-bantul#perjanjian-2-expired" in ids
    # an entry is dated by the later of its state's first day (here 2026-05-31 for "within 6-12
    # months") and the case's last change (the import, after that day)
    kulon = next(e for e in root.findall(ATOM + "entry") if "2/KSB/2022" in e.findtext(ATOM + "title"))
    changed = client.get("/api/v1/cases/uji-air-kulon-progo").get_json()["updated_at"]
    assert kulon.findtext(ATOM + "updated")[:19] == changed[:19]
    assert "berlaku sampai 2027-06-01 (365 hari lagi)" in kulon.findtext(ATOM + "summary")


def test_agreements_feed_for_a_region(client):
    titles = [e.findtext(ATOM + "title") for e in atom(client, "/perjanjian.atom?region=51").findall(ATOM + "entry")]
    assert titles == ["Berakhir dalam 6 bulan: KSB 1/KSB/2021 — Bus kawasan Denpasar dan Badung"]
    r = client.get("/perjanjian.atom?region=Atlantisxq")
    assert r.status_code == 400


def test_pages_link_their_feeds(client):
    html = client.get("/cari?q=sampah&sector=persampahan").get_data(as_text=True)
    assert ('<link rel="alternate" type="application/atom+xml" title="Kasus baru dan diperbarui (Atom)" '
            'href="/cari.atom?q=sampah&amp;sector=persampahan">') in html
    assert '<a href="/cari.atom?q=sampah&amp;sector=persampahan">Umpan Atom</a>' in html
    page = client.get("/perjanjian?region=51").get_data(as_text=True)
    assert 'type="application/atom+xml"' in page and 'href="/perjanjian.atom?region=51"' in page


def test_agreement_entry_is_new_when_its_state_changes(app):
    """A feed reader sees an agreement again when it moves on: the entry's id names the state,
    and its updated time is the first day of that state when that is after the case's change."""
    client = app.test_client()
    import datetime as dt

    expires = dt.date(2100, 1, 1)
    app.extensions["sinergi_kb"].create({
        "id": "uji-jauh", "title": "Perjanjian yang berakhir pada 2100",
        "summary": "Kasus uji dengan perjanjian kerja sama yang baru berakhir pada awal tahun 2100.",
        "regions": ["35.15"], "status": "berjalan",
        "documents": [{"type": "PKS", "number": "1/PKS/2099", "signed": "2099-01-01", "expires": expires.isoformat()}],
    }, author="system")
    seen = {}
    for day in ("2099-03-01", "2099-10-01", "2100-01-02"):
        app.config["SINERGI_TODAY"] = day
        entry = next(e for e in atom(client, "/perjanjian.atom?region=35.15").findall(ATOM + "entry"))
        seen[day] = (entry.findtext(ATOM + "id"), entry.findtext(ATOM + "updated")[:10])
    assert seen == {
        "2099-03-01": ("http://localhost/kasus/uji-jauh#perjanjian-1-expiring_12m",
                       (expires - dt.timedelta(days=365)).isoformat()),
        "2099-10-01": ("http://localhost/kasus/uji-jauh#perjanjian-1-expiring_6m",
                       (expires - dt.timedelta(days=183)).isoformat()),
        "2100-01-02": ("http://localhost/kasus/uji-jauh#perjanjian-1-expired", "2100-01-02"),
    }


def test_feed_answers_not_modified_to_a_reader_that_has_it(app):
    client = app.test_client()
    first = client.get("/cari.atom?sector=persampahan")
    etag = first.headers["ETag"]
    again = client.get("/cari.atom?sector=persampahan", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    app.extensions["sinergi_kb"].set_state("uji-tanpa-dokumen", "deleted", author="system")
    changed = client.get("/cari.atom?sector=persampahan", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"uji-tanpa-dokumen" not in changed.data
