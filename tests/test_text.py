from kb.base import corpus_files
from kb.documents import document_for
from kb.io import iter_file
from kb.text import analyze, analyze_tuples, index_positions, terms


def test_kerjasama_spellings_meet():
    assert terms("kerjasama") == terms("kerja sama") == terms("kerja-sama") == terms("bekerja sama")


def test_antar_daerah_spellings_meet():
    assert terms("antar daerah") == terms("antardaerah") == terms("antar-daerah")


def test_reduplication_keeps_one_word():
    assert terms("daerah-daerah") == terms("daerah")


def test_stemming_and_stop_words():
    t = terms("pengelolaan persampahan di daerah yang padat")
    assert "kelola" in t and "sampah" in t
    assert "yang" not in t and "di" not in t


def test_waste_synonyms_share_a_concept():
    for phrase in ("sampah", "persampahan", "limbah padat", "TPA", "TPST", "TPPAS", "landfill"):
        assert "_sampah" in terms(phrase), phrase


def test_water_synonyms_share_a_concept():
    for phrase in ("air minum", "air bersih", "SPAM", "PDAM", "drinking water"):
        assert "_airminum" in terms(phrase), phrase


def test_agglomeration_names():
    assert "_jabodetabek" in terms("Jabodetabek") and "_jabodetabek" in terms("Jabodetabekjur")
    assert "_kartamantul" in terms("Kartamantul")
    assert "_mebidangro" in terms("Mebidangro")
    assert "_sarbagita" in terms("SARBAGITA")


def test_english_analysis_stems_and_drops_stop_words():
    t = terms("The managing of regional landfills", "en")
    assert "the" not in t and "of" not in t
    assert "landfil" in t and "manag" in t


def test_spans_point_into_the_original_text():
    text = "Kerja sama pengelolaan TPA"
    for term in analyze(text):
        assert 0 <= term.start < term.end <= len(text)
    tpa = [t for t in analyze(text) if t.text == "tpa"][0]
    assert text[tpa.start:tpa.end] == "TPA"


def test_stemming_shortcut_sends_pronoun_prefixed_words_to_sastrawi():
    """Words with the pronoun prefixes ku-/kau- (kupukul, kaubawa) are stemmed, not passed through."""
    from kb.text import _stemmer, stem_id

    for word in ("kupukul", "kaubawa", "kutim"):
        assert stem_id(word) == _stemmer().stem_word(word), word
    assert stem_id("kupukul") == "pukul"


