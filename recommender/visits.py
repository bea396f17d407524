"""A study-visit plan: peers grouped by arrangement, kept diverse, and ordered as a route.

A study visit goes to an arrangement (a case: its host institution and member regions), not to
a list of regions: the parties of one arrangement are visited together and tell one story.
:func:`plan` ranks the arrangements (the proposal's similarity times the status weight), skips
an arrangement with the same members as one already chosen, lowers one that shares members
with those chosen (maximal marginal relevance), and lets no island group take more than
``SAME_ISLAND_LIMIT`` of the first ``DIVERSE_TOP`` places while another group still has a
relevant arrangement. :func:`peers_from_plan` derives the flat list of regions from that order,
and :func:`route` orders chosen regions by travel (nearest neighbour from the proposer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kb.gazetteer import Region

# Status of an arrangement -> weight of its similarity. Running and finished arrangements have
# something to show; a stopped or merely planned one is a lesson of a different kind.
STATUS_WEIGHT = {"berjalan": 1.0, "selesai": 1.0, None: 0.8, "direncanakan": 0.5, "terhenti": 0.4}
# With ``learn_from_failure`` a stopped arrangement is as welcome as a running one.
FAILURE_STATUS_WEIGHT = {**STATUS_WEIGHT, "terhenti": 1.0}
OVERLAP_PENALTY = 0.5      # share of the score lost at full member overlap with a chosen arrangement
DIVERSE_TOP = 5            # the places where the island-group limit holds
SAME_ISLAND_LIMIT = 2      # arrangements of one island group among the first DIVERSE_TOP
PEERS_PER_ARRANGEMENT = 2  # regions of one arrangement among the first DIVERSE_TOP peers
RELEVANT_SHARE = 0.5       # an arrangement scoring below this share of the best is not relevant
ASK_ABOUT = 3              # lessons shown as "what to ask" per arrangement
WATCH_OUT = 2              # challenges shown per arrangement


@dataclass
class Arrangement:
    """A candidate destination: one case with its member regions (the proposer left out)."""

    id: str
    score: float                      # similarity x status weight
    members: tuple[str, ...]          # region codes, in the case's order
    island: str | None = None         # the island group most of its members are in


def island_of(regions: list[Region]) -> str | None:
    """The island group most of ``regions`` belong to (the first named wins a tie)."""
    if not regions:
        return None
    counts = Counter(r.island for r in regions)
    top = max(counts.values())
    return next(r.island for r in regions if counts[r.island] == top)


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def plan(candidates: list[Arrangement]) -> list[tuple[Arrangement, float]]:
    """Every candidate worth visiting, in visit-plan order, with its adjusted score.

    Greedy: at each step the arrangement with the best score after the overlap penalty is
    taken, except that within the first ``DIVERSE_TOP`` places an arrangement whose island
    group already holds ``SAME_ISLAND_LIMIT`` places waits while a relevant arrangement of
    another group (at least ``RELEVANT_SHARE`` of the best score) is left. An
    arrangement with the same members as a chosen one is left out (it adds no destination).
    """
    rest = sorted(candidates, key=lambda a: -a.score)
    floor = RELEVANT_SHARE * rest[0].score if rest else 0.0
    sets = [frozenset(a.members) for a in rest]
    overlap = [0.0] * len(rest)  # each one's largest overlap with a chosen arrangement so far
    chosen: list[tuple[Arrangement, float]] = []
    member_sets: set[frozenset[str]] = set()
    islands: Counter[str | None] = Counter()
    while rest:
        scored = []
        for i, a in enumerate(rest):
            crowded = len(chosen) < DIVERSE_TOP and islands[a.island] >= SAME_ISLAND_LIMIT
            scored.append((a.score * (1.0 - OVERLAP_PENALTY * overlap[i]), crowded, i))
        others = [x for x in scored if not x[1] and x[0] >= floor]
        adj, _, i = max(others or scored, key=lambda x: (x[0], -x[2]))
        a, members = rest.pop(i), sets.pop(i)
        overlap.pop(i)
        if not members or members in member_sets:
            continue
        member_sets.add(members)
        islands[a.island] += 1
        chosen.append((a, adj))
        for j, other in enumerate(sets):  # (the overlap with the newly chosen one only)
            union = len(members | other)
            if union and len(members & other) / union > overlap[j]:
                overlap[j] = len(members & other) / union
    return chosen


def peers_from_plan(ordered: list[Arrangement]) -> list[tuple[str, str]]:
    """Regions as ``(code, arrangement id)`` in peer order: each region once, placed by the
    first arrangement of the plan it belongs to (its best), the members of one arrangement in
    the case's order (a case names its main parties first); no more than
    ``PEERS_PER_ARRANGEMENT`` regions of one arrangement among the first ``DIVERSE_TOP`` while
    another relevant arrangement (see :func:`relevant`) has a region to give (the rest follow
    after them)."""
    seen: set[str] = set()
    order: list[tuple[str, str]] = []
    for a in ordered:
        mine = [c for c in a.members if c not in seen]
        seen.update(mine)
        order.extend((c, a.id) for c in mine)
    capped = len({aid for _, aid in order}) > 1
    top: list[tuple[str, str]] = []
    later: list[tuple[str, str]] = []
    per: Counter[str] = Counter()
    for code, aid in order:
        if len(top) < DIVERSE_TOP and (not capped or per[aid] < PEERS_PER_ARRANGEMENT):
            top.append((code, aid))
            per[aid] += 1
        else:
            later.append((code, aid))
    if len(top) < DIVERSE_TOP:  # nothing else to give: the capped regions fill the places
        top, later = top + later[:DIVERSE_TOP - len(top)], later[DIVERSE_TOP - len(top):]
    return top + later


def relevant(ordered: list[tuple[Arrangement, float]]) -> list[tuple[Arrangement, float]]:
    """The arrangements of the plan that are worth a visit beside the best one: an adjusted
    score of at least ``RELEVANT_SHARE`` of the best."""
    if not ordered:
        return []
    floor = RELEVANT_SHARE * max(adj for _, adj in ordered)
    return [(a, adj) for a, adj in ordered if adj >= floor]


def route(origin: Region, stops: list[Region], distance) -> list[dict]:
    """``stops`` ordered by travel: the nearest to ``origin`` first, then always the nearest
    to the stop before (``distance(a, b)`` in km); each with the leg that reaches it."""
    left = list(dict.fromkeys(stops))
    here, out, total = origin, [], 0.0
    while left:
        legs = [(distance(here, r), i) for i, r in enumerate(left)]
        km, i = min(legs)
        nxt = left.pop(i)
        total += km
        out.append({"order": len(out) + 1, "code": nxt.code, "name": nxt.name, "from_code": here.code,
                    "from_name": here.name, "leg_km": round(km), "total_km": round(total)})
        here = nxt
    return out


__all__ = ["Arrangement", "STATUS_WEIGHT", "FAILURE_STATUS_WEIGHT", "island_of", "peers_from_plan", "plan",
           "relevant", "route"]
