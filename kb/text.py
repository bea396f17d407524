"""The one text analyzer of Sinergi, for Indonesian and English.

Used by the Whoosh index (through :class:`SinergiTokenizer`) and by the TF-IDF model (through
:func:`terms`). Steps, in order:

1. Unicode NFKC normalisation and case folding.
2. Word tokens; a hyphenated word is split, and a reduplication (``daerah-daerah``) keeps one
   copy.
3. Compounds written split or joined meet (``kerja sama`` / ``kerja-sama`` / ``kerjasama``; the
   bound ``antar daerah`` -> ``antardaerah``).
4. Domain phrases and acronyms add a concept token (``TPA``, ``limbah padat`` and ``pengelolaan
   sampah`` all add ``_sampah``), in both languages, so English and Indonesian texts meet.
5. Stop words are dropped (Sastrawi's list for Indonesian, scikit-learn's for English).
6. Stemming: Sastrawi for Indonesian (cached: it is slow per word), Porter for English.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter import stem as porter_stem

from .vocab import BOUND_PREFIXES, COMPOUNDS, CONCEPTS

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_SIMPLE_WORD = re.compile(r"[^\W_]+")

_WORD_ALIASES = {
    "bekerjasama": "kerjasama", "kerjasamanya": "kerjasama", "dikerjasamakan": "kerjasama",
    "bekerja-sama": "kerjasama",
}

# Words that Sastrawi lists as stop words but that carry meaning here.
_KEEP_ID = {"daerah", "antar", "bersama", "kerja", "sama", "baru", "akhir", "awal", "besar",
            "bagian", "masyarakat", "pihak", "wilayah", "kota", "lintas", "tidak"}
_EXTRA_STOP_ID = {"yg", "dgn", "utk", "dll", "tsb", "pun", "nya"}


def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (the Glasgow IR group's list), read as a literal from
    its module file: importing scikit-learn costs ~120 MB and 2 s, too much for a process that
    only analyzes text (the index writer's analysis processes, the CLI)."""
    import ast
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("sklearn")
        path = Path(next(iter(spec.submodule_search_locations))) / "feature_extraction" / "_stop_words.py"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]
                    and isinstance(node.value, ast.Call) and len(node.value.args) == 1):
                return frozenset(ast.literal_eval(node.value.args[0]))
    except (AttributeError, OSError, StopIteration, SyntaxError, TypeError, ValueError):
        pass
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # the file moved: the slow way

    return frozenset(ENGLISH_STOP_WORDS)


@functools.cache
def stop_words(lang: str) -> frozenset[str]:
    """The stop words of ``lang`` (``id``: Sastrawi's list with Sinergi's changes; ``en``)."""
    if lang == "en":
        return _english_stop_words()
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    words = set(StopWordRemoverFactory().get_stop_words()) | _EXTRA_STOP_ID
    return frozenset(words - _KEEP_ID)


@functools.cache
def _stemmer():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    # Our own lru_cache replaces Sastrawi's unbounded dict cache: stem through the inner stemmer.
    stemmer = StemmerFactory().create_stemmer()
    return getattr(stemmer, "delegatedStemmer", stemmer)


# Sastrawi only ever changes a word that starts with one of its prefixes (including the pronoun
# prefixes ku- and kau-), ends with one of its suffixes or carries an infix (-el-, -em-, -er-, -in-
# after the first letter); any other word comes back unchanged, so it need not be run (it costs
# ~1 ms a word).
_SASTRAWI_PREFIXES = ("di", "ke", "se", "be", "me", "pe", "te", "ku", "kau")
_SASTRAWI_SUFFIXES = ("i", "is", "kan", "an", "lah", "kah", "tah", "pun", "nya", "ku", "mu")
_SASTRAWI_INFIXES = frozenset({"el", "em", "er", "in"})


@functools.lru_cache(maxsize=200_000)
def stem_id(word: str) -> str:
    """Stem one Indonesian word with Sastrawi (cached)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if (not word.startswith(_SASTRAWI_PREFIXES) and not word.endswith(_SASTRAWI_SUFFIXES)
            and word[1:3] not in _SASTRAWI_INFIXES):
        return word
    return _stemmer().stem_word(word)


@functools.lru_cache(maxsize=200_000)
def stem_en(word: str) -> str:
    """Stem one English word with the Porter stemmer (cached)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    return porter_stem(word)


