"""Every page in both languages, checked against the message catalogue itself.

An English page must show no Indonesian message of the catalogue (an untranslated string), and
an Indonesian page no English translation (a leak). The visible text of a page is its text nodes
and the attributes a reader meets (placeholder, aria-label, title, alt, button values), without
scripts, styles, the language switch and what the page marks ``translate="no"`` (record data
shown as written: terms and titles inside reasons, revision diffs). Record content (titles,
summaries, bodies, lessons..., as written, as rendered or JSON-encoded), region names and the
test's own input are the records' and the user's words in their own language: they are masked
out of a text node before it is checked, and a text node that is a piece of them (a snippet) is
not checked, unless it is exactly a catalogue message.
"""

from __future__ import annotations

import html
import io
import json
import re
import unicodedata
from html.parser import HTMLParser

import pytest

from kb.gazetteer import gazetteer
from kb.text import plain_text
from webapp.i18n import SOURCE, messages

from conftest import copy_instance, csrf_token, make_app

WASTE = ("Kota kami dan dua kabupaten tetangga ingin membangun TPA regional bersama karena lahan TPA kota hampir "
         "penuh dan warga sekitar menolak perluasan.")
UPLOAD = {"id": "uji-bahasa-unggah", "title": "Unggahan uji bahasa", "summary": "Unggahan untuk uji dua bahasa.",
          "kind": "practice", "sectors": ["air-minum", "kebencanaan"]}
