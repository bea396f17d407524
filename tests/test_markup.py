"""Template parts that loops fill (webapp/templates/search/_parts.html: hit cards and the
sidebar's facet lists; main/_charts.html: bar charts; _map.html: maps) against what a reader
must see: every title, name and label escaped, in the page's language, with the links of the
same helpers the rest of the app uses. Each part is rendered through Flask's templates for many
inputs, parsed, and compared element by element with what its data says."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import render_template_string, url_for

from kb.search.results import Hit
from webapp.i18n import messages

EVIL = '<script>alert("x")</script> & Kerja Sama “Sampah” O\'Brien — Rượu ✓'
TITLES = [EVIL, "A & B", 'Say "hi"', "it's", "Kota Batu • 日本語 ﷺ", "</article><p>", "&amp; stays &amp;"]


class Node:
    def __init__(self, tag: str, attrs: dict):
        self.tag, self.attrs, self.children = tag, attrs, []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str) -> list[Node]:
        out = []
        for c in self.elements():
            if c.tag == tag:
                out.append(c)
            out += c.find_all(tag)
        return out


class Tree(HTMLParser):
    """The element tree of an HTML fragment (the standard library's parser; void elements have
    no children)."""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def _regions(n: int) -> list[dict]:
    from kb.gazetteer import gazetteer

    g = gazetteer()
    codes = ["34.71", "34.02", "34.04", "33.74", "32.73", "35.78", "31.71"][:n]
    refs = g.refs(codes)
    assert len(refs) == n
    if n:  # a name that needs escaping, in a link of its own
        refs[-1] = {"code": "99.99", "name": 'Kota <b>"Ujung" & Co</b>'}
    return refs


def _hits() -> list[Hit]:
    hits = []
    for i, title in enumerate(TITLES):
        for n in (0, 1, 4, 7):
            hits.append(Hit(id=f"uji-{i}-{n}", kind=("case", "practice")[i % 2], title=title, score=1.0,
                            regions=_regions(n), sectors=["persampahan"],
                            start_year=(None, 2019)[n % 2 == 0 and i % 3 != 1],
                            status=(None, "berjalan", "selesai", "terhenti")[(i + n) % 4],
                            language=("id", "en")[(i + n) % 2],
                            highlight=f'kerja <b class="match term0">sama</b> &amp; {n} &lt;i&gt;'))
    return hits


HIT_CARDS = '{% import "search/_parts.html" as parts %}{{ parts.hit_cards(hits) }}'


@pytest.mark.parametrize("lang", ["id", "en"])
def test_hit_cards_show_each_hit_escaped_in_the_page_language(shared_app, lang):
    from webapp.labels import value_label

    hits = _hits()
    with shared_app.test_request_context(f"/cari?lang={lang}"):
        html = render_template_string(HIT_CARDS, hits=hits)
        label = {(k, v): value_label(k, v) for h in hits for k, v in
                 (("kind", h.kind), ("status", h.status), ("language", h.language))}
        case_url = {h.id: url_for("cases.view", record_id=h.id) for h in hits}
        region_url = {r["code"]: url_for("regions.region", code=r["code"]) for h in hits for r in h.regions}
    if lang == "en":  # the labels really are the English ones
        assert label["kind", "case"] == messages("en")["Studi kasus"] != "Studi kasus"
    else:
        assert label["kind", "case"] == "Studi kasus" and label["language", "en"] == "Bahasa Inggris"
    assert "<script>" not in html and "<b>" not in html.replace('<b class="match', "")

    cards = Tree(html).root.elements()
    assert [c.tag for c in cards] == ["article"] * len(hits)
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', html)
    for h, card, snippet in zip(hits, cards, snippets):
        assert card.classes == ["hit"]
        h3, meta, snip = card.elements()
        (a,) = h3.elements()
        assert (a.attrs["href"], a.text()) == (case_url[h.id], h.title)
        assert meta.classes == ["meta"] and snip.classes == ["snippet"]
        assert snippet == h.highlight  # kb's escaped snippet, as it is
        want = [("span", ["badge", h.kind], label["kind", h.kind])]
        if h.start_year:
            want.append(("span", [], str(h.start_year)))
        if h.status:
            want.append(("span", ["status", h.status], label["status", h.status]))
        if h.language == "en":
            want.append(("span", [], label["language", "en"]))
        want += [("a", [], r["name"]) for r in h.regions[:4]]
        assert [(e.tag, e.classes, e.text()) for e in meta.elements()] == want
        assert [e.attrs["href"] for e in meta.find_all("a")] == [region_url[r["code"]] for r in h.regions[:4]]
        assert meta.children[-1].strip().endswith("…") == (len(h.regions) > 4)


FACET_LISTS = ('{% import "search/_parts.html" as parts %}'
               '{{ parts.facet_lists(keys, facets, links, rows) }}')


@pytest.mark.parametrize("lang", ["id", "en"])
def test_facet_lists_link_each_value_to_the_search_with_it_added_or_removed(shared_app, lang):
    from webapp.labels import facet_name, value_label
    from webapp.views.common import FilterLinks, url_with
    from webapp.views.search import SIDEBAR_FACETS, SIDEBAR_ROWS

    params = {"text": 'sampah & "ä"', "filters": {"sector": ["persampahan", 'a&b "c"'], "province": ["34"]},
              "year_from": 2001, "year_to": None, "sort": "year", "page": 3, "limit": 10}
    sectors = ["persampahan", "air-minum", "kesehatan", 'a&b "c"', "<i>x</i>", "pendidikan", "pariwisata",
               "transportasi", "ekonomi", "lingkungan", "pertanian", "perikanan", "tata-ruang", "energi"]
    facets = {"kind": [{"value": "case", "count": 40}, {"value": "practice", "count": 3}],
              "sector": [{"value": v, "count": 50 - i} for i, v in enumerate(sectors)],
              "island": [{"value": "jawa", "count": 7}],
              "province": [{"value": "34", "count": 5}, {"value": "32", "count": 2}],
              "status": [],
              "type": [{"value": "KSDD", "count": 9}, {"value": "KSDPK", "count": 1}]}
    with shared_app.test_request_context(f"/cari?lang={lang}"):
        html = render_template_string(FACET_LISTS, keys=SIDEBAR_FACETS, facets=facets, links=FilterLinks(params),
                                      rows=SIDEBAR_ROWS)
        want = []
        for key in SIDEBAR_FACETS:
            if not facets[key]:
                continue
            items = []
            for row in facets[key][:SIDEBAR_ROWS]:
                on = row["value"] in params["filters"].get(key, ())
                items.append((url_with(params, filter=("remove" if on else "add", key, row["value"])), on,
                              value_label(key, row["value"]), str(row["count"])))
            want.append((facet_name(key), items))
    assert "<i>" not in html

    nodes = Tree(html).root.elements()
    assert [n.tag for n in nodes] == ["h2", "ul"] * len(want)
    got = []
    for h2, ul in zip(nodes[::2], nodes[1::2]):
        items = []
        for li in ul.elements():
            a, count = li.elements()
            on = a.attrs.get("aria-current") == "true"
            assert a.classes == (["on"] if on else [])
            assert count.classes == ["count"]
            items.append((a.attrs["href"], on, a.text(), count.text()))
        got.append((h2.text(), items))
    assert got == want
    assert len(got[1][1]) == SIDEBAR_ROWS < len(sectors)  # only the first rows of a long facet
    assert sum(on for _, items in got for _, on, _, _ in items) == 3
    if lang == "en":  # the facet names really are the English ones
        from kb.search import FACETS

        assert got[0][0] == messages("en")[FACETS["kind"].label] != FACETS["kind"].label


def test_an_evil_title_is_text_on_the_search_page_and_the_home_page(app):
    kb = app.extensions["sinergi_kb"]
    kb.create({"id": "uji-judul-jahat", "title": EVIL, "regions": ["Kabupaten Asmat"], "sectors": ["perikanan"],
               "start_year": 2100, "status": "berjalan",
               "summary": 'Budidaya rumput laut <img src=x onerror="alert(1)"> bersama di Asmat.'}, author="uji")
    client = app.test_client()
    for url in ("/cari?q=rumput+laut+Asmat", "/cari?q=rumput+laut+Asmat&lang=en", "/"):
        html = client.get(url).get_data(as_text=True)
        titles = [a.text() for a in Tree(html).root.find_all("a") if a.attrs.get("href") == "/kasus/uji-judul-jahat"]
        assert EVIL in titles, url
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Kerja Sama" in html


def test_bar_chart_draws_each_row_with_its_label_escaped(shared_app):
    from webapp.render import bar_chart

    rows = [{"label": '<b>"Air" & sanitasi</b> ' + "kata " * 20, "count": 12, "value": "a&b"},
            {"label": "Jawa", "count": 3, "value": None}, {"label": "Bali", "count": 0, "value": "bali"}]
    source = '{% from "main/_charts.html" import bar_chart %}{{ bar_chart(chart) }}'
    with shared_app.test_request_context("/statistik"):
        linked = render_template_string(source, chart=bar_chart(rows, title='Per "bidang" <x>',
                                                                href=lambda v: url_for("search.search", sector=v)))
        plain = render_template_string(source, chart=bar_chart(rows, title="Per dasawarsa"))
        empty = render_template_string(source, chart=bar_chart([], title="Kosong"))
    assert empty == "" and "<b>" not in linked and "<x>" not in linked

    (svg,) = Tree(linked).root.elements()
    assert (svg.attrs["role"], svg.attrs["aria-label"], svg.elements()[0].text()) == ("group", 'Per "bidang" <x>',
                                                                                       'Per "bidang" <x>')
    items = svg.elements()[1:]
    assert [(e.tag, e.attrs.get("href")) for e in items] == [("a", "/cari?sector=a%26b"), ("g", None),
                                                             ("a", "/cari?sector=bali")]
    for row, item in zip(rows, items):
        title, text, rect, count = item.elements()
        assert title.text() == f'{row["label"]}: {row["count"]}' == item.attrs.get("aria-label", title.text())
        drawn = " ".join(t.text() for t in text.elements()).replace(" …", "")
        assert row["label"].split()[:len(drawn.split())] == drawn.split()  # cut between words only
        assert count.text() == str(row["count"]) and rect.attrs["class"] == "bar"
    assert float(items[0].elements()[2].attrs["width"]) > float(items[1].elements()[2].attrs["width"]) > 0
    assert float(items[2].elements()[2].attrs["width"]) == 0

    (svg,) = Tree(plain).root.elements()
    assert svg.attrs["role"] == "img" and {e.tag for e in svg.elements()[1:]} == {"g"}


def test_map_draws_linked_regions_and_markers_with_their_names_escaped(shared_app):
    from webapp.render import Marker, Shape, fit_frame, map_layout, region_box

    evil = 'Kota <b>"Ujung"</b> & Co: 3 catatan'
    codes = ["34.71", "34.02", "34.04", "33.74"]
    with shared_app.test_request_context("/peta"):
        href = {c: url_for("regions.region", code=c) for c in codes}
        shapes = [Shape("regency", "34.71", "ch2", href["34.71"], evil), Shape("regency", "34.02", "ch0", href["34.02"], "Bantul"),
                  Shape("regency", "34.04", "ctx"), Shape("regency", "11.01", "ctx")]  # Aceh: outside the frame
        markers = [Marker("34.71", 4.0, "case", href["34.71"], evil), Marker("34.02", 2.5, "point", None, "Bantul <i>")]
        layout = map_layout(fit_frame([region_box(c) for c in codes[:3]]), shapes, title='Peta "DIY" <x>',
                            markers=markers, links=[("34.71", "34.02", 7), ("34.71", "99.99", 1)], borders=True)
        html = render_template_string('{% from "_map.html" import outline_map %}{{ outline_map(m) }}', m=layout)
    assert "<b>" not in html and "<i>" not in html and "<x>" not in html

    (svg,) = Tree(html).root.elements()
    assert (svg.attrs["role"], svg.attrs["aria-label"], svg.attrs["class"]) == ("group", 'Peta "DIY" <x>', "map")
    assert svg.attrs["viewbox"] == f"0 0 {layout.width} {layout.height}"
    sea, a1, a2, ctx, borders, line, m1, m2 = svg.elements()
    assert sea.tag == "rect" and sea.classes == ["sea"]
    for a, code, name, css in ((a1, "34.71", evil, "ch2"), (a2, "34.02", "Bantul", "ch0")):
        title, path = a.elements()
        assert (a.tag, a.attrs["href"], a.attrs["aria-label"], title.text()) == ("a", href[code], name, name)
        assert path.tag == "path" and path.classes == [css] and path.attrs["d"].startswith("M")
    assert (ctx.tag, ctx.classes, ctx.attrs["aria-hidden"]) == ("path", ["ctx"], "true")  # no link, no name
    assert (borders.tag, borders.classes) == ("path", ["pborder"])
    assert (line.tag, line.classes) == ("line", ["link", "w5"])  # the unknown region draws no line
    title, circle = m1.elements()
    assert (m1.tag, m1.attrs["href"], m1.attrs["aria-label"], title.text()) == ("a", href["34.71"], evil, evil)
    assert (circle.tag, circle.attrs["r"], circle.classes) == ("circle", "4.0", ["case"])
    assert (m2.tag, m2.attrs["aria-hidden"], m2.classes, m2.text()) == ("circle", "true", ["point"], "Bantul <i>")
