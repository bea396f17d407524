"""Recommendations for a proposal: similar cases and practices, peers and partners.

:class:`Recommender` is the facade: each answer takes one :class:`~recommender.holder.Snapshot`
of the model from the instance's :class:`~recommender.holder.ModelHolder` and is computed from
it alone, passed down to every piece (ranking, sector bonus, visits, peers, partners, the legal
path's similar cases). The model's life (loading, following the store, stale snapshots, refits,
the saved file) and its rules are in :mod:`recommender.holder`. Only published records are ever
in a snapshot, and a record is never answered in an old form.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.base import KnowledgeBase
from kb.errors import Invalid, RecordProblem
from kb.gazetteer import Region, gazetteer
from kb.text import analyze, token_region

from .holder import ModelHolder, ModelNotReady, Snapshot
from .legal import EXTERNALITY_SECTORS, legal_path, mandatory_neighbours, worded
from .model import CaseSimilarity, guess_language
from .proposal import ProposalIn, parse_proposal, resolve_partners, resolve_region
from .reasons import Wording, reason
from .regions import partners
from .visits import (ASK_ABOUT, DIVERSE_TOP, FAILURE_STATUS_WEIGHT, STATUS_WEIGHT, WATCH_OUT, Arrangement,
                     island_of, peers_from_plan, plan, relevant, route)

MIN_TERMS = 3                 # fewer content terms than this is "too short"
MIN_SCORE = 0.04              # below this a record is not relevant at all
SECTOR_BONUS = 0.05           # per sector shared with a proposal that names its sectors
PEER_CASES = 25               # how many of the most similar cases vote for peers
PEER_EXTRA_CASES = 0.2        # weight of a peer's further cases beside its best one
MAX_VISITS = 8                # arrangements in a study-visit plan at most
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
    """Answers proposals from the snapshots of the instance's model (:mod:`recommender.holder`).

    Each answer asks the holder for one :class:`Snapshot` and reads only that: a save by anyone
    is in the next answer (patched), a record deleted or edited since the fit never appears in
    its old form, and no answer waits for a fit. ``background_refit``: a serving process (refits
    run in a separate process; without a saved model, :class:`ModelNotReady` until one is
    fitted); without it (the command line), fits run in the caller.
    """

    def __init__(self, kb: KnowledgeBase, *, background_refit: bool = True):
        self.kb = kb
        self.holder = ModelHolder(kb, background_refit=background_refit)

    def snapshot(self) -> Snapshot:
        """The model and its records as of the store's current head."""
        return self.holder.snapshot()

    def model(self) -> CaseSimilarity:
        """The current model (of :meth:`snapshot`)."""
        return self.holder.snapshot().model

    def warm(self) -> bool:
        """Load the saved model now (a worker's start); whether one is ready."""
        return self.holder.load()

    def refresh(self) -> None:
        """Refit now if the model is not a fresh fit of the current store (one refit at a time)."""
        self.holder.refit()

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
        snap = self.holder.snapshot().for_answer()
        model, records = snap.model, snap.records
        qvec = model.transform_text(text, lang, analyzed=analyzed)
        dense = model.dense(qvec)
        scores = model.scores(qvec, dense)
        if p.sectors:
            scores = scores + _sector_bonus(snap, p.sectors)
        ranked = _rank(snap, scores)
        out = Recommendation(proposer=proposer.as_ref() if proposer else None)
        if not ranked or ranked[0][1] < MIN_SCORE:
            out.message = "no_match"
            if proposer:
                out.partners = partners(proposer, records, snap.cases_by_region, [], p.sectors, limit)
            out.legal = self._legal(p, proposer, named, text, [])
            return out
        for rid, score in ranked[:limit]:
            rec = records[rid]
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
        top_cases = list(itertools.islice(((rid, s) for rid, s in ranked if records[rid]["kind"] == "case"),
                                          PEER_CASES))
        self._plan_visits(snap, out, top_cases, proposer, limit, p.learn_from_failure,
                          lambda rid: model.shared_terms(qvec, rid, dense=dense))
        affairs = p.sectors or (records[top_cases[0][0]].get("sectors", []) if top_cases else [])
        if proposer:
            out.partners = partners(proposer, records, snap.cases_by_region, top_cases, p.sectors, limit)
            out.mandatory = mandatory_neighbours(proposer, affairs)
        out.legal = self._legal(p, proposer, named, text, [records[rid] for rid, _ in top_cases], affairs)
        for rid, _ in top_cases[:5]:
            rec = records[rid]
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
        snap = self.holder.snapshot().for_answer()
        model = snap.model
        if record_id not in model.index_ or not snap.is_live(record_id):
            return []
        qvec = model.record_vector(record_id)
        dense = model.dense(qvec)
        scores = model.scores(qvec, dense)
        out = []
        for rid, score in _rank(snap, scores):
            if rid == record_id or score < MIN_SCORE:
                continue
            rec = snap.records[rid]
            out.append({"id": rid, "kind": rec["kind"], "title": rec["title"], "score": round(float(score), 4),
                        "reasons": [reason("shared_terms", terms=model.shared_terms(qvec, rid, dense=dense))]})
            if len(out) >= limit:
                break
        return out

    # -- pieces -------------------------------------------------------------------------------
    def _plan_visits(self, snap: Snapshot, out: Recommendation, top_cases: list[tuple[str, float]],
                     proposer: Region | None, limit: int, learn_from_failure: bool, terms) -> None:
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
            rec = snap.records[rid]
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
            out.peers.append(self._peer(snap, code, aid, adjusted[aid] + PEER_EXTRA_CASES * extra[code],
                                        support[code], proposer))
        for a, adj in ordered[:min(limit, MAX_VISITS)]:
            out.visits.append(self._visit(snap, a, adj, proposer, learn_from_failure, terms))
        if proposer:
            stops = [g.get(p["code"]) for p in out.peers[:DIVERSE_TOP]]
            hosts = defaultdict(list)
            for v in out.visits:
                for m in v["members"]:
                    hosts[m["code"]].append(v["id"])
            out.route = [{**stop, "arrangements": hosts.get(stop["code"], [])}
                         for stop in route(proposer, stops, g.distance_km)]

    def _peer(self, snap: Snapshot, code: str, arrangement: str, score: float, cases: list[str],
              proposer: Region | None) -> dict:
        """A region of the plan as a peer, with its reasons."""
        g = gazetteer()
        r = g.get(code)
        titles = [snap.records[c]["title"] for c in cases[:2]]
        statuses = sorted({snap.records[c].get("status") or "" for c in cases})
        why = [reason("relevant_cases", count=len(cases), titles=titles),
               reason("case_statuses", statuses=[st or None for st in statuses])]
        item = {"code": code, "name": r.name, "score": round(score, 4), "reasons": why, "cases": cases,
                "island": r.island, "arrangement": arrangement}
        if proposer:
            d = g.distance_km(proposer, r)
            item["distance_km"] = round(d)
            why.append(reason("distance", km=round(d), region=proposer.name))
        return item

    def _visit(self, snap: Snapshot, a: Arrangement, score: float, proposer: Region | None, learn_from_failure: bool,
               terms) -> dict:
        """An arrangement of the plan: the case, its host institution and members, what to ask
        them (its lessons) and what to watch out for (its challenges), with reasons."""
        g = gazetteer()
        rec = snap.records[a.id]
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