VISIBLE_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")
SKIPPED_TAGS = {"script", "style", "template"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

# (name, URL) of every page a reader can reach; {draft} is a draft record made in the fixture.
PAGES = [
    ("home", "/"),
    ("search", "/cari?q=sampah"),
    ("search-filtered", "/cari?q=sampah&sector=persampahan&island=jawa&status=berjalan&year_from=2000"),
    ("search-type-kind", "/cari?type=KSDD&kind=case&sort=year"),
    ("search-empty", "/cari?q=qwertyuiopasdf"),
    ("search-unknown-filter", "/cari?q=sampah&island=atlantis"),
    ("case", "/kasus/tpa-sarimukti"),
    ("practice", "/kasus/{practice}"),
    ("case-history", "/kasus/tpa-sarimukti/riwayat"),
    ("draft-history", "/kasus/{draft}/riwayat"),
    ("proposal-form", "/usulan"),
    ("proposal-result", "/usulan?description=" + WASTE.replace(" ", "+") + "&region=Kota+Yogyakarta"
                        "&sectors=persampahan"),
    ("proposal-no-match", "/usulan?description=zzzz+qqqq+xxxx+wwww+vvvv"),
    ("proposal-too-short", "/usulan?description=TPA"),
    ("proposal-unknown-region", "/usulan?description=" + WASTE.replace(" ", "+") + "&region=Slemann"),
    ("visit-plan", "/usulan/rencana-kunjungan?description=" + WASTE.replace(" ", "+") + "&region=Kota+Yogyakarta"
                   "&sectors=persampahan&learn_from_failure=y&peer=32.71&peer=63&peer=75&peer=73&peer=73.71"),
    ("regions", "/daerah"),
    ("region-search", "/daerah?q=slem"),
    ("regency", "/daerah/34.04"),
    ("province", "/daerah/34"),
    ("map", "/peta?q=sampah&island=jawa"),
    ("statistics", "/statistik"),
    ("sign-in", "/kurasi/masuk"),
    ("not-found", "/kasus/tidak-ada"),
    ("not-found-path", "/halaman/yang/tidak/ada"),
    ("dashboard", "/kurasi/"),
    ("new-record", "/kurasi/baru"),
    ("edit-record", "/kurasi/tpa-sarimukti/sunting"),
    ("draft", "/kasus/{draft}"),
    ("upload", "/kurasi/unggah"),
]
SIGNED_IN = {"dashboard", "new-record", "edit-record", "draft", "draft-history", "upload"}


class VisibleText(HTMLParser):
    """The text nodes and reader-facing attributes of a page, without scripts, styles and the
    language switch (``.lang``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hidden)

    @property
    def _hidden(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        hidden = (self._hidden or tag in SKIPPED_TAGS or "lang" in (a.get("class") or "").split()
                  or a.get("translate") == "no")
        if not hidden:
            for name in VISIBLE_ATTRIBUTES:
                if a.get(name):
                    self.nodes.append(a[name])
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.nodes.append(a["value"])
        if tag not in VOID_TAGS:
            self._stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self._stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):  # tolerate unclosed elements
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._hidden:
            self.nodes.append(text)


def visible_text(page: str) -> list[str]:
    parser = VisibleText()
    parser.feed(page)
    parser.close()
    return parser.nodes


PLACEHOLDER = re.compile(r"%(?:\(\w+\))?([sd])")


def _pattern(message: str) -> re.Pattern | None:
    """A message as a regular expression: a number placeholder matches digits, a text one any
    text; its ends are word boundaries and its case is kept (``Daerah`` the heading, not
    ``daerah`` inside a shared term). ``None`` for a message with too few letters of its own to
    recognise (``%(n)s``)."""
    parts = PLACEHOLDER.split(message)
    literal, kinds = parts[::2], parts[1::2]
    if sum(c.isalpha() for c in "".join(literal)) < 2:
        return None
    body = re.escape(literal[0]) + "".join((r"\d[\d.,]*" if k == "d" else r".+?") + re.escape(p)
                                            for k, p in zip(kinds, literal[1:]))
    start = r"(?<!\w)" if message[:1].isalnum() else ""
    end = r"(?!\w)" if message[-1:].isalnum() else ""
    return re.compile(start + body + end)


class Catalogue:
    """The English catalogue as two sets of patterns: Indonesian messages (wrong on an English
    page) and their English translations (wrong on an Indonesian page). A message written the
    same in both languages (Status, Kalimantan, editor) is neither."""

    def __init__(self, table: dict[str, str]):
        differ = {k: v for k, v in table.items() if k.strip() != v.strip()}
        english = set(differ.values())
        # An Indonesian message that is also some message's English (none today) would be
        # wrong on neither page: left out of the Indonesian patterns.
        self.indonesian = {k: p for k in differ if k not in english and (p := _pattern(k))}
        self.english = {v: p for v in english if v not in differ and (p := _pattern(v))}
        self.messages = {"id": set(table), "en": set(table.values())}

    def wrong(self, lang: str, nodes: list[str], content) -> list[tuple[str, str]]:
        """(message, text node) of every message of the other language on a page of ``lang``;
        ``content`` masks record content out of a text node."""
        patterns = self.indonesian if lang == "en" else self.english
        other = self.messages["id" if lang == "en" else "en"]
        found = []
        for node in nodes:
            if node in self.messages[lang] and node not in other:
                continue  # exactly a message of this page's language
            text = node if node in other else content.mask(node)
            for message, pattern in patterns.items():
                if pattern.search(text):
                    found.append((message, node))
        return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", html.unescape(text)).split())


class RecordContent:
    """The records' own words, the region names and the user's input: text shown as written,
    in its own language."""

    def __init__(self, records: list[dict], inputs: list[str]):
        names = [r.name for r in gazetteer().regions]
        strings = [s for rec in records for s in _strings({k: v for k, v in rec.items() if k not in
                                                          ("created_at", "updated_at", "state", "kind")})]
        pieces = names + inputs + strings + [plain_text(s) for s in strings]
        encoded = [json.dumps(s, ensure_ascii=False) for s in strings]
        self.text = "\n".join(_flat(p) for p in pieces)
        # Whole values inside a node (a title in a page title, a region in a reason), longest first.
        whole = sorted({_flat(p) for p in names + inputs + encoded + strings if len(p.strip()) > 3}, key=len,
                       reverse=True)
        self.whole = re.compile("|".join(re.escape(w) for w in whole))

    def mask(self, node: str) -> str:
        """``node`` with record content replaced by "¶": whole values, and each passage of a
        snippet (passages are joined by "…") that is a piece of some record's text."""
        passages = []
        for passage in html.unescape(node).split("…"):  # before NFKC, which makes "…" "..."
            core = _flat(passage).strip(" ·,;:()").strip()
            passages.append(" ¶ " if len(core) > 3 and core in self.text else _flat(passage))
        return self.whole.sub(" ¶ ", "…".join(passages))


@pytest.fixture(scope="module")
def site(corpus_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("languages") / "inst"
    app = make_app(copy_instance(corpus_home, home))
    kb = app.extensions["sinergi_kb"]
    draft = kb.create({"title": "Kerja sama draf uji bahasa", "summary": "Draf untuk uji dua bahasa.",
                       "regions": ["Kabupaten Sleman", "Kabupaten Bantul"], "sectors": ["persampahan"],
                       "status": "direncanakan", "obligation": "sukarela", "cooperation_type": "KSDD"},
                      author="editor", state="draft")
    practice = kb.search("", filters={"kind": ["practice"]}, limit=1, facets=()).results[0].id
    records = [kb.get(r["id"], include_deleted=True) for r in kb.store.iter_data()] + [draft]
    inputs = [WASTE, UPLOAD["title"], UPLOAD["summary"], UPLOAD["id"]]
    return {"app": app, "ids": {"draft": draft["id"], "practice": practice},
            "content": RecordContent(records, inputs)}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(messages("en"))


def _client(site, lang: str):
    c = site["app"].test_client()
    assert c.get(f"/lang/{lang}").status_code == 302
    return c


def _pages(site, auth, lang: str) -> dict[str, tuple[int, str]]:
    out = {}
    public, editor = _client(site, lang), _client(site, lang)
    assert auth.login(editor, "editor").status_code == 302
    for name, url in PAGES:
        c = editor if name in SIGNED_IN else public
        r = c.get(url.format(**site["ids"]))
        out[name] = (r.status_code, r.get_data(as_text=True))
    # An upload's preview (kinds and sectors of the records read from the file).
    page = out["upload"][1]
    token = csrf_token(page)
    body = json.dumps(UPLOAD).encode() + b"\n"
    r = editor.post("/kurasi/unggah", data={"csrf_token": token, "file": (io.BytesIO(body), "uji.jsonl")},
                    content_type="multipart/form-data")
    out["upload-preview"] = (r.status_code, r.get_data(as_text=True))
    return out


@pytest.fixture(scope="module")
def rendered(site, auth):
    return {lang: _pages(site, auth, lang) for lang in ("id", "en")}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_page_speaks_one_language(rendered, site, catalogue, lang):
    problems = []
    for name, (status, page) in rendered[lang].items():
        expected = 404 if name.startswith("not-found") else 400 if name in ("proposal-too-short",
                                                                              "proposal-unknown-region") else 200
        assert status == expected, (name, status)
        assert f'<html lang="{lang}">' in page, name
        for message, node in catalogue.wrong(lang, visible_text(page), site["content"]):
            problems.append(f"{name}: {message!r} in {node!r}")
    assert not problems, f"{len(problems)} strings of the other language on {lang} pages:\n" + "\n".join(problems)


def test_pages_show_what_the_check_is_about(rendered):
    """The check above looks at full pages: results and facets, chips, reasons, charts, forms."""
    en, id_ = rendered["en"], rendered["id"]
    assert 'class="hit"' in en["search"][1] and "<h2>Sectors</h2>" in en["search"][1]
    assert "Island: Java ✕" in en["search-filtered"][1] and "Status: Ongoing ✕" in en["search-filtered"][1]
    assert "Pulau: Jawa ✕" in id_["search-filtered"][1]
    assert "shared terms: " in en["proposal-result"][1] and "nearest: ±" in en["proposal-result"][1]
    assert "istilah bersama: " in id_["proposal-result"][1]
    assert "What to ask" in en["proposal-result"][1] and "Visit route" in en["proposal-result"][1]
    assert "Visit route" in en["visit-plan"][1] and "Rute kunjungan" in id_["visit-plan"][1]
    assert "shared terms: " in en["case"][1]
    assert "Written by bundled corpus" in en["case"][1] and "Ditulis oleh korpus bawaan" in id_["case"][1]
    assert "Waste" in en["statistics"][1] and "Persampahan" in id_["statistics"][1]
    assert "Cooperation with other regions" in en["new-record"][1]
    assert "No case or practice relevant to this proposal was found." in en["proposal-no-match"][1]
    assert "There is no page at this address." in en["not-found"][1]
    assert "Island “atlantis” is not a known value" in en["search-unknown-filter"][1]
    assert "The proposal is too short" in en["proposal-too-short"][1]
    assert "Usulan terlalu pendek" in id_["proposal-too-short"][1]
    assert "did you mean: Kabupaten Sleman" in en["proposal-unknown-region"][1]
    assert "Pulau “atlantis” bukan nilai yang dikenal" in id_["search-unknown-filter"][1]


def test_the_check_finds_an_untranslated_string_and_a_leak(site, catalogue):
    """The check fails on what it is for, and not on record content or region names."""
    content = site["content"]
    english_page = "<main><h2>Bidang</h2><p>Written by corpus</p><a>Kota Yogyakarta</a></main>"
    assert [m for m, _ in catalogue.wrong("en", visible_text(english_page), content)] == ["Bidang"]
    indonesian_page = '<main><input placeholder="Search"><p>Page 2 of 5</p><p class="lang"><a>Sign in</a></p></main>'
    assert sorted(m for m, _ in catalogue.wrong("id", visible_text(indonesian_page), content)) == \
        ["Page %(p)d of %(n)d", "Search"]


def test_every_vocabulary_label_has_its_english(catalogue):
    """kb's labels are worded through the catalogue: each needs an English message."""
    from kb.gazetteer import ISLANDS
    from kb.search import FACET_SPECS
    from kb.vocab import COOPERATION_TYPES, SECTORS, STATUSES
    from recommender.reasons import MESSAGES, TEMPLATES

    table = messages("en")
    labels = [*SECTORS.values(), *STATUSES.values(), *COOPERATION_TYPES.values(), *ISLANDS.values(),
              *(s.label for s in FACET_SPECS), *TEMPLATES.values(), *MESSAGES.values()]
    assert [x for x in labels if not table.get(x)] == []
    assert (SOURCE / "en" / "LC_MESSAGES" / "messages.po").exists()


def test_cli_words_reasons_in_the_chosen_language(corpus_home):
    from click.testing import CliRunner

    from webapp.cli import main

    runner = CliRunner()
    args = ["--home", str(corpus_home), "recommend", "--text", WASTE, "--region", "Kota Yogyakarta"]
    indonesian = runner.invoke(main, args)
    english = runner.invoke(main, args + ["--lang", "en"])
    from_env = runner.invoke(main, args, env={"SINERGI_LANG": "en"})
    assert indonesian.exit_code == english.exit_code == from_env.exit_code == 0, english.output
    assert "istilah bersama: " in indonesian.output and "shared terms: " not in indonesian.output
    assert "Similar cases and practices:" in english.output and "shared terms: " in english.output
    assert "istilah bersama" not in english.output and "terdekat" not in english.output
    assert from_env.output == english.output
    peers = runner.invoke(main, ["--home", str(corpus_home), "peers", "--topic", "TPA regional", "--lang", "en",
                                 "--json"])
    rows = __import__("json").loads(peers.output)["peers"]
    assert rows and all(p["why"][0].startswith("relevant cases (") for p in rows)
    assert rows[0]["reasons"][0]["code"] == "relevant_cases"


def test_api_words_why_in_the_requests_language_beside_the_reasons(site):
    c = site["app"].test_client()
    body = {"description": WASTE, "region": "Kota Yogyakarta", "sectors": ["persampahan"]}
    english = c.post("/api/v1/recommend?lang=en", json=body).get_json()
    indonesian = c.post("/api/v1/recommend?lang=id", json=body).get_json()
    assert english["cases"][0]["reasons"] == indonesian["cases"][0]["reasons"]
    assert english["cases"][0]["reasons"][0]["code"] == "shared_terms"
    assert english["cases"][0]["why"][1] == "same sectors: Waste"
    assert indonesian["cases"][0]["why"][1] == "bidang sama: Persampahan"
    assert all("<span" not in w for row in english["partners"] for w in row["why"])  # plain text, not HTML
    peers = c.get("/api/v1/peers?topic=TPA+regional&lang=en").get_json()["peers"]
    assert peers[0]["why"][0].startswith("relevant cases (") and peers[0]["reasons"][0]["code"] == "relevant_cases"
    nothing = c.post("/api/v1/recommend?lang=en", json={"description": "zzzz qqqq xxxx wwww vvvv"}).get_json()
    assert nothing["message_code"] == "no_match" and nothing["message"].startswith("No case or practice")


def test_every_message_of_the_sources_has_its_english():
    """The check above is built from the catalogue, so the catalogue must hold every message the
    sources use (extracted as ``pybabel extract`` does, with babel.cfg) with an English text: a
    new ``_('...')`` without a translation fails here."""
    from pathlib import Path

    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = Path(__file__).resolve().parent.parent
    with (root / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    used = {msg if isinstance(msg, str) else msg[0]
            for _, _, msg, _, _ in extract_from_dir(str(root), method_map, options_map, keywords=keywords)}
    assert len(used) > 200
    table = messages("en")
    assert sorted(m for m in used if not table.get(m)) == []


def test_workers_compiling_the_catalogues_at_once_both_start(tmp_path, monkeypatch):
    """Every worker of a server compiles the catalogues into the instance folder when it starts,
    at the same moment after an upgrade. Here a second compile runs to its end while the first
    is writing (as another worker would): both must finish, leaving a catalogue that reads."""
    import gettext

    from webapp import i18n

    write_mo = i18n.write_mo
    calls = []

    def write_while_another_compiles(f, catalog):
        calls.append(1)
        if len(calls) == 1:
            i18n.compile_catalogs(tmp_path)  # the other worker, start to finish
        write_mo(f, catalog)

    monkeypatch.setattr(i18n, "write_mo", write_while_another_compiles)
    i18n.compile_catalogs(tmp_path)
    assert len(calls) == 2
    with open(tmp_path / "en" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        english = gettext.GNUTranslations(f)
    some = next(iter(k for k, v in messages("en").items() if v != k))
    assert english.gettext(some) == messages("en")[some]
    assert not list(tmp_path.rglob("*.tmp"))
