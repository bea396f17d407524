"""TF-IDF similarity over cases and practices, with scikit-learn's estimator conventions.

The vectorizer uses the shared analyzer of :mod:`kb.text` (so ``pengelolaan sampah`` meets
``persampahan``, and English proposals meet Indonesian cases through the concept tokens), with
field weights applied by repeating a field's terms and sublinear tf. Similarity is the cosine,
computed as a sparse matrix times a dense query vector.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from kb.gazetteer import gazetteer
from kb.documents import record_texts
from kb.text import analyze, concept_words, stop_words, terms, token_region

DEFAULT_FIELD_WEIGHTS = {"title": 3, "summary": 2, "lessons": 1, "meta": 1, "body": 1}


_EN_HINTS = frozenset("the and of to in for with is are this that our we will from by on".split())


def guess_language(text: str) -> str:
    """``en`` when English function words outnumber Indonesian ones, else ``id``."""
    words = re.findall(r"[a-z]+", text.lower())
    en = sum(w in _EN_HINTS for w in words)
    idn = sum(w in stop_words("id") for w in words)
    return "en" if en > idn else "id"


def _idf_by_language(matrix: sparse.csr_matrix, languages: np.ndarray, vocabulary: np.ndarray,
                     idf: np.ndarray) -> np.ndarray:
    """Idf where a word's rarity is judged among the records of its own language.

    A language's words (stems) occur almost only in its records: over the whole corpus, the
    everyday words of the smaller language ("city", "regency", "resident") look as rare as
    topic words and outweigh them. A word whose records are all of one language gets the
    smoothed idf over that language's records; the concept and region tokens, shared by both
    languages, and words found in both keep the idf over all records."""
    present = (matrix > 0).astype(np.float32).tocsc()
    out = idf.copy()
    shared = np.array([t.startswith("_") for t in vocabulary])
    langs = sorted(set(languages))
    df = {lang: np.asarray(present[np.flatnonzero(languages == lang)].sum(axis=0)).ravel() for lang in langs}
    for lang in langs:
        others = sum((df[o] for o in langs if o != lang), np.zeros_like(df[lang]))
        only = (df[lang] > 0) & (others == 0) & ~shared
        n = int((languages == lang).sum())
        out[only] = np.log((1 + n) / (1 + df[lang][only])) + 1
    return out.astype(idf.dtype)


def _pre_analyzed(doc: list[str]) -> list[str]:
    """Documents reach the vectorizer already analyzed (a named function: models are pickled)."""
    return doc


# The fitted matrix is also kept by column (for scoring a proposal by its terms only) up to this
# many stored values (8 bytes each). The copy is saved with the model and memory-mapped by every
# worker, so it costs page cache once per machine, not memory per process: at 100k synthetic
# records (~18M values) it is ~144 MB, and a recommendation reads only its terms' columns
# instead of multiplying the whole matrix.
MAX_COLUMN_COPY_NNZ = 64_000_000


class CaseSimilarity(BaseEstimator):
    """Cosine similarity between texts and the records of the knowledge base.

    Parameters
    ----------
    field_weights : dict, optional
        How many times each field's terms count (title, summary, lessons, meta, body).
    sublinear_tf : bool
        Use ``1 + log(tf)``.
    min_df : int
        Ignore terms in fewer documents than this.
    max_df : float
        Ignore terms in more than this share of documents (the corpus's own stop words).
    """

    def __init__(self, field_weights: dict | None = None, sublinear_tf: bool = True, min_df: int = 1,
                 max_df: float = 0.9):
        self.field_weights = field_weights
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.max_df = max_df

    def _doc_terms(self, rec: dict) -> list[str]:
        weights = self.field_weights or DEFAULT_FIELD_WEIGHTS
        lang = rec.get("language", "id")
        out: list[str] = []
        for name, text in record_texts(rec, facet_labels=False).items():
            if text:
                out += terms(text, lang) * int(weights.get(name, 1))
        return out

    def fit(self, records: Sequence[dict], y=None):
        """Learn the vocabulary, idf and the record matrix from ``records``.

        Parameters
        ----------
        records : sequence of dict
            Canonical record data (as stored), each with ``id`` and ``version``.

        Returns
        -------
        self
        """
        records = list(records)
        self.ids_ = [r["id"] for r in records]
        self.versions_ = {r["id"]: r.get("version", 1) for r in records}
        self.index_ = {rid: i for i, rid in enumerate(self.ids_)}
        self.vectorizer_ = TfidfVectorizer(analyzer=_pre_analyzed, sublinear_tf=self.sublinear_tf,
                                           min_df=self.min_df, max_df=self.max_df if len(records) > 20 else 1.0,
                                           dtype=np.float32)
        docs = [self._doc_terms(r) for r in records]
        if records:
            self.matrix_ = self.vectorizer_.fit_transform(docs).tocsr()
            self.vocabulary_ = np.array(self.vectorizer_.get_feature_names_out())
            languages = np.array([r.get("language", "id") for r in records])
            if len(set(languages)) > 1:
                self.vectorizer_.idf_ = _idf_by_language(self.matrix_, languages, self.vocabulary_,
                                                         self.vectorizer_.idf_)
                self.matrix_ = self.vectorizer_.transform(docs).tocsr()
        else:
            self.matrix_ = sparse.csr_matrix((0, 0), dtype=np.float32)
            self.vocabulary_ = np.array([])
        self.base_rows_ = len(records)
        self.extra_ = None            # rows added by with_changes, after the fitted ones
        self.alive_ = np.ones(len(records), dtype=np.float32)  # 0 for superseded/removed rows
        self.sectors_ = _rows_by_sector(records, 0)  # sector -> its records' rows (see rows_in_sector)
        return self

    def rows_in_sector(self, sector: str) -> np.ndarray | None:
        """The rows of the records of ``sector`` (superseded ones too: ``alive_`` zeroes those);
        ``None`` for a model saved without them (read the records instead)."""
        by_sector = getattr(self, "sectors_", None)
        if by_sector is None:
            return None
        return by_sector.get(sector, _NO_ROWS)

    def with_changes(self, records: Sequence[dict], removed: Iterable[str] = ()) -> CaseSimilarity:
        """A copy of the model in which ``records`` (added or edited) have their current text and
        ``removed`` ids are gone; the fitted model is left as it is for readers still using it.

        Vocabulary and idf stay those of the last fit: a term that no fitted record has is not
        counted until the next :meth:`fit`. The changed rows live in a small matrix beside the
        fitted one, so the cost is that of the changed records, not of the corpus.
        """
        check_is_fitted(self, "matrix_")
        records = list(records)
        new = copy.copy(self)  # shares the fitted matrix and its column copy
        new.ids_ = list(self.ids_)
        new.index_ = dict(self.index_)
        new.versions_ = dict(self.versions_)
        new.alive_ = self.alive_.copy()
        gone = set(removed) | {r["id"] for r in records}
        for rid in gone:
            i = new.index_.pop(rid, None)
            new.versions_.pop(rid, None)
            if i is not None:
                new.alive_[i] = 0.0
        if records:
            if len(records) <= 16:  # a save or a few: the one-document path (no per-call validation)
                rows = sparse.vstack([self._vector(self._doc_terms(r)) for r in records], format="csr")
            else:
                rows = self.vectorizer_.transform([self._doc_terms(r) for r in records]).astype(np.float32)
            new.extra_ = rows.tocsr() if self.extra_ is None else sparse.vstack([self.extra_, rows], format="csr")
            for r in records:
                new.index_[r["id"]] = len(new.ids_)
                new.ids_.append(r["id"])
                new.versions_[r["id"]] = r.get("version", 1)
            first = len(new.alive_)
            new.alive_ = np.concatenate([new.alive_, np.ones(len(records), dtype=np.float32)])
            if getattr(self, "sectors_", None) is not None:  # the sectors' row lists, extended
                added = _rows_by_sector(records, first)
                new.sectors_ = {**self.sectors_, **{
                    sector: np.concatenate([self.sectors_.get(sector, _NO_ROWS), rows]) for sector, rows in added.items()}}
        return new

    @property
    def patched_rows_(self) -> int:
        """How many rows were added or superseded since the fit (a full refit resets this)."""
        extra = 0 if self.extra_ is None else self.extra_.shape[0]
        return extra + int(self.base_rows_ - self.alive_[: self.base_rows_].sum())

    def _row(self, i: int) -> sparse.csr_matrix:
        if i < self.base_rows_:
            return self.matrix_[i]
        return self.extra_[i - self.base_rows_]

    def transform_text(self, text: str, lang: str | None = None, *, analyzed: list | None = None) -> sparse.csr_matrix:
        """The TF-IDF vector (1 × vocabulary) of a free text (``analyzed``: its terms from
        :func:`kb.text.analyze`, when the caller has them already)."""
        check_is_fitted(self, "matrix_")
        lang = lang or guess_language(text)
        if not self.ids_:
            return sparse.csr_matrix((1, 0), dtype=np.float32)
        # Place names say where, not what: the topic alone decides similarity (the region logic
        # of peers and partners handles place).
        if analyzed is None:
            analyzed = analyze(text, lang)
        places = {t.pos for t in analyzed if _is_region_token(t.text)}
        return self._vector([t.text for t in analyzed if t.pos not in places])

    def _vector(self, doc_terms: list[str]) -> sparse.csr_matrix:
        """``vectorizer_.transform([doc_terms])`` for one document, without scikit-learn's
        per-call validation (~1 ms of a recommend request): counts of the known terms, tf
        (sublinear if so fitted) × idf, l2-normalised (the tests compare the two)."""
        vocab = self.vectorizer_.vocabulary_
        counts: dict[int, int] = {}
        for term in doc_terms:
            j = vocab.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        n = len(vocab)
        if not counts:
            return sparse.csr_matrix((1, n), dtype=np.float32)
        cols = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        tf = np.array([counts[j] for j in cols.tolist()], dtype=np.float64)
        if self.vectorizer_.sublinear_tf:
            tf = np.log(tf) + 1.0
        vals = tf * self.vectorizer_.idf_[cols]
        norm = np.sqrt(np.dot(vals, vals))
        if norm > 0:
            vals = vals / norm
        return sparse.csr_matrix((vals.astype(np.float32), cols, np.array([0, cols.size], dtype=np.int32)),
                                 shape=(1, n))

    @staticmethod
    def dense(qvec: sparse.csr_matrix) -> np.ndarray:
        """The query vector as a dense 1-d array (computed once per request)."""
        return np.asarray(qvec.todense(), dtype=np.float32).ravel()

    def scores(self, qvec: sparse.csr_matrix, dense: np.ndarray | None = None) -> np.ndarray:
        """Similarity of every record to the query vector ``qvec``."""
        check_is_fitted(self, "matrix_")
        if qvec.shape[1] == 0 or qvec.nnz == 0:
            return np.zeros(len(self.ids_), dtype=np.float32)
        columns = self._columns()
        if columns is not None:
            # Only the columns of the query's terms: a proposal has tens of terms, the
            # vocabulary tens of thousands (~3 ms -> ~0.3 ms at 10k records).
            sims = np.asarray(columns[:, qvec.indices] @ qvec.data.astype(np.float32)).ravel()
        else:
            if dense is None:
                dense = self.dense(qvec)
            sims = np.asarray(self.matrix_ @ dense).ravel()
        if self.extra_ is not None:
            if dense is None:
                dense = self.dense(qvec)
            sims = np.concatenate([sims, np.asarray(self.extra_ @ dense).ravel()])
        return sims * self.alive_

    def prepare(self) -> None:
        """Build what scoring needs beside the fitted matrix (its column copy), unless it is
        there already (a loaded model brings the saved one)."""
        if hasattr(self, "matrix_"):
            self._columns()

    def _columns(self) -> sparse.csc_matrix | None:
        """The fitted matrix by column (built on first use, saved with the model so that every
        process maps one copy), up to ``MAX_COLUMN_COPY_NNZ`` values; else None (score by row)."""
        columns = self.__dict__.get("_columns_")
        if columns is None and self.matrix_.nnz <= MAX_COLUMN_COPY_NNZ and self.matrix_.shape[0]:
            columns = self.__dict__["_columns_"] = self.matrix_.tocsc()
        return columns


    def record_vector(self, record_id: str) -> sparse.csr_matrix:
        check_is_fitted(self, "matrix_")
        return self._row(self.index_[record_id])

    def shared_terms(self, qvec: sparse.csr_matrix, record_id: str, k: int = 6, *,
                     dense: np.ndarray | None = None) -> list[str]:
        """The ``k`` terms that contribute most to a record's similarity with ``qvec``, as a
        person reads them, each once: a concept and its own word (``_kpbu`` and ``kpbu``) read
        the same and are named once."""
        if dense is None:
            dense = self.dense(qvec)
        i = self.index_[record_id]
        m, r = (self.matrix_, i) if i < self.base_rows_ else (self.extra_, i - self.base_rows_)
        cols = m.indices[m.indptr[r]:m.indptr[r + 1]]
        contrib = m.data[m.indptr[r]:m.indptr[r + 1]] * dense[cols]
        out: list[str] = []
        seen: set[str] = set()
        for j in np.argsort(-contrib):
            if len(out) >= k or contrib[j] <= 0:
                break
            word = readable_term(self.vocabulary_[cols[j]])
            if word.casefold() not in seen:
                seen.add(word.casefold())
                out.append(word)
        return out


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _rows_by_sector(records: Sequence[dict], first: int) -> dict[str, np.ndarray]:
    """``{sector: rows}`` of ``records`` numbered from row ``first``."""
    rows: dict[str, list[int]] = {}
    for i, r in enumerate(records, start=first):
        for sector in dict.fromkeys(r.get("sectors") or ()):
            rows.setdefault(sector, []).append(i)
    return {sector: np.array(at, dtype=np.int64) for sector, at in rows.items()}


def _is_region_token(term: str) -> bool:
    return token_region(term) is not None


def readable_term(term: str) -> str:
    """A term as a person reads it: concept and region tokens become words."""
    code = token_region(term)
    if code:
        r = gazetteer().get(code)
        return r.name if r else term
    return concept_words(term) or term
