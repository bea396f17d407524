"""The study-visit plan: peers grouped by arrangement, diverse, ordered as a route, exported.

A fixture instance holds its own records: two arrangements with the same members, a stopped
one, and arrangements on three island groups, all about one topic (a regional wastewater
treatment plant), so that what decides the plan is the rule under test and not the wording.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from kb.base import KnowledgeBase
from kb.gazetteer import Region, gazetteer
from recommender import visits as V
from recommender.service import recommender_for

from conftest import copy_instance, make_app

TOPIC = ("Kami ingin membangun instalasi pengolahan air limbah domestik regional bersama kabupaten tetangga, "
         "dengan pembagian biaya operasi, retribusi sedot tinja terjadwal dan pengelola bersama.")
BODY = ("Instalasi pengolahan air limbah domestik regional dipakai bersama oleh beberapa daerah. Layanan sedot "
        "tinja terjadwal, retribusi, pembagian biaya operasi dan pengelola bersama diatur dalam perjanjian.")


def _case(cid: str, regions: list[str], status: str, **extra) -> dict:
    return {"id": cid, "kind": "case", "title": f"IPAL regional {cid}", "summary": BODY, "body": BODY,
            "regions": regions, "sectors": ["sanitasi"], "status": status,
            "mechanism": f"UPTD bersama {cid}", "third_parties": [f"Konsultan {cid}"],
            "lessons": [f"Pelajaran {cid} {i}" for i in range(1, 5)],
            "challenges": [f"Tantangan {cid} {i}" for i in range(1, 4)], **extra}


RECORDS = [
    _case("malang-a", ["Kota Malang", "Kabupaten Malang"], "berjalan"),
    _case("malang-b", ["Kabupaten Malang", "Kota Malang"], "berjalan"),      # the same members as malang-a
    _case("surabaya", ["Kota Surabaya", "Kabupaten Sidoarjo"], "berjalan"),
    _case("semarang", ["Kota Semarang", "Kabupaten Kendal"], "berjalan"),
    _case("balikpapan", ["Kota Balikpapan", "Kabupaten Paser"], "selesai"),
    _case("makassar", ["Kota Makassar", "Kabupaten Gowa"], "terhenti"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("visits") / "inst"
    kb = KnowledgeBase(home)
    for rec in RECORDS:
        kb.create(rec, author="uji")
    kb.mark_initialized()
    return home


@pytest.fixture(scope="module")
def rec(home):
    r = recommender_for(KnowledgeBase(home, create=False))
    r.refresh()
    return r


def _island(code: str) -> str:
    return gazetteer().get(code).island


def test_visits_group_peers_by_arrangement_with_host_members_and_questions(rec):
    res = rec.recommend({"description": TOPIC, "region": "Kota Denpasar"})
    ids = [v["id"] for v in res.visits]
    assert len([i for i in ids if i.startswith("malang")]) == 1  # same members: one arrangement
    sets = [frozenset(m["code"] for m in v["members"]) for v in res.visits]
    assert len(sets) == len(set(sets))
    v = res.visits[0]
    assert v["mechanism"].startswith("UPTD bersama") and v["third_parties"] == [f"Konsultan {v['id']}"]
    assert v["ask_about"] == [f"Pelajaran {v['id']} {i}" for i in (1, 2, 3)]
    assert v["watch_out"] == [f"Tantangan {v['id']} {i}" for i in (1, 2)]
    assert all({"code", "name", "distance_km"} <= set(m) for m in v["members"])
    assert [r["code"] for r in v["reasons"]][:2] == ["shared_terms", "status"]
    # The flat list: each region once, at most two of one arrangement among the first five.
    codes = [p["code"] for p in res.peers]
    assert len(codes) == len(set(codes))
    firsts = [p["arrangement"] for p in res.peers[:5]]
    assert max(firsts.count(a) for a in firsts) <= V.PEERS_PER_ARRANGEMENT
    assert len(set(firsts)) >= 3


def test_stopped_arrangement_comes_last_unless_the_proposer_learns_from_failure(rec):
    plain = rec.recommend({"description": TOPIC, "region": "Kota Denpasar"})
    failure = rec.recommend({"description": TOPIC, "region": "Kota Denpasar", "learn_from_failure": True})
    plain_ids, failure_ids = [v["id"] for v in plain.visits], [v["id"] for v in failure.visits]
    assert plain_ids[-1] == "makassar"
    assert failure_ids.index("makassar") < plain_ids.index("makassar")
    stopped = next(v for v in failure.visits if v["id"] == "makassar")
    assert stopped["challenges_first"] and "learn_from_failure" in [r["code"] for r in stopped["reasons"]]
    assert not next(v for v in plain.visits if v["id"] == "makassar")["challenges_first"]
    assert not any(v["challenges_first"] for v in failure.visits if v["id"] != "makassar")


def test_no_island_group_takes_the_top_places_while_another_is_relevant(rec):
    res = rec.recommend({"description": TOPIC, "region": "Kota Denpasar"})
    first3 = [v["island"] for v in res.visits[:3]]
    assert first3.count("jawa") <= V.SAME_ISLAND_LIMIT
    assert "kalimantan" in first3  # the finished Kalimantan arrangement goes before a third Jawa one


def test_plan_rules_on_plain_arrangements():
    A = V.Arrangement
    jawa = [A(f"j{i}", 1.0 - i / 100, (f"3{i}.01", f"3{i}.02"), "jawa") for i in range(4)]
    other = A("k", 0.6, ("64.01",), "kalimantan")
    faint = A("s", 0.1, ("73.01",), "sulawesi")
    order = [a.id for a, _ in V.plan(jawa + [other, faint])]
    assert order[:3] == ["j0", "j1", "k"]  # island limit: a relevant other group first
    assert order.index("s") == len(order) - 1  # not relevant: no jump over crowded ones
    twin = A("twin", 0.99, ("30.02", "30.01"), "jawa")
    assert "twin" not in [a.id for a, _ in V.plan(jawa + [twin])]
    # Overlap: sharing members with a chosen arrangement costs OVERLAP_PENALTY x Jaccard.
    b = A("b", 0.9, ("30.01", "99.01"), "x")
    c = A("c", 0.8, ("98.01",), "y")
    assert [a.id for a, _ in V.plan([jawa[0], b, c])] == ["j0", "c", "b"]


def test_route_is_nearest_neighbour_on_known_distances():
    pts = {code: Region(code, code, "kota", 0.0, x, "test") for code, x in
           (("O", 0.0), ("A", 5.0), ("B", 1.0), ("C", -2.5))}
    dist = lambda a, b: abs(a.lon - b.lon) * 100  # noqa: E731
    legs = V.route(pts["O"], [pts["A"], pts["B"], pts["C"]], dist)
    # From O the nearest is B (100 km); from B, C (350) is nearer than A (400); then A (750).
    assert [(s["from_code"], s["code"], s["leg_km"]) for s in legs] == [("O", "B", 100), ("B", "C", 350),
                                                                      ("C", "A", 750)]
    assert legs[-1]["total_km"] == 1200 and [s["order"] for s in legs] == [1, 2, 3]


def test_route_in_the_result_only_with_a_proposer(rec):
    assert rec.recommend({"description": TOPIC}).route == []
    res = rec.recommend({"description": TOPIC, "region": "Kota Denpasar"})
    g = gazetteer()
    stops = [s["code"] for s in res.route]
    assert sorted(stops) == sorted(p["code"] for p in res.peers[:5])
    here = g.get("51.71")
    for s in res.route:  # each leg goes to the nearest stop not yet visited
        left = [c for c in stops[s["order"] - 1:]]
        assert s["leg_km"] == round(min(g.distance_km(here, g.get(c)) for c in left))
        here = g.get(s["code"])


@pytest.fixture(scope="module")
def shared_app(home):
    """The module's instance served (``client``)."""
    return make_app(home, read_only=True)