def test_stemming_shortcut_agrees_with_sastrawi_on_the_corpus_words():
    """The fast path that skips Sastrawi for words it cannot change must give its exact answer."""
    import json
    import re
    from pathlib import Path

    from kb.text import _stemmer, stem_id

    words = set()
    root = Path(__file__).resolve().parent.parent / "corpus"
    for f in root.glob("*/*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            words |= {w.lower() for w in re.findall(r"[A-Za-z]+", d.get("body", "") + " " + d.get("summary", ""))}
    assert len(words) > 3000
    stemmer = _stemmer()
    for w in words:
        if len(w) > 3:
            assert stem_id(w) == stemmer.stem_word(w), w


def test_quick_matches_finds_exactly_the_words_that_stem_to_wanted_terms():
    """The highlighter's shortcut equals the obvious word-by-word check on real texts."""
    import random

    from kb.base import corpus_files
    from kb.io import read_file
    from kb.text import _SIMPLE_WORD, _candidates, normalize, stop_words, quick_matches, stem_en, stem_id

    texts = [(normalize(" ".join(str(r.data.get(k, "")) for k in ("title", "summary", "body"))),
              r.data.get("language", "id")) for path in corpus_files() for r in read_file(path)]
    texts.append(("Straße und STRASSE: ßa der Müll, İstanbul sampah TPA", "id"))  # case folding changes lengths
    rng = random.Random(4)
    checked = 0
    for text, lang in rng.sample(texts, 40) + texts[-1:]:
        stem = stem_en if lang == "en" else stem_id
        stems = [t.text for t in analyze(text, lang)]
        wanted = frozenset(rng.sample(stems, min(4, len(stems))) + ["_sampah", "xyzzy"])
        cores, acronyms = _candidates(wanted)
        expected = []
        for m in _SIMPLE_WORD.finditer(text):
            w = m.group().casefold()
            if w in acronyms:
                expected.append((acronyms[w], m.start(), m.end()))
            elif (any(c in w for c in cores) and w not in stop_words("en" if lang == "en" else "id")
                  and stem(w) in wanted):
                expected.append((stem(w), m.start(), m.end()))
        got = [(t.text, t.start, t.end) for t in quick_matches(text, wanted, lang)]
        assert got == expected, text[:80]
        checked += bool(expected)
    assert checked > 20
    limited = quick_matches("sampah " * 50 + "air", frozenset({"sampah", "air"}), "id", limit=3)
    assert len(limited) == 12  # 4 x limit when not every wanted term was seen by then


def test_region_names_written_with_hyphens_or_dotted_acronyms_add_the_region():
    assert "_r7209" in terms("Kabupaten Tojo Una-Una") and "_r7209" in terms("Tojo Una Una")
    assert "_r7204" in terms("Kabupaten Toli-Toli")
    assert "_r34" in terms("D.I. Yogyakarta") and "_r3471" not in terms("D.I. Yogyakarta")
    assert "_r31" in terms("D.K.I. Jakarta")


def test_plain_text_leaves_out_markdown_markup_and_keeps_the_words():
    from kb.text import plain_text

    assert plain_text("**Latar belakang.** Tiga daerah") == "Latar belakang. Tiga daerah"
    assert plain_text("# Judul\n\nIsi *miring*, __tebal__ dan ~~coret~~") == "Judul\n\nIsi miring, tebal dan coret"
    assert plain_text("- butir satu\n- butir **dua**\n2. nomor") == "butir satu\nbutir dua\nnomor"
    assert plain_text("[tautan](https://contoh.id/a) dan `kode` dan \\*bintang") == "tautan dan kode dan *bintang"
    assert plain_text("> kutipan\n\n---\n***a** b*") == "kutipan\n\n\na b"
    # Not markup: an underscore inside a word, a lone asterisk, a year.
    assert plain_text("snake_case_name, 5 * 3, tahun 2024") == "snake_case_name, 5 * 3, tahun 2024"


def _grouped(text: str, lang: str) -> tuple[dict[str, list[int]], int]:
    poses: dict[str, list[int]] = {}
    tuples = analyze_tuples(text, lang)
    for term, pos, _, _ in tuples:
        poses.setdefault(term, []).append(pos)
    return poses, len(tuples)


def test_the_index_writers_analysis_gives_the_terms_and_positions_of_the_full_analysis():
    # index_positions is the writer's fast path; a term it gives differently from analyze
    # (what queries go through) would never be found.
    texts = [
        "Kerja sama antar-daerah: daerah-daerah bekerja sama; Kab. Sleman's plan’s non-APBD",
        "İstanbul STRASSE straße ﬁnance ＡＢＣ １２３ lintas batas antarkota TPA/TPST",
        "", "-", "'a' ’b’ a--b a-'b", "bekerja-sama bekerjasama dikerjasamakan kerjasamanya",
        "Pemerintah Kota Yogyakarta, Kabupaten Sleman dan Kabupaten Bantul (Kartamantul) "
        "mengelola sampah di TPST Piyungan bersama-sama sejak 2001.",
    ]
    for path in corpus_files():
        for item in iter_file(path):
            texts += [v for v in document_for(item.data).values() if isinstance(v, str)]
    assert len(texts) > 100
    for lang in ("id", "en"):
        for text in texts:
            got = index_positions(text, lang)
            want = _grouped(text, lang)
            assert got == want and list(got[0]) == list(want[0]), (lang, text[:80])
