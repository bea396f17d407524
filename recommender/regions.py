"""Candidate partner regions for a proposer: pure functions over the gazetteer and the records."""

from __future__ import annotations

from collections import defaultdict

from kb.gazetteer import Region, gazetteer

from .reasons import reason

PARTNER_RADIUS_KM = 400           # farther regions are candidates only when bordering or already partners
PROXIMITY_SCALE_KM = 60.0         # proximity is 1 / (1 + km / this): 0.5 at 60 km
PROXIMITY_WEIGHT = 0.6            # a partner's score: closeness first,
SAME_PROVINCE_WEIGHT = 0.2        # then a shared province (one governor, one APBD of reference),
EXPERIENCE_WEIGHT = 0.2           # and experience with the topic (its share in the similar cases);
ALREADY_COOPERATING_BONUS = 0.2   # regions already cooperating with the proposer on related affairs


def partners(proposer: Region, records: dict[str, dict], cases_by_region: dict[str, list[str]],
             top_cases: list[tuple[str, float]], sectors: list[str], limit: int) -> list[dict]:
    """Candidate partners: the regions bordering the proposer first (land, then sea
    neighbours: the regions PP 28/2018 ties mandatory cooperation to), then nearby regions on
    the same island group; each group ranked by closeness, shared province and experience
    with the topic. Those already cooperating with the proposer are marked."""
    g = gazetteer()
    bordering = {r.code: kind for r, kind in g.neighbours(proposer) if r.is_province == proposer.is_province}
    experience: dict[str, float] = defaultdict(float)
    for rid, sim in top_cases:
        for code in records[rid].get("regions", []):
            experience[code] += sim
    top_exp = max(experience.values(), default=0) or 1.0
    related = set(sectors) | {s for rid, _ in top_cases[:5] for s in records[rid].get("sectors", [])}
    already: dict[str, list[str]] = defaultdict(list)
    for rid in cases_by_region.get(proposer.code, []):
        rec = records[rid]
        if related and not related & set(rec.get("sectors", [])):
            continue
        for code in rec.get("regions", []):
            if code != proposer.code:
                already[code].append(rid)
    pool = [r for r in g.regions if r.code != proposer.code and r.is_province == proposer.is_province
            and (r.island == proposer.island or r.code in bordering)]
    ranked = []
    for r in pool:
        d = g.distance_km(proposer, r)
        if d > PARTNER_RADIUS_KM and r.code not in already and r.code not in bordering:
            continue
        proximity = 1.0 / (1.0 + d / PROXIMITY_SCALE_KM)
        same_prov = r.province_code == proposer.province_code
        exp = experience.get(r.code, 0.0) / top_exp
        s = (PROXIMITY_WEIGHT * proximity + SAME_PROVINCE_WEIGHT * same_prov + EXPERIENCE_WEIGHT * exp
             + (ALREADY_COOPERATING_BONUS if r.code in already else 0.0))
        ranked.append((s, d, r, same_prov, exp))
    ranked.sort(key=lambda x: (x[2].code not in bordering, -x[0]))
    out = []
    for s, d, r, same_prov, exp in ranked[:limit]:
        border = bordering.get(r.code)
        why = [reason("bordering_" + border, region=proposer.name)] if border else []
        why.append(reason("nearest", km=round(d), region=proposer.name))
        if same_prov:
            why.append(reason("same_province"))
        if exp > 0:
            why.append(reason("topic_experience"))
        if r.code in already:
            why.append(reason("already_cooperating", region=proposer.name, count=len(already[r.code]),
                              titles=[records[c]["title"] for c in already[r.code][:2]]))
        out.append({"code": r.code, "name": r.name, "score": round(s, 4), "distance_km": max(1, round(d)),
                    "bordering": border, "same_province": bool(same_prov),
                    "reasons": why, "cases": already.get(r.code, []), "already_cooperating": r.code in already})
    return out