def _query(**extra) -> dict:
    return {"description": TOPIC, "region": "Kota Denpasar", **extra}


def test_proposal_page_shows_the_plan_as_cards_with_a_shortlist(client):
    html = client.get("/usulan", query_string=_query()).get_data(as_text=True)
    assert html.count('<article class="visit">') >= 4
    for text in ("Daerah tujuan studi banding", "Yang perlu ditanyakan", "Waspadai", "Kelembagaan", "Rute kunjungan",
                 "Pelajaran surabaya 1", "Tantangan surabaya 2", "UPTD bersama surabaya", "Konsultan surabaya"):
        assert text in html, text
    assert "Tantangan surabaya 3" not in html  # two challenges per arrangement
    checked = re.findall(r'name="peer" value="([^"]+)" id="[^"]+" checked', html)
    assert 1 <= len(set(checked)) <= 5
    assert 'formaction="/usulan/rencana-kunjungan"' in html


def _rows(r) -> list[dict]:
    return list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))


def test_shortlist_csv_carries_the_plan_in_route_order(client):
    g = gazetteer()
    chosen = [g.resolve(n).code for n in ("Kota Surabaya", "Kota Balikpapan", "Kota Malang", "Kota Makassar")]
    r = client.get("/usulan/studi-banding.csv", query_string={**_query(learn_from_failure="y"), "peer": chosen})
    assert r.status_code == 200
    rows = _rows(r)
    assert [int(x["urutan"]) for x in rows] == sorted(int(x["urutan"]) for x in rows)
    assert {x["kode"] for x in rows} == set(chosen)
    first = rows[0]
    assert first["dari"] == "Kota Denpasar"
    nearest = min(chosen, key=lambda c: g.distance_km("51.71", c))
    assert first["kode"] == nearest and int(first["jarak_tempuh_km"]) == round(g.distance_km("51.71", nearest))
    by_code = {x["kode"]: x for x in rows}
    sby = by_code[g.resolve("Kota Surabaya").code]
    assert sby["kasus_id"] == "surabaya" and sby["status"] == "berjalan"
    assert sby["tanyakan"] == "Pelajaran surabaya 1 | Pelajaran surabaya 2 | Pelajaran surabaya 3"
    assert sby["waspadai"] == "Tantangan surabaya 1 | Tantangan surabaya 2"
    for a, b in zip(rows, rows[1:]):  # each leg starts where the one before ended
        assert b["dari"] == a["daerah"]


