"""Recommendations for a proposal: similar cases and practices, peers and partners.

The model is fitted on ``init``/``reindex``/``import`` and saved in the instance with the store's
head (its newest revision). Each process loads it and patches it with the records
changed since (see :class:`Recommender`); a full refit runs in a separate process when enough
was patched. A record is never answered in an old form: patched at once, or, when too much
changed to patch, filtered out until the refit is in.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import joblib
from filelock import FileLock, Timeout
import numpy as np

from kb.base import KnowledgeBase
from kb.errors import Invalid, RecordProblem
from kb.gazetteer import Region, gazetteer
from kb.text import analyze, token_region

from .legal import EXTERNALITY_SECTORS, legal_path, mandatory_neighbours, worded
from .model import CaseSimilarity, guess_language
from .proposal import ProposalIn, parse_proposal, resolve_partners, resolve_region
from .reasons import Wording, reason
from .regions import partners
from .visits import (ASK_ABOUT, DIVERSE_TOP, FAILURE_STATUS_WEIGHT, STATUS_WEIGHT, WATCH_OUT, Arrangement,
                     island_of, peers_from_plan, plan, relevant, route)

log = logging.getLogger(__name__)

MODEL_FILE = "recommender.joblib"
MODEL_FORMAT = 5              # bump when the saved model's shape changes (older files are refitted)
MIN_TERMS = 3                 # fewer content terms than this is "too short"
MIN_SCORE = 0.04              # below this a record is not relevant at all
SECTOR_BONUS = 0.05           # per sector shared with a proposal that names its sectors
PEER_CASES = 25               # how many of the most similar cases vote for peers
PEER_EXTRA_CASES = 0.2        # weight of a peer's further cases beside its best one
MAX_VISITS = 8                # arrangements in a study-visit plan at most
PATCH_LIMIT = 500             # more changed records than this at once: refit instead of patching
REFIT_MIN_ROWS = 50           # refit in the background once this many rows were patched,
REFIT_SHARE = 0.05            # and this share of the fitted rows,
REFIT_AFTER_S = 600.0         # or once the oldest patch is this old (new words then count)
RANK_DEPTH = 300              # records ranked per request (answers use far fewer)


@dataclass
class Recommendation:
    cases: list[dict] = field(default_factory=list)
    peers: list[dict] = field(default_factory=list)
    visits: list[dict] = field(default_factory=list)   # study-visit destinations by arrangement
    route: list[dict] = field(default_factory=list)    # the top peers ordered by travel
    partners: list[dict] = field(default_factory=list)
    what_worked: list[dict] = field(default_factory=list)
    watch_out: list[dict] = field(default_factory=list)
    message: str | None = None    # a code of reasons.MESSAGES
    proposer: dict | None = None
    # {sectors, regions, basis}: the bordering regions a cooperation on these affairs may be
    # mandatory with (PP 28/2018: kerja sama wajib between bordering regions)
    mandatory: dict | None = None
    legal: dict | None = None     # the legal path (recommender/legal.py), reasons as data

    def as_dict(self, wording: Wording | None = None) -> dict:
        """The JSON shape: every case, peer and partner with its ``reasons`` (data) and ``why``
        (those reasons worded by ``wording``; Indonesian by default), the message worded beside
        its code."""
        w = wording or Wording()
        return {"cases": w.items(self.cases), "peers": w.items(self.peers), "visits": w.items(self.visits),
                "route": self.route, "partners": w.items(self.partners),
                "what_worked": self.what_worked, "watch_out": self.watch_out,
                "message": w.message(self.message), "message_code": self.message,
                "proposer": self.proposer, "mandatory": self.mandatory,
                "legal": worded(self.legal, w) if self.legal is not None else None}


class Recommender:
    """Answers proposals with the instance's fitted model, kept in step with the store.

    A change to a few records is applied to the model at once (:meth:`CaseSimilarity.with_changes`,
    milliseconds); a full refit, which also renews the vocabulary and idf, runs in a separate
    process once enough rows were patched (or the first patch is old), so a serving process never
    spends its own time on it. More changes than ``PATCH_LIMIT`` at once (a bulk import by another
    process) are not patched: the old model answers, leaving out every record whose version
    changed, until the background refit is in.
    """

    def __init__(self, kb: KnowledgeBase, *, background_refit: bool = True):
        self.kb = kb
        self.background_refit = background_refit
        self._lock = threading.Lock()        # swaps the model state
        self._patching = threading.Lock()    # one catch-up at a time
        self._refitting = threading.Lock()   # one synchronous refit at a time
        self._model: CaseSimilarity | None = None
        self._head: int | None = None
        self._records: dict[str, dict] = {}
        self._cases_by_region: dict[str, list[str]] = {}
        self._stale_head: int | None = None   # too many changes to patch: filter instead
        self._patched_at: float | None = None
        self._refit_thread: threading.Thread | None = None
        self._loader: threading.Thread | None = None
        self._saved_mtime: int | None = None   # the saved model file this process has read or written
        self._fit_head: int = 0  # the store head the current model was fitted at
        self._local = threading.local()  # per request thread: filter records by live versions?

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.kb.home / "models" / MODEL_FILE

    def model(self) -> CaseSimilarity:
        """The current model: in memory, else from disk, else fitted now (first use only);
        brought up to date with the store before it is returned."""
        self._local.stale = False
        head = self.kb.store.head()
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._load()
            if self._model is None:
                self.refresh()
                return self._model
        self._watch_saved()
        if head != self._head:
            self._catch_up()
        self._maybe_refit_in_background()
        return self._model

    def _mtime(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns
        except OSError:
            return None

    def _read_saved(self) -> tuple[dict | None, int | None]:
        mtime = self._mtime()
        if mtime is None:
            return None, None
        try:
            saved = joblib.load(self.path)
        except Exception:  # an unreadable or foreign file: refit instead
            return None, mtime
        if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
            return None, mtime
        return saved, mtime

    def _load(self) -> bool:
        saved, mtime = self._read_saved()
        self._saved_mtime = mtime
        if saved is None:
            return False
        self._set(saved["model"], saved["head"], saved["records"])
        return True

    def _watch_saved(self) -> None:
        """Another process (a worker's background refit, ``sinergi reindex``) saved a newer fit:
        load it in the background and switch to it (requests go on with the current model)."""
        mtime = self._mtime()
        if mtime is None or mtime == self._saved_mtime:
            return
        with self._lock:
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(target=self._reload_saved, name="sinergi-model-load", daemon=True)
            self._loader.start()

    def _reload_saved(self) -> None:
        saved, mtime = self._read_saved()
        with self._patching, self._lock:
            self._saved_mtime = mtime
            if saved is not None and saved["head"] >= self._fit_head:
                self._set(saved["model"], saved["head"], saved["records"])

    def _set(self, model: CaseSimilarity, head: int, records: dict[str, dict]) -> None:
        by_region: dict[str, list[str]] = defaultdict(list)
        for rid, rec in records.items():
            if rec["kind"] == "case":
                for code in rec.get("regions", []):
                    by_region[code].append(rid)
        model.prepare()  # here (start, background reload), not in the first request after it
        self._model, self._head, self._records = model, head, records
        self._fit_head = head
        self._cases_by_region = dict(by_region)
        self._stale_head = None
        self._patched_at = None

    def _catch_up(self) -> None:
        """Patch the model with the records changed since it was last brought up to date."""
        with self._patching:
            head = self.kb.store.head()  # another thread may have caught up meanwhile
            model, known = self._model, self._head
            if head == known:
                return
            if self._stale_head is not None and head == self._stale_head:
                self._local.stale = True
                return
            changes = None
            if model.base_rows_ and head >= known:
                changes = self.kb.store.changes_since(known, limit=PATCH_LIMIT)
            if changes is None:
                if not self.background_refit:
                    self.refresh()
                    return
                # Too much to patch (or the store was rebuilt): answer with the old model minus
                # the changed records while a full refit runs elsewhere.
                self._stale_head = head
                self._local.stale = True
                self._start_refit()
                return
            published = [c for c in changes if c["state"] == "published"]
            removed = [c["id"] for c in changes if c["state"] != "published"]
            patched = model.with_changes(published, removed)
            records = dict(self._records)
            # Readers may hold the old lists: a region's list is copied before it changes.
            by_region = dict(self._cases_by_region)
            for rid in removed + [c["id"] for c in published]:
                old = records.pop(rid, None)
                if old and old["kind"] == "case":
                    for code in old.get("regions", []):
                        if rid in by_region.get(code, ()):
                            by_region[code] = [x for x in by_region[code] if x != rid]
            for c in published:
                records[c["id"]] = _slim(c)
                if c["kind"] == "case":
                    for code in c.get("regions", []):
                        by_region[code] = by_region.get(code, []) + [c["id"]]
            with self._lock:
                self._model, self._head, self._records = patched, head, records
                self._cases_by_region = by_region
                self._stale_head = None
                if self._patched_at is None:
                    self._patched_at = time.monotonic()

    def _maybe_refit_in_background(self) -> None:
        model = self._model
        patched = model.patched_rows_
        if not patched:
            return
        due = patched >= max(REFIT_MIN_ROWS, REFIT_SHARE * model.base_rows_)
        old = self._patched_at is not None and time.monotonic() - self._patched_at > REFIT_AFTER_S
        if due or old:
            self._start_refit()

    def _start_refit(self) -> None:
        if not self.background_refit:
            return
        with self._lock:
            if self._refit_thread is not None and self._refit_thread.is_alive():
                return
            self._refit_thread = threading.Thread(target=self._refit_elsewhere, name="sinergi-refit", daemon=True)
            self._refit_thread.start()

    def _refit_elsewhere(self) -> None:
        """Fit in a child process (its own interpreter and core), then load what it saved. One
        refit per instance at a time: when another process is refitting, its result is picked
        up by :meth:`_watch_saved` instead."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path.with_name("refit.lock")))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            ctx = multiprocessing.get_context("spawn")
            proc = ctx.Process(target=_fit_and_save, args=(str(self.kb.home), self.kb.store.url), daemon=True)
            proc.start()
            proc.join()
        finally:
            lock.release()
        if proc.exitcode != 0:
            log.warning("background refit failed (exit code %s); patching goes on", proc.exitcode)
            return
        self._reload_saved()

    def refresh(self) -> None:
        """Refit now if the model is not a fresh fit of the current store (one refit at a time)."""
        with self._refitting:
            head = self.kb.store.head()
            if self._model is not None and self._head == head and not self._model.patched_rows_:
                return
            records = list(self.kb.store.iter_data())
            model = CaseSimilarity().fit(records)
            slim = {r["id"]: _slim(r) for r in records}
            self._save(model, head, slim)
            with self._lock:
                self._set(model, head, slim)

    def _save(self, model: CaseSimilarity, head: int, records: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        joblib.dump({"format": MODEL_FORMAT, "model": model, "head": head, "records": records}, tmp)
        tmp.replace(self.path)
        self._saved_mtime = self._mtime()

    # -- answers -----------------------------------------------------------------------------
    def recommend(self, proposal: dict | ProposalIn, *, limit: int = 10) -> Recommendation:
        """Similar cases and practices, peers and (with a region) partners for a proposal."""
        p = proposal if isinstance(proposal, ProposalIn) else parse_proposal(proposal)
        proposer = resolve_region(p.region)
        named = resolve_partners(p.partners)
        text = f"{p.title}\n{p.description}".strip()
        lang = p.language or guess_language(text)
        analyzed = analyze(text, lang)
        content = [t.text for t in analyzed if token_region(t.text) is None]
        if len(content) < MIN_TERMS:
            raise Invalid([RecordProblem("proposal", None, "description",
                                         "the proposal is too short: describe what the regions want to do, "
                                         "in at least a sentence", code="too_short")])
        model = self.model()
        qvec = model.transform_text(text, lang, analyzed=analyzed)
        dense = model.dense(qvec)
        scores = model.scores(qvec, dense)
        if p.sectors:
            scores = scores + self._sector_bonus(model, p.sectors)
        ranked = self._rank(model, scores)
        out = Recommendation(proposer=proposer.as_ref() if proposer else None)
        if not ranked or ranked[0][1] < MIN_SCORE:
            out.message = "no_match"
            if proposer:
                out.partners = partners(proposer, self._records, self._cases_by_region, [], p.sectors, limit)
            out.legal = self._legal(p, proposer, named, text, [])
            return out
        for rid, score in ranked[:limit]:
            rec = self._records[rid]
            why = [reason("shared_terms", terms=model.shared_terms(qvec, rid, dense=dense))]
            shared = [s for s in rec.get("sectors", []) if s in p.sectors]
            if shared:
                why.append(reason("same_sectors", sectors=shared))
            if rec.get("status"):
                why.append(reason("status", status=rec["status"]))
            out.cases.append({"id": rid, "kind": rec["kind"], "title": rec["title"], "score": round(float(score), 4),
                              "status": rec.get("status"), "regions": gazetteer().refs(rec.get("regions", [])),
                              "reasons": why})
        # The best cases (practices left out), looked up only as far as needed: each record is
        # a dict somewhere in memory, and 300 cold look-ups cost ~0.5 ms.
        records = self._records
        top_cases = list(itertools.islice(((rid, s) for rid, s in ranked if records[rid]["kind"] == "case"),
                                          PEER_CASES))
        self._plan_visits(out, top_cases, proposer, limit, p.learn_from_failure,
                          lambda rid: model.shared_terms(qvec, rid, dense=dense))
        affairs = p.sectors or (self._records[top_cases[0][0]].get("sectors", []) if top_cases else [])
        if proposer:
            out.partners = partners(proposer, self._records, self._cases_by_region, top_cases, p.sectors, limit)
            out.mandatory = mandatory_neighbours(proposer, affairs)
        out.legal = self._legal(p, proposer, named, text, [records[rid] for rid, _ in top_cases], affairs)
        for rid, _ in top_cases[:5]:
            rec = self._records[rid]
            for lesson in rec.get("lessons", [])[:2]:
                out.what_worked.append({"text": lesson, "case": rid, "title": rec["title"]})
            for ch in rec.get("challenges", [])[:2]:
                out.watch_out.append({"text": ch, "case": rid, "title": rec["title"]})
        return out

    def peers_for(self, topic: str, region: str | None = None, *, limit: int = 10,
                  learn_from_failure: bool = False) -> dict:
        """Study-visit destinations for a topic (and a home region, for distances and the
        route): ``peers`` (regions), ``visits`` (arrangements), ``route`` and ``proposer``."""
        res = self.recommend({"description": topic, "region": region, "learn_from_failure": learn_from_failure},
                             limit=limit)
        return {"peers": res.peers, "visits": res.visits, "route": res.route, "proposer": res.proposer}

    def similar_to(self, record_id: str, *, limit: int = 5) -> list[dict]:
        """Records most similar to an existing record (for the case page)."""
        model = self.model()
        if record_id not in model.index_:
            return []
        qvec = model.record_vector(record_id)
        dense = model.dense(qvec)
        scores = model.scores(qvec, dense)
        out = []
        for rid, score in self._rank(model, scores):
            if rid == record_id or score < MIN_SCORE:
                continue
            rec = self._records[rid]
            out.append({"id": rid, "kind": rec["kind"], "title": rec["title"], "score": round(float(score), 4),
                        "reasons": [reason("shared_terms", terms=model.shared_terms(qvec, rid, dense=dense))]})
            if len(out) >= limit:
                break
        return out

    # -- pieces -------------------------------------------------------------------------------
    def _sector_bonus(self, model: CaseSimilarity, sectors: list[str]) -> np.ndarray:
        bonus = np.zeros(len(model.ids_), dtype=np.float32)
        wanted = set(sectors)
        for i, rid in enumerate(model.ids_):
            rec = self._records.get(rid)
            if rec:
                bonus[i] = SECTOR_BONUS * len(wanted & set(rec.get("sectors", [])))
        return bonus * model.alive_

    def _rank(self, model: CaseSimilarity, scores: np.ndarray, top: int = RANK_DEPTH) -> list[tuple[str, float]]:
        """The ``top`` best records, best first (only those are ever shown or vote)."""
        live = self._live_versions() if getattr(self._local, "stale", False) else None
        if len(scores) > top:
            cut = np.argpartition(-scores, top)[:top]
            order = cut[np.argsort(-scores[cut])]
        else:
            order = np.argsort(-scores)
        order = order[scores[order] > 0]
        ids = model.ids_
        out = list(zip([ids[i] for i in order.tolist()], scores[order].tolist()))
        if live is not None:  # deleted or edited since the fit: never shown in its old form
            out = [(rid, s) for rid, s in out if live.get(rid) == model.versions_.get(rid)]
        return out

    def _plan_visits(self, out: Recommendation, top_cases: list[tuple[str, float]], proposer: Region | None,
                     limit: int, learn_from_failure: bool, terms) -> None:
        """Fill ``out.visits`` (the best arrangements, see :mod:`recommender.visits`), ``out.peers``
        (their regions, each once) and, with a proposer, ``out.route`` (the first peers by travel).
        ``terms(case id)`` gives the terms a case shares with the proposal."""
        g = gazetteer()
        weights = FAILURE_STATUS_WEIGHT if learn_from_failure else STATUS_WEIGHT
        votes: dict[str, list[float]] = defaultdict(list)
        support: dict[str, list[str]] = defaultdict(list)
        candidates = []
        for rid, sim in top_cases:
            if sim < MIN_SCORE:
                continue
            rec = self._records[rid]
            if proposer and proposer.code in rec.get("regions", ()):
                continue  # the proposer's own arrangement: a partner to talk to, not a study visit
            regions = [r for r in map(g.get, rec.get("regions", [])) if r is not None]
            if not regions:
                continue
            s = sim * weights.get(rec.get("status"), weights[None])
            for r in regions:
                votes[r.code].append(s)
                support[r.code].append(rid)
            candidates.append(Arrangement(rid, s, tuple(dict.fromkeys(r.code for r in regions)), island_of(regions)))
        ordered = plan(candidates)
        adjusted = {a.id: adj for a, adj in ordered}
        extra = {code: sum(v) - max(v) for code, v in votes.items()}
        shown = relevant(ordered)  # peers come from the relevant arrangements first
        shown_ids = {a.id for a, _ in shown}
        rest = [a for a, _ in ordered if a.id not in shown_ids]
        pairs = peers_from_plan([a for a, _ in shown])
        placed = {c for c, _ in pairs}
        pairs += [(c, aid) for c, aid in peers_from_plan(rest) if c not in placed]
        for code, aid in pairs[:limit]:
            out.peers.append(self._peer(code, aid, adjusted[aid] + PEER_EXTRA_CASES * extra[code],
                                        support[code], proposer))
        for a, adj in ordered[:min(limit, MAX_VISITS)]:
            out.visits.append(self._visit(a, adj, proposer, learn_from_failure, terms))
        if proposer:
            stops = [g.get(p["code"]) for p in out.peers[:DIVERSE_TOP]]
            hosts = defaultdict(list)
            for v in out.visits:
                for m in v["members"]:
                    hosts[m["code"]].append(v["id"])
            out.route = [{**stop, "arrangements": hosts.get(stop["code"], [])}
                         for stop in route(proposer, stops, g.distance_km)]

    def _peer(self, code: str, arrangement: str, score: float, cases: list[str], proposer: Region | None) -> dict:
        """A region of the plan as a peer, with its reasons."""
        g = gazetteer()
        r = g.get(code)
        titles = [self._records[c]["title"] for c in cases[:2]]
        statuses = sorted({self._records[c].get("status") or "" for c in cases})
        why = [reason("relevant_cases", count=len(cases), titles=titles),
               reason("case_statuses", statuses=[st or None for st in statuses])]
        item = {"code": code, "name": r.name, "score": round(score, 4), "reasons": why, "cases": cases,
                "island": r.island, "arrangement": arrangement}
        if proposer:
            d = g.distance_km(proposer, r)
            item["distance_km"] = round(d)
            why.append(reason("distance", km=round(d), region=proposer.name))
        return item

    def _visit(self, a: Arrangement, score: float, proposer: Region | None, learn_from_failure: bool,
               terms) -> dict:
        """An arrangement of the plan: the case, its host institution and members, what to ask
        them (its lessons) and what to watch out for (its challenges), with reasons."""
        g = gazetteer()
        rec = self._records[a.id]
        status = rec.get("status")
        members = []
        for code in a.members:
            r = g.get(code)
            m = {"code": code, "name": r.name}
            if proposer:
                m["distance_km"] = round(g.distance_km(proposer, r))
            members.append(m)
        why = [reason("shared_terms", terms=terms(a.id))]
        if status:
            why.append(reason("status", status=status))
        failure = learn_from_failure and status == "terhenti"
        if failure:
            why.append(reason("learn_from_failure"))
        if proposer:
            nearest = min(members, key=lambda m: m["distance_km"])
            why.append(reason("nearest_member", km=nearest["distance_km"], region=proposer.name,
                              member=nearest["name"]))
        return {"id": a.id, "title": rec["title"], "status": status, "mechanism": rec.get("mechanism"),
                "third_parties": list(rec.get("third_parties", [])), "island": a.island, "members": members,
                "ask_about": list(rec.get("lessons", [])[:ASK_ABOUT]),
                "watch_out": list(rec.get("challenges", [])[:WATCH_OUT]), "challenges_first": failure,
                "score": round(float(score), 4), "reasons": why}

    @staticmethod
    def _legal(p: ProposalIn, proposer: Region | None, partners: list[Region], text: str, cases: list[dict],
               affairs: list[str] | None = None) -> dict:
        """The legal path of the proposal; its affairs are its sectors, else those of its most
        similar case."""
        return legal_path(proposer=proposer, partners=partners,
                          third_parties=[t.model_dump() for t in p.third_parties],
                          foreign_partners=[f.model_dump() for f in p.foreign_partners],
                          sectors=affairs if affairs is not None else p.sectors, text=text, cases=cases,
                          burdens_community=p.burdens_community, in_current_budget=p.in_current_budget)

def _slim(rec: dict) -> dict:
    keys = ("id", "kind", "title", "status", "regions", "sectors", "lessons", "challenges", "start_year",
            "language", "version", "mechanism", "third_parties")
    return {k: rec[k] for k in keys if k in rec}


def _fit_and_save(home: str, database_url: str) -> None:
    """Runs in a child process: fit the model of the instance at ``home`` and save it."""
    try:
        os.nice(10)  # the serving process comes first
    except OSError:
        pass
    kb = KnowledgeBase(home, create=False, database_url=database_url)
    Recommender(kb, background_refit=False).refresh()


_INSTANCES: dict[Path, Recommender] = {}


def recommender_for(kb: KnowledgeBase) -> Recommender:
    """One recommender per instance folder per process."""
    rec = _INSTANCES.get(kb.home)
    if rec is None or rec.kb is not kb:
        rec = _INSTANCES[kb.home] = Recommender(kb)
    return rec


def forget_instances() -> None:
    """Drop this process's recommenders (a server's parent does, before its workers start)."""
    _INSTANCES.clear()


def refresh_models(kb: KnowledgeBase) -> None:
    """Fit and save the model now (after init, import and reindex)."""
    recommender_for(kb).refresh()


__all__ = ["EXTERNALITY_SECTORS", "Recommender", "ProposalIn", "parse_proposal", "recommender_for", "refresh_models"]