def _region_phrases() -> dict[str, list[str]]:
    """Region names as concept phrases: ``Nusa Tenggara Timur`` and ``Kab. Sleman`` add the
    region's token (``_r53``, ``_r3404``). A one-word name that is also an Indonesian root word
    (``malang``, ``tegal``) is left out: only its longer forms (``Kota Malang``) count."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    from .gazetteer import gazetteer

    roots = set(StemmerFactory().get_words_from_file())
    out: dict[str, list[str]] = {}
    for alias, codes in gazetteer().aliases().items():
        if " " not in alias and (alias in roots or len(alias) < 4):
            continue
        out.setdefault(alias, []).extend(region_token(c) for c in sorted(codes))
    return out


def region_token(code: str) -> str:
    """The token a region's name becomes in analysed text: ``_r`` and its code's digits
    (``33.74`` → ``_r3374``)."""
    return "_r" + code.replace(".", "")


def token_region(term: str) -> str | None:
    """The region code of a region token (``_r3374`` → ``33.74``), else ``None``."""
    digits = term[2:]
    if not (term.startswith("_r") and digits.isdigit() and len(digits) in (2, 4)):
        return None
    return digits[:2] + ("." + digits[2:] if len(digits) > 2 else "")


def concept_words(term: str) -> str | None:
    """The words a concept token stands for (``_airminum`` → ``air minum``), else ``None``."""
    phrases = CONCEPTS.get(term)
    return phrases[0] if phrases else None


def _build_phrases() -> tuple[dict[tuple[str, ...], list[str]], int, frozenset[str]]:
    table: dict[tuple[str, ...], list[str]] = {}
    groups: dict[str, list[str]] = {}
    for concept, phrases in CONCEPTS.items():
        for phrase in phrases:
            groups.setdefault(phrase, []).append(concept)
    for alias, tokens in _region_phrases().items():
        groups.setdefault(alias, []).extend(tokens)
    for phrase, concepts in groups.items():
        for concept in concepts:
            words = tuple(w for w, _, _ in _join(list(_raw_words(phrase))))
            table.setdefault(words, [])
            if concept not in table[words]:
                table[words].append(concept)
    return table, max(len(k) for k in table), frozenset(k[0] for k in table)


def normalize(text: str) -> str:
    """NFKC-normalise ``text`` (spans of the analyzer refer to this form)."""
    return unicodedata.normalize("NFKC", text or "")


# Markdown markup a reader must not see in a snippet (the text between stays).
_MD_BLOCK = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|(?:[-*+]|\d{1,9}[.)])[ \t]+)", re.M)
_MD_RULE = re.compile(r"^[ \t]{0,3}(?:[-*_][ \t]*){3,}$", re.M)
_MD_IMAGE_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~)(?=\S)(.+?)(?<=\S)\1(?!\w)", re.S)
_MD_CODE = re.compile(r"`+([^`\n]*)`+")
_MD_ANY = re.compile(r"[*_`~\[\\]|^[ \t]{0,3}(?:#|>|[-+] |-{3}|\d{1,9}[.)][ \t])", re.M)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")


def plain_text(markdown: str) -> str:
    """``markdown`` as a reader sees it rendered, as plain text: headings, quotes, list markers,
    rules, emphasis (``**``, ``_``, ``~~``), code ticks and link targets removed, their text kept
    (snippets are cut from this, never showing a literal ``**``). An underscore inside a word
    (``snake_case``) is not emphasis and stays."""
    if not markdown or not _MD_ANY.search(markdown):  # most summaries and lessons: nothing to do
        return markdown or ""
    text = markdown
    if "\n" in text or _MD_BLOCK.match(text) or _MD_RULE.match(text):
        text = _MD_BLOCK.sub("", _MD_RULE.sub("", text))
    if "[" in text:
        text = _MD_IMAGE_LINK.sub(r"\1", text)
    if "`" in text:
        text = _MD_CODE.sub(r"\1", text)
    previous = None
    while previous != text and any(c in text for c in "*_~"):  # nested emphasis (***a** b*)
        previous, text = text, _MD_EMPHASIS.sub(lambda m: m.group(2) if _emphasis(m) else m.group(0), text)
    return _MD_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _emphasis(m: re.Match) -> bool:
    """Underscores count as emphasis only at word edges (``_kata_``), not inside ``a_b_c``."""
    if not m.group(1).startswith("_"):
        return True
    before = m.string[m.start() - 1] if m.start() else " "
    return not before.isalnum()


def _raw_words(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _WORD.finditer(text):
        word = m.group().casefold().replace("’", "'")
        start = m.start()
        if "-" in word:
            parts = [p for p in word.split("-") if p]
            if word in _WORD_ALIASES:
                yield _WORD_ALIASES[word], start, m.end()
                continue
            if len(set(parts)) == 1:  # reduplication: daerah-daerah
                yield parts[0], start, m.end()
                continue
            offset = start
            for p in parts:
                yield p, offset, offset + len(p)
                offset += len(p) + 1
            continue
        if "'" in word:  # English possessive
            word = word.split("'")[0]
        yield _WORD_ALIASES.get(word, word), start, m.end()


_COMPOUND_SET = set(COMPOUNDS)


def _join(words: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    i = 0
    while i < len(words):
        w, s, e = words[i]
        if i + 1 < len(words):
            w2, s2, e2 = words[i + 1]
            if (w, w2) in _COMPOUND_SET or (w in BOUND_PREFIXES and w2.isalpha() and w != "lintas"):
                joined = w + w2
                out.append((_WORD_ALIASES.get(joined, joined), s, e2))
                i += 2
                continue
            if w == "bekerja" and w2 == "sama":
                out.append(("kerjasama", s, e2))
                i += 2
                continue
        out.append((w, s, e))
        i += 1
    return out


def _index_words(text: str) -> list[str]:
    """The words of :func:`_raw_words` without their spans (the index writer's form: a word
    with a hyphen or an apostrophe, the rare case, goes through :func:`_raw_words` itself)."""
    out: list[str] = []
    aliases = _WORD_ALIASES
    for word in _WORD.findall(text):
        if "-" in word or "'" in word or "’" in word:
            out.extend([w for w, _, _ in _raw_words(word)])
        else:
            word = word.casefold()
            out.append(aliases.get(word, word))
    return out


def _join_words(words: list[str]) -> list[str]:
    """:func:`_join` of words without their spans."""
    out: list[str] = []
    i, n = 0, len(words)
    compounds, prefixes = _COMPOUND_SET, BOUND_PREFIXES
    while i < n:
        w = words[i]
        if i + 1 < n:
            w2 = words[i + 1]
            if (w, w2) in compounds or (w in prefixes and w2.isalpha() and w != "lintas"):
                joined = w + w2
                out.append(_WORD_ALIASES.get(joined, joined))
                i += 2
                continue
            if w == "bekerja" and w2 == "sama":
                out.append("kerjasama")
                i += 2
                continue
        out.append(w)
        i += 1
    return out


def index_positions(text: str, lang: str = "id") -> tuple[dict[str, list[int]], int]:
    """``(term -> its positions, number of terms)`` of ``text``: the terms and positions of
    :func:`analyze_tuples` (spans left out), grouped by term in order of first appearance.
    This is what the index writer stores; it is several times cheaper than building tuples."""
    words = _join_words(_index_words(normalize(text)))
    phrases, longest, starts = _phrases()
    stops = stop_words("en" if lang == "en" else "id")
    stemmer = stem_en if lang == "en" else stem_id
    poses: dict[str, list[int]] = {}
    n = len(words)
    count = 0
    skip_until = 0
    for i, w in enumerate(words):
        if i >= skip_until and w in starts:
            for size in range(min(longest, n - i), 0, -1):
                concepts = phrases.get(tuple(words[i:i + size]))
                if concepts:
                    for c in concepts:
                        p = poses.get(c)
                        if p is None:
                            poses[c] = [i]
                        else:
                            p.append(i)
                    count += len(concepts)
                    if size > 1:
                        skip_until = i + size
                    break
        if i < skip_until or w in stops:
            continue
        t = stemmer(w)
        p = poses.get(t)
        if p is None:
            poses[t] = [i]
        else:
            p.append(i)
        count += 1
    return poses, count


@dataclass(frozen=True, slots=True)
class Term:
    """One analyzed term: its text, position and span in the normalised input."""

    text: str
    pos: int
    start: int
    end: int


def analyze(text: str, lang: str = "id", *, stem: bool = True) -> list[Term]:
    """Analyze ``text`` in language ``lang`` (``id`` or ``en``) into terms with positions."""
    return [Term(*t) for t in analyze_tuples(text, lang, stem=stem)]


def analyze_tuples(text: str, lang: str = "id", *, stem: bool = True) -> list[tuple[str, int, int, int]]:
    """:func:`analyze` as ``(text, pos, start, end)`` tuples (cheaper: the index writer's form)."""
    text = normalize(text)
    words = _join(list(_raw_words(text)))
    phrases, longest, starts = _phrases()
    stops = stop_words("en" if lang == "en" else "id")
    stemmer = stem_en if lang == "en" else stem_id
    out: list[tuple[str, int, int, int]] = []
    n = len(words)
    skip_until = 0
    for i, (w, s, e) in enumerate(words):
        if i >= skip_until and w in starts:
            # The longest phrase that starts here adds its concept tokens. A phrase of several
            # words stands for them all ("luar negeri" is not "negeri"); a one-word phrase
            # ("TPA") keeps its own word too.
            for size in range(min(longest, n - i), 0, -1):
                key = tuple(x[0] for x in words[i:i + size])
                concepts = phrases.get(key)
                if concepts:
                    end = words[i + size - 1][2]
                    for c in concepts:
                        out.append((c, i, s, end))
                    if size > 1:
                        skip_until = i + size
                    break
        if i < skip_until or w in stops:
            continue
        out.append((stemmer(w) if stem else w, i, s, e))
    return out


def quick_matches(text: str, wanted: set[str] | frozenset[str], lang: str = "id", *,
                  limit: int | None = None) -> list[Term]:
    """The single words of normalised ``text`` whose stem is in ``wanted``, found without the
    phrase and compound steps of :func:`analyze` (several times faster; for highlighting, which
    falls back to :func:`analyze` when this finds nothing). With ``limit``, stop after that many
    matches once every wanted term was seen, or after ``4 × limit`` in any case.

    Only words holding a wanted term's core (:func:`_candidates`) are stemmed; they are found
    with ``str.find`` on the case-folded text, each hit widened to its word."""
    cores, acronyms = _candidates(frozenset(wanted))
    if not cores:
        return []
    folded = text.casefold()
    if len(folded) != len(text):  # a letter whose case folding changes the length (ß -> ss)
        return _quick_matches_by_word(text, wanted, lang, cores, acronyms, limit)
    starts: set[int] = set()
    for core in cores:
        i = folded.find(core)
        while i >= 0:
            start = i
            while start and folded[start - 1].isalnum():
                start -= 1
            starts.add(start)
            m = _SIMPLE_WORD.match(folded, i)
            i = folded.find(core, m.end() if m else i + 1)
    return _confirm(((start, _SIMPLE_WORD.match(folded, start)) for start in sorted(starts)),
                    wanted, lang, acronyms, limit)


def _quick_matches_by_word(text, wanted, lang, cores, acronyms, limit) -> list[Term]:
    words = ((m.start(), m) for m in _SIMPLE_WORD.finditer(text)
             if any(core in m.group().casefold() for core in cores))
    return _confirm(words, wanted, lang, acronyms, limit)


def _confirm(words, wanted, lang, acronyms: dict[str, str], limit: int | None) -> list[Term]:
    """The candidate words (``(start, match)``, in text order) that are an acronym of a wanted
    concept or stem to a wanted term."""
    stops = stop_words("en" if lang == "en" else "id")
    stemmer = stem_en if lang == "en" else stem_id
    out = []
    seen: set[str] = set()
    for start, m in words:
        w = m.group().casefold()
        t = acronyms.get(w)
        if t is None:
            if w in stops:
                continue
            t = stemmer(w)
            if t not in wanted:
                continue
        out.append(Term(t, 0, start, m.end()))
        if limit is not None:
            seen.add(t)
            if len(out) >= 4 * limit or (len(out) >= limit and len(seen) == len(wanted)):
                break
    return out


@functools.lru_cache(maxsize=256)
def _candidates(wanted: frozenset[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """What a word must hold to possibly analyze to one of ``wanted``: a term's core (its first
    and last letters may change: menyapu -> sapu, happy -> happi), or a one-word phrase
    (acronym such as TPA) of a wanted concept; and those acronyms with their concept."""
    one_word = _one_word_phrases()
    acronyms = {word: concept for concept in wanted if concept.startswith("_")
                for word in one_word.get(concept, ())}
    cores = {t[1:-1] if len(t) >= 5 else t[1:] if len(t) == 4 else t for t in wanted if not t.startswith("_")}
    parts = {p.casefold() for p in cores | set(acronyms) if p}
    # A part holding another part finds nothing more: keep the shorter.
    kept = tuple(sorted(p for p in parts if not any(q != p and q in p for q in parts)))
    return kept, acronyms


@functools.cache
def _one_word_phrases() -> dict[str, list[str]]:
    """``{concept: [words]}`` for the phrases of one word (acronyms such as TPA)."""
    out: dict[str, list[str]] = {}
    for key, concepts in _phrases()[0].items():
        if len(key) == 1:
            for concept in concepts:
                out.setdefault(concept, []).append(key[0])
    return out


def terms(text: str, lang: str = "id") -> list[str]:
    """The analyzed terms of ``text`` as plain strings (the TF-IDF analyzer)."""
    return [t.text for t in analyze(text, lang)]


@functools.cache
def _phrases() -> tuple[dict[tuple[str, ...], list[str]], int, frozenset[str]]:
    """The phrase table (concept phrases and region names), built on first use: it reads the
    gazetteer and Sastrawi's dictionary."""
    return _build_phrases()


def joined_words(text: str) -> list[str]:
    """The words of ``text`` as :func:`analyze` numbers their positions (compounds and bound
    prefixes joined), before phrases, stop words and stemming."""
    return [w for w, _, _ in _join(list(_raw_words(normalize(text))))]


@functools.cache
def phrase_parts() -> tuple[frozenset[str], frozenset[str]]:
    """``(heads, tails)``: the words that start or continue a multi-word concept phrase
    (``air`` in ``air minum``; ``minum``, ``bandung`` in ``kota bandung``)."""
    heads: set[str] = set()
    tails: set[str] = set()
    for key in _phrases()[0]:
        if len(key) > 1:
            heads.update(key[:-1])
            tails.update(key[1:])
    return frozenset(heads), frozenset(tails)
_PLAIN_CHUNK = re.compile(r"^[^\W_]+(?:-[^\W_]+)*$")


def glue_phrases(query: str) -> str:
    """Join the known multi-word phrases of a query with ``+`` so a query parser that splits on
    spaces hands them to :func:`analyze` whole (``air minum`` -> ``air+minum``)."""
    chunks = query.split()
    phrases, longest, _ = _phrases()
    out: list[str] = []
    i = 0
    while i < len(chunks):
        glued = False
        for size in range(min(longest, len(chunks) - i), 1, -1):
            part = chunks[i:i + size]
            if not all(_PLAIN_CHUNK.match(c) and c not in ("AND", "OR", "NOT", "TO") for c in part):
                continue
            ws = _join(list(_raw_words(" ".join(part))))
            key = tuple(w for w, _, _ in ws)
            if len(ws) == 1 or key in phrases:
                out.append("+".join(part))
                i += size
                glued = True
                break
        if not glued:
            out.append(chunks[i])
            i += 1
    return " ".join(out)


class SinergiTokenizer(Tokenizer):
    """Whoosh adapter of :func:`analyze` (one instance per language)."""

    def __init__(self, lang: str = "id"):
        self.lang = lang

    def __eq__(self, other):
        return isinstance(other, SinergiTokenizer) and other.lang == self.lang

    def __hash__(self):
        return hash(("SinergiTokenizer", self.lang))

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        for term in analyze(value, self.lang):
            t.text = term.text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = term.text
            if positions:
                t.pos = start_pos + term.pos
            if chars:
                t.startchar = start_char + term.start
                t.endchar = start_char + term.end
            yield t