def _sector_bonus(snap: Snapshot, sectors: list[str]) -> np.ndarray:
    """``SECTOR_BONUS`` per sector a record shares with ``sectors``, by row of the model."""
    model = snap.model
    bonus = np.zeros(len(model.ids_), dtype=np.float32)
    wanted = set(sectors)
    rows = [model.rows_in_sector(s) for s in wanted]
    if all(r is not None for r in rows):
        for r in rows:
            bonus[r] += SECTOR_BONUS
    else:  # a model saved without its rows by sector: every record read (seconds at 100,000)
        for i, rid in enumerate(model.ids_):
            rec = snap.records.get(rid)
            if rec:
                bonus[i] = SECTOR_BONUS * len(wanted & set(rec.get("sectors", [])))
    return bonus * model.alive_


def _rank(snap: Snapshot, scores: np.ndarray, top: int = RANK_DEPTH) -> list[tuple[str, float]]:
    """The ``top`` best records, best first (only those are ever shown or vote). A stale
    snapshot's rows that are no longer live (deleted or edited since the fit) are left out
    before the cut, so they never take a place of a live one."""
    ids = snap.model.ids_
    if snap.stale:
        scores = scores * snap.live_rows
    if len(scores) > top:
        cut = np.argpartition(-scores, top)[:top]
        order = cut[np.argsort(-scores[cut])]
    else:
        order = np.argsort(-scores)
    order = order[scores[order] > 0]
    return list(zip([ids[i] for i in order.tolist()], scores[order].tolist()))


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


# An import into a store of more published records than this leaves the model's refit to its
# next use (at 100,000 records a fit takes ~2.5 min and ~1.5 GB, more than the import itself).
FIT_NOW_MAX = 20_000


def refresh_models(kb: KnowledgeBase, *, deferrable: bool = False) -> bool:
    """Fit and save the model now (after init, import and reindex); whether it was fitted.

    ``deferrable`` (an import): in a store of more than :data:`FIT_NOW_MAX` published records
    the fit is left to the model's next use instead: ``serve`` refits a stale model in a
    background process while it answers with the previous one, ``recommend`` fits on demand."""
    if deferrable and kb.store.count() > FIT_NOW_MAX:
        return False
    recommender_for(kb).refresh()
    return True


__all__ = ["EXTERNALITY_SECTORS", "FIT_NOW_MAX", "ModelNotReady", "Recommender", "ProposalIn", "Snapshot", "parse_proposal",
           "recommender_for", "refresh_models"]