def test_shortlist_cells_go_through_the_neutraliser(home, tmp_path):
    copy = copy_instance(home, tmp_path / "inst")
    kb = KnowledgeBase(copy, create=False)
    kb.create(_case("formula", ["Kota Kupang"], "berjalan", lessons=["=HYPERLINK(\"x\") tanya"],
                    title="+IPAL regional formula"), author="uji")
    c = make_app(copy).test_client()
    r = c.get("/usulan/studi-banding.csv", query_string={**_query(), "peer": [gazetteer().resolve("Kota Kupang").code]})
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert any(cell.startswith("'+IPAL") for cell in rows[1]) and any(cell.startswith("'=HYPERLINK") for cell in rows[1])


def test_printable_plan_is_a4_without_navigation_dated_in_both_languages(client):
    g = gazetteer()
    chosen = [g.resolve(n).code for n in ("Kota Surabaya", "Kota Balikpapan")]
    q = {**_query(), "peer": chosen}
    html = client.get("/usulan/rencana-kunjungan", query_string=q).get_data(as_text=True)
    assert "<nav" not in html and "plan.css" in html
    for text in ("Rencana kunjungan studi banding", "Rute kunjungan", "Kota Denpasar", TOPIC, "IPAL regional surabaya",
                 "IPAL regional balikpapan", "Pelajaran balikpapan 3", "Disusun dengan Sinergi pada "):
        assert text in html, text
    assert "IPAL regional semarang" not in html  # only the arrangements of the chosen regions
    # Described in route order: Surabaya is nearer to Denpasar than Balikpapan.
    described = html.split("Kerja sama yang dikunjungi", 1)[1]
    assert described.index("IPAL regional surabaya") < described.index("IPAL regional balikpapan")
    with client.get("/static/plan.css") as r:
        css = r.get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css
    assert client.get("/lang/en").status_code == 302
    english = client.get("/usulan/rencana-kunjungan", query_string=q).get_data(as_text=True)
    assert "Study-visit plan" in english and "Visit route" in english and "Prepared with Sinergi on " in english
    assert "Rute kunjungan" not in english
    client.get("/lang/id")
    assert client.get("/usulan/rencana-kunjungan", query_string=_query()).status_code == 400  # nothing chosen


def test_cli_peers_prints_the_grouped_plan_and_route(shared_app):
    runner = shared_app.test_cli_runner()
    r = runner.invoke(args=["peers", "--topic", TOPIC, "--region", "Kota Denpasar"])
    assert r.exit_code == 0, r.output
    assert "Rencana studi banding per kerja sama:" in r.output and "Tanyakan: Pelajaran" in r.output
    assert "Rute kunjungan (terdekat lebih dulu):" in r.output and "Kota Denpasar →" in r.output
    r = runner.invoke(args=["peers", "--topic", TOPIC, "--region", "Kota Denpasar", "--lang", "en"])
    for text in ("Study-visit plan by arrangement:", "Institution: UPTD bersama", "Members: ", "Ask: Pelajaran",
                 "Watch out: Tantangan", "Visit route (nearest first):", "(total ±"):
        assert text in r.output, text
    assert not any(word in r.output for word in ("Kelembagaan", "Anggota:", "Tanyakan", "Rute"))
    r = runner.invoke(args=["peers", "--topic", TOPIC, "--learn-from-failure", "--json", "--lang", "en"])
    out = json.loads(r.output)
    assert out["visits"] and out["peers"] and out["route"] == []
    stopped = next(v for v in out["visits"] if v["id"] == "makassar")
    assert "chosen to learn from a stopped cooperation" in stopped["why"]


def test_api_peers_gives_visits_and_route(client):
    out = client.get("/api/v1/peers", query_string={"topic": TOPIC, "region": "Kota Denpasar"}).get_json()
    assert out["visits"] and out["route"] and out["peers"]
    assert out["visits"][0]["why"] and out["route"][0]["from_name"] == "Kota Denpasar"
    assert client.get("/api/v1/peers", query_string={"topic": TOPIC, "learn_from_failure": "maybe"}).status_code == 400


def test_the_proposers_own_arrangements_are_no_study_visit(rec):
    res = rec.recommend({"description": TOPIC, "region": "Kota Malang"})
    assert not any(v["id"].startswith("malang") for v in res.visits)
    assert gazetteer().resolve("Kabupaten Malang").code not in [p["code"] for p in res.peers]
    assert res.visits and res.route


def test_peer_precision_is_also_reported_over_the_peers_that_can_be_found():
    from recommender.evaluate import _peer_metrics

    # Two expected peers, both among the first five: precision@5 cannot pass 0.4, the
    # precision over what can be found is complete.
    assert _peer_metrics(["a", "x", "b", "y", "z"], ["a", "b"]) == (1.0, 0.4, 1.0)
    assert _peer_metrics(["x", "y"], ["a", "b", "c", "d", "e", "f"]) == (0.0, 0.0, 0.0)


def _plan_by_definition(candidates):
    """The visit plan as its docstring defines it, each step comparing every remaining
    arrangement with every chosen one (the reference for the incremental version)."""
    from collections import Counter

    from recommender import visits as v

    rest = sorted(candidates, key=lambda a: -a.score)
    floor = v.RELEVANT_SHARE * rest[0].score if rest else 0.0
    chosen, member_sets, islands = [], set(), Counter()
    while rest:
        scored = []
        for i, a in enumerate(rest):
            overlap = max((v._overlap(a.members, c.members) for c, _ in chosen), default=0.0)
            crowded = len(chosen) < v.DIVERSE_TOP and islands[a.island] >= v.SAME_ISLAND_LIMIT
            scored.append((a.score * (1.0 - v.OVERLAP_PENALTY * overlap), crowded, i))
        others = [x for x in scored if not x[1] and x[0] >= floor]
        adj, _, i = max(others or scored, key=lambda x: (x[0], -x[2]))
        a = rest.pop(i)
        if not a.members or frozenset(a.members) in member_sets:
            continue
        member_sets.add(frozenset(a.members))
        islands[a.island] += 1
        chosen.append((a, adj))
    return chosen


def test_the_visit_plan_is_the_one_its_definition_gives_on_random_candidates():
    import random

    from recommender.visits import Arrangement, plan

    rng = random.Random(11)
    codes = [f"{i}.{j:02d}" for i in range(11, 20) for j in range(1, 12)]
    for _ in range(300):
        cands = [Arrangement(f"c{k}", round(rng.random(), rng.choice([1, 3])),
                             tuple(dict.fromkeys(rng.sample(codes, rng.randint(0, 4)))),
                             rng.choice(["sumatera", "jawa", "sulawesi", None]))
                 for k in range(rng.randint(0, 40))]
        cands += [Arrangement(f"d{k}", c.score, c.members, c.island) for k, c in enumerate(cands[:3])]
        assert [(a.id, s) for a, s in plan(cands)] == [(a.id, s) for a, s in _plan_by_definition(cands)]
