"""The legal path of a proposal: which kind of regional cooperation it is, whether a cooperation
between regions is likely mandatory, and the steps the regulations set out, each with the
lessons of similar cases that concern it.

The rules (stated in our own words; guidance, not a legal opinion):

- PP 28/2018 (Pasal 1) names four kinds: with another Indonesian region (KSDD), with a third
  party (KSDPK), with a regional government abroad (KSDPL) and with an institution abroad
  (KSDLL). Each kind of partner is its own agreement; a proposal naming several kinds has a
  ``primary`` type (the first of that order) and the ``types`` it involves, and one path whose
  steps say which types they apply to.
- A KSDD is mandatory (``wajib``) between bordering regions for affairs with effects across
  their borders or that are served more efficiently together, else voluntary (``sukarela``).
  A mandatory cooperation left undone is taken over: by the governor as the central
  government's representative between regencies/cities of one province, by the minister
  otherwise (PP 28/2018; Permendagri 22/2020 on taking over the affairs).
- The DPRD approves a cooperation that burdens the community and the region, or whose funding
  is not in the current year's APBD (PP 28/2018).
- The steps of KSDD and KSDPK follow Permendagri 22/2020 (which PP 28/2018 Pasal 6 ayat (4)
  delegates to the minister); KSDPL and KSDLL need the central government's approval through the
  Minister of Home Affairs, coordinated with the Ministry of Foreign Affairs (PP 28/2018), and
  Permendagri 22/2020 does not cover them.

Article numbers are cited only where they were checked against the regulation's text; the rest
cite the regulation. Everything leaves this module as data: reasons as ``{code, values}`` and
the Indonesian labels of the catalogue (``N_``), worded by :func:`worded` in the reader's
language. No Flask here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from kb.gazetteer import Region, gazetteer
from kb.text import terms

from .reasons import N_, Wording, reason

# Affairs whose effects cross borders (water basins and water, waste, sanitation, transport,
# spatial planning and borders, disasters, the environment): between bordering regions a
# cooperation on them may be mandatory under PP 28/2018.
EXTERNALITY_SECTORS = frozenset({"air-minum", "persampahan", "sanitasi", "transportasi", "tata-ruang-perbatasan",
                                 "kebencanaan", "lingkungan-sda"})
TYPES = ("KSDD", "KSDPK", "KSDPL", "KSDLL")   # PP 28/2018's order; the first named is primary
FOREIGN_KINDS = ("pemerintah", "lembaga")
LESSONS_PER_STEP = 3
LESSON_CASES = 10                              # the most similar cases whose lessons are read
DISCLAIMER = N_("Ini panduan, bukan pendapat hukum. Periksa setiap langkah dengan Bagian Kerja Sama dan Bagian "
                "Hukum Sekretariat Daerah serta peraturan yang berlaku.")

# A foreign partner named by a bare string: generic words of regional governments abroad and of
# institutions. An institution word wins (a "State University" is not a state).
GOVERNMENT_WORDS = frozenset({
    "prefecture", "prefektur", "province", "provinsi", "provincia", "provinz", "state", "city", "kota", "town",
    "ken", "shi", "ku", "fu", "do", "si", "gun", "sheng", "county", "gemeente", "provincie", "municipality",
    "municipal", "munisipalitas", "metropolitan", "stadt", "land", "ville", "region", "regione", "oblast",
    "kommune", "council", "government", "pemerintah", "pemerintahan", "district", "borough", "prefeitura",
    "governorate", "canton", "departement", "département", "commune", "comune", "ciudad"})
INSTITUTION_WORDS = frozenset({
    "university", "universitas", "universiteit", "universität", "college", "institute", "institut", "lembaga",
    "agency", "badan", "foundation", "yayasan", "stiftung", "bank", "company", "corporation", "corp", "inc",
    "ltd", "co", "gmbh", "bv", "association", "asosiasi", "organisation", "organization", "ngo", "lsm",
    "programme", "program", "fund", "dana", "centre", "center", "jica", "giz", "usaid", "kfw", "koica", "undp",
    "unicef", "who", "adb", "ministry", "kementerian", "embassy", "kedutaan", "chamber", "network"})

# Phrases that say plainly which kind of partner a proposal has in mind (when it names none).
TEXT_TYPES: dict[str, tuple[str, ...]] = {
    "KSDPL": ("sister city", "sister province", "kota kembar", "kota bersaudara", "provinsi kembar",
              "pemerintah daerah di luar negeri", "pemerintah daerah luar negeri", "prefektur", "prefecture",
              "foreign regional government", "foreign city"),
    "KSDLL": ("lembaga luar negeri", "lembaga di luar negeri", "lembaga asing", "lembaga internasional",
              "donor internasional", "organisasi internasional", "foreign institution", "international agency",
              "international donor"),
    "KSDPK": ("pihak ketiga", "swasta", "badan usaha", "bumn", "bumd", "investor", "kpbu", "perguruan tinggi",
              "universitas", "lsm", "operator swasta", "third party", "private operator", "private company",
              "private partner", "university"),
    "KSDD": ("antar daerah", "antardaerah", "antar-daerah", "daerah tetangga", "kabupaten tetangga",
             "kota tetangga", "provinsi tetangga", "daerah lain", "kabupaten lain", "kota lain", "kabupaten/kota lain",
             "dengan kabupaten", "dengan kota", "dengan provinsi", "neighbouring regenc", "neighboring regenc",
             "neighbouring cit", "neighboring cit", "other regions", "between regions", "inter-regional"),
}

# Generic words per step (Indonesian and English) that a lesson about that step uses; matched
# through the analyzer's stems, so any affix or form of them counts.
STEP_WORDS: dict[str, tuple[str, str]] = {
    "persiapan": ("tim koordinasi kajian identifikasi pemetaan kelembagaan sekretariat",
                  "team coordination study assessment mapping"),
    "seleksi_pihak_ketiga": ("lelang tender investor swasta pengadaan seleksi operator kpbu badan usaha mitra",
                             "tender investor private procurement selection operator bidder"),
    "penawaran": ("penawaran tawaran inisiatif minat usulan", "offer initiative interest proposal"),
    "persetujuan_pusat": ("kementerian kemendagri kemlu pusat diplomatik luar negeri",
                          "ministry central diplomatic foreign"),
    "ksb": ("kesepakatan sepakat mou nota kesepahaman", "memorandum understanding mou"),
    "pks": ("perjanjian kontrak klausul kewajiban hak tarif", "agreement contract clause obligation tariff"),
    "dprd": ("dprd dewan legislatif", "council legislature parliament"),
    "penandatanganan": ("ditandatangani penandatanganan tanda tangan diteken", "signed signing signature"),
    "pelaksanaan": ("anggaran iuran biaya dana apbd pendanaan pelaksana pengelola operasional",
                    "budget contribution cost funding operating"),
    "pelaporan": ("laporan pelaporan dilaporkan", "report reporting"),
    "monev": ("evaluasi pemantauan monitoring indikator kinerja capaian target pengawasan",
              "evaluation monitoring indicator performance target oversight"),
}


# -- partners ------------------------------------------------------------------------------
class ThirdParty(BaseModel):
    """A third party: a company, BUMN/BUMD, university, NGO..."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    kind: str | None = Field(None, max_length=60, description="e.g. swasta, BUMN, BUMD, universitas, LSM")


class ForeignPartner(BaseModel):
    """A partner abroad: a regional government (prefecture, province, state, city) or an
    institution (agency, NGO, company). Without a kind it is inferred from generic words."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    kind: str | None = Field(None, pattern="^(pemerintah|lembaga)$",
                             description="pemerintah: a foreign regional government; lembaga: a foreign institution")


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+|_", name.casefold()) if w]


def foreign_kind(name: str) -> tuple[str, bool]:
    """The kind of a foreign partner named by ``name`` alone and whether a generic word said so:
    an institution word first, then a government word; with neither, an institution (not
    said)."""
    words = set(_words(name))
    if words & INSTITUTION_WORDS:
        return "lembaga", True
    if words & GOVERNMENT_WORDS:
        return "pemerintah", True
    return "lembaga", False


def split_named(value: str, kinds: Iterable[str] | None = None) -> dict:
    """``"name | kind"`` (a form line) or ``"name=kind"`` (a command-line value) as ``{name, kind}``;
    with ``kinds``, a kind outside them stays part of the name."""
    for sep in ("|", "="):
        if sep in value:
            name, kind = (x.strip() for x in value.rsplit(sep, 1))
            if name and kind and (kinds is None or kind.casefold() in kinds):
                return {"name": name, "kind": kind.casefold() if kinds is not None else kind}
    return {"name": value.strip()}


# -- the analysis --------------------------------------------------------------------------
@functools.cache
def _step_stems() -> dict[str, frozenset[str]]:
    return {key: frozenset(terms(id_words, "id")) | frozenset(terms(en_words, "en"))
            for key, (id_words, en_words) in STEP_WORDS.items()}


@functools.cache
def _type_pattern(kind: str) -> re.Pattern:
    """Any phrase of ``TEXT_TYPES[kind]`` at the start of a word, as one compiled pattern."""
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(p) for p in TEXT_TYPES[kind]) + ")")


def types_in_text(text: str) -> list[str]:
    """The cooperation types ``text`` names plainly, in PP 28/2018's order."""
    folded = " " + " ".join(text.casefold().split()) + " "
    found = []
    for t in TYPES:
        if _type_pattern(t).search(folded):
            found.append(t)
    return found


def bordering_pairs(regions: list[Region]) -> list[tuple[Region, Region, str]]:
    """Pairs of ``regions`` of one level that border each other, with the kind of border."""
    g = gazetteer()
    out = []
    for i, a in enumerate(regions):
        kinds = {r.code: kind for r, kind in g.neighbours(a)}
        for b in regions[i + 1:]:
            if b.code in kinds and a.is_province == b.is_province:
                out.append((a, b, kinds[b.code]))
    return out


def mandatory_neighbours(proposer: Region, sectors: list[str]) -> dict | None:
    """When ``sectors`` hold affairs with cross-border externalities and the proposer has land
    neighbours of its level: those neighbours, with whom PP 28/2018 may make a cooperation on
    them mandatory (the ``mandatory`` answer of a recommendation)."""
    affairs = [s for s in sectors if s in EXTERNALITY_SECTORS]
    land = [r for r, kind in gazetteer().neighbours(proposer) if kind == "land" and r.is_province == proposer.is_province]
    if not affairs or not land:
        return None
    return {"sectors": affairs, "regions": [r.as_ref() for r in land], "basis": "PP 28/2018"}


def _obligation(proposer: Region | None, partners: list[Region], affairs: list[str],
                reasons: list[dict]) -> dict:
    """Mandatory or voluntary for a KSDD, with the reasons (appended to ``reasons``)."""
    if proposer is None or not partners:
        reasons.append(reason("legal_obligation_unknown"))
        return {"value": None, "pairs": [], "sectors": [], "takeover": None}
    members = [proposer] + [p for p in partners if p.code != proposer.code]
    pairs = bordering_pairs(members)
    externality = [s for s in affairs if s in EXTERNALITY_SECTORS]
    refs = [{"a": a.as_ref(), "b": b.as_ref(), "border": kind} for a, b, kind in pairs]
    named = "; ".join(f"{a.name} – {b.name}" for a, b, _ in pairs)
    if pairs:
        reasons.append(reason("legal_bordering", pairs=named))
    else:
        reasons.append(reason("legal_not_bordering"))
    if externality:
        reasons.append(reason("legal_externality", sectors=externality))
    elif affairs:
        reasons.append(reason("legal_no_externality", sectors=affairs))
    else:
        reasons.append(reason("legal_affairs_unknown"))
    if not (pairs and externality):
        reasons.append(reason("legal_sukarela"))
        return {"value": "sukarela", "pairs": refs, "sectors": externality, "takeover": None}
    bound = {r.code for a, b, _ in pairs for r in (a, b)}
    in_pairs = [r for r in members if r.code in bound]
    one_province = all(not r.is_province for r in in_pairs) and len({r.province_code for r in in_pairs}) == 1
    takeover = "gubernur" if one_province else "menteri"
    reasons.append(reason("legal_wajib"))
    reasons.append(reason("legal_takeover_" + takeover))
    return {"value": "wajib", "pairs": refs, "sectors": externality, "takeover": takeover}


def _dprd(burdens: bool | None, in_budget: bool | None) -> tuple[str, list[dict]]:
    """The DPRD step's state (required / not_required / ask) and why."""
    why = []
    if burdens:
        why.append(reason("legal_dprd_burdens"))
    if in_budget is False:
        why.append(reason("legal_dprd_not_budgeted"))
    if why:
        return "required", why
    if burdens is False and in_budget is True:
        return "not_required", [reason("legal_dprd_not_required")]
    if burdens is None:
        why.append(reason("legal_dprd_ask_burdens"))
    if in_budget is None:
        why.append(reason("legal_dprd_ask_budget"))
    return "ask", why


def _step(key: str, title: str, basis: list[str], actor: str, documents: list[str], types: list[str],
          reasons: list[dict] | None = None, status: str | None = None) -> dict:
    return {"key": key, "title": title, "basis": basis, "actor": actor, "documents": documents, "types": types,
            "status": status, "reasons": reasons or [], "lessons": []}


PP = "PP 28/2018"
PM = "Permendagri 22/2020"


def _steps(types: list[str], dprd: tuple[str, list[dict]]) -> list[dict]:
    """The path in order; a type-specific step names the types it belongs to."""
    foreign = [t for t in types if t in ("KSDPL", "KSDLL")]
    domestic = not types or any(t in ("KSDD", "KSDPK") for t in types)
    every = types or ["KSDD", "KSDPK"]
    # KSDD's steps are delegated to the minister by PP 28/2018 Pasal 6 ayat (4) and set out, with
    # KSDPK's, in Permendagri 22/2020; the foreign types follow PP 28/2018 itself.
    basis_steps = (([PP + " Pasal 6 ayat (4)"] if not types or "KSDD" in types else [])
                   + ([PM] if domestic else []) + ([PP] if foreign or types == ["KSDPK"] else []))
    steps = [_step("persiapan", N_("Persiapan dan tim koordinasi kerja sama daerah (TKKSD)"), [PM, PP],
                   N_("Kepala daerah; TKKSD; perangkat daerah teknis"),
                   [N_("Keputusan kepala daerah tentang TKKSD"), N_("Identifikasi urusan dan rencana kerja sama"),
                    N_("Kajian manfaat dan pembiayaan")], every)]
    if "KSDPK" in types:
        steps.append(_step("seleksi_pihak_ketiga", N_("Pemilihan mitra pihak ketiga"), [PM, PP],
                           N_("TKKSD; perangkat daerah teknis; panitia pemilihan"),
                           [N_("Studi kelayakan"), N_("Dokumen pemilihan mitra (terbuka dan bersaing)"),
                            N_("Penetapan mitra")], ["KSDPK"], [reason("legal_third_party_selection")]))
    steps.append(_step("penawaran", N_("Penawaran kerja sama"), basis_steps,
                       N_("Kepala daerah pengusul"), [N_("Surat penawaran"), N_("Rencana kerja sama")], every))
    if foreign:
        steps.append(_step("persetujuan_pusat", N_("Persetujuan Pemerintah Pusat"), [PP],
                           N_("Kepala daerah; Menteri Dalam Negeri; Kementerian Luar Negeri"),
                           [N_("Rencana kerja sama luar negeri"), N_("Surat permohonan persetujuan"),
                            N_("Pertimbangan Kementerian Luar Negeri")], foreign, [reason("legal_central_route")]))
    steps += [
        _step("ksb", N_("Kesepakatan bersama (KSB)"), basis_steps,
              N_("Kepala daerah para pihak"), [N_("Naskah kesepakatan bersama")], every),
        _step("pks", N_("Penyusunan perjanjian kerja sama (PKS)"), basis_steps,
              N_("TKKSD; perangkat daerah teknis para pihak"),
              [N_("Rancangan PKS: hak dan kewajiban, pembiayaan, jangka waktu, penyelesaian perselisihan")], every),
        _step("dprd", N_("Tahap persetujuan DPRD"), [PP], N_("Kepala daerah mengajukan; DPRD memutuskan"),
              [N_("Surat permohonan persetujuan DPRD"), N_("Rancangan KSB/PKS dan kajiannya")], every,
              dprd[1], dprd[0]),
        _step("penandatanganan", N_("Penandatanganan PKS"),
              ([PP + " Pasal 2 ayat (2)"] if not types or "KSDD" in types else [PP]) + ([PM] if domestic else []),
              N_("Kepala daerah, atau pejabat yang diberi kuasa"), [N_("PKS yang ditandatangani"),
                                                                  N_("Surat kuasa (bila dikuasakan)")], every),
        _step("pelaksanaan", N_("Pelaksanaan kerja sama"), basis_steps, N_("Perangkat daerah teknis; badan atau sekretariat "
                                                              "kerja sama bila dibentuk"),
              [N_("Rencana kerja tahunan"), N_("Anggaran dalam APBD masing-masing pihak")], every),
        _step("pelaporan", N_("Pelaporan berkala"), basis_steps,
              N_("Perangkat daerah teknis kepada kepala daerah; kepala daerah kepada gubernur (kabupaten/kota) "
                 "atau Menteri Dalam Negeri (provinsi)"), [N_("Laporan pelaksanaan berkala")], every),
        _step("monev", N_("Pemantauan dan evaluasi"), basis_steps, N_("TKKSD; para pihak"),
              [N_("Indikator keberhasilan"), N_("Laporan evaluasi: dilanjutkan, diubah atau diakhiri")], every),
    ]
    return steps


# Where a slim record keeps the step stems of its lessons and challenges (see step_stems).
STEP_STEMS_KEYS = {"lessons": "lesson_stems", "challenges": "challenge_stems"}


@functools.cache
def _any_step_stems() -> frozenset[str]:
    return frozenset().union(*_step_stems().values())


def step_stems(text: str, lang: str) -> list[str]:
    """The stems of a lesson or challenge that some step's generic words share: all that
    attaching it to a step needs. Worked out when a record enters the recommender's model
    (see :func:`recommender.holder.slim`), so that an answer does not stem its cases' lessons
    (Sastrawi takes ~1 ms for a word it has not seen)."""
    return sorted(frozenset(terms(text, lang)) & _any_step_stems())


@functools.lru_cache(maxsize=4096)
def _sentence_stems(text: str, lang: str) -> frozenset[str]:
    """The step stems of a lesson or challenge of a record without them (a model saved
    before they were kept)."""
    return frozenset(step_stems(text, lang))


def _attach_lessons(steps: list[dict], cases: list[dict]) -> None:
    """Give each step the lessons and challenges of ``cases`` that concern it: a sentence goes to
    the step whose generic words it shares most (the earlier step on a tie), at most
    ``LESSONS_PER_STEP`` a step."""
    stems = _step_stems()
    keys = [s["key"] for s in steps]
    by_key = {s["key"]: s for s in steps}
    seen: set[str] = set()
    for rec in cases[:LESSON_CASES]:
        lang = rec.get("language") or "id"
        for kind in ("lessons", "challenges"):
            known = rec.get(STEP_STEMS_KEYS[kind]) or []
            for j, text in enumerate(rec.get(kind, [])):
                if text in seen:
                    continue
                words = frozenset(known[j]) if j < len(known) else _sentence_stems(text, lang)
                scores = [(len(words & stems[k]), -i, k) for i, k in enumerate(keys) if k in stems]
                best = max(scores, default=(0, 0, None))
                if best[0] == 0:
                    continue
                step = by_key[best[2]]
                if len(step["lessons"]) < LESSONS_PER_STEP:
                    seen.add(text)
                    step["lessons"].append({"text": text, "case": rec["id"], "title": rec["title"],
                                            "kind": "lesson" if kind == "lessons" else "challenge"})


def legal_path(*, proposer: Region | None, partners: list[Region], third_parties: list[dict],
               foreign_partners: list[dict], sectors: list[str], text: str, cases: list[dict],
               burdens_community: bool | None = None, in_current_budget: bool | None = None) -> dict:
    """The legal path of a proposal as data (see the module's docstring). ``sectors`` are the
    proposal's affairs (given, or those of its most similar case); ``cases`` the similar cases
    (slim records, best first) whose lessons are attached to the steps."""
    reasons: list[dict] = []
    foreign = []
    for fp in foreign_partners:
        kind, said = (fp["kind"], True) if fp.get("kind") else foreign_kind(fp["name"])
        inferred = not fp.get("kind")
        foreign.append({"name": fp["name"], "kind": kind, "kind_inferred": inferred})
        if inferred:
            code = ("legal_foreign_assumed" if not said else
                    "legal_foreign_government_inferred" if kind == "pemerintah" else "legal_foreign_institution_inferred")
            reasons.append(reason(code, name=fp["name"]))
    named = []
    if partners:
        named.append("KSDD")
    if third_parties:
        named.append("KSDPK")
    named += [t for t, k in (("KSDPL", "pemerintah"), ("KSDLL", "lembaga")) if any(f["kind"] == k for f in foreign)]
    source = "partners"
    if not named:
        named, source = types_in_text(text), "text"
        if not named:
            source = "unknown"
    types = [t for t in TYPES if t in named]
    if source == "partners":
        reasons.append(reason("legal_type_partners", types=", ".join(types)))
    elif source == "text":
        reasons.append(reason("legal_type_text", types=", ".join(types)))
    else:
        reasons.append(reason("legal_type_unknown"))
    if len(types) > 1:
        reasons.append(reason("legal_several_types", primary=types[0], types=", ".join(types)))
    obligation = None
    if "KSDD" in types:
        obligation = _obligation(proposer, partners, sectors, reasons)
    dprd = _dprd(burdens_community, in_current_budget)
    steps = _steps(types, dprd)
    _attach_lessons(steps, cases)
    questions = []
    if source != "partners":
        questions.append("partners")
    if proposer is None:
        questions.append("region")
    if dprd[0] == "ask":
        questions += [q for q, v in (("burdens_community", burdens_community), ("in_current_budget", in_current_budget))
                      if v is None]
    return {"cooperation_type": {"primary": types[0] if types else None, "types": types, "source": source},
            "partners": {"regions": [r.as_ref() for r in partners], "third_parties": list(third_parties),
                         "foreign": foreign},
            "obligation": obligation, "questions": questions, "reasons": reasons, "steps": steps,
            "disclaimer": DISCLAIMER}


def worded(legal: dict, w: Wording | None = None) -> dict:
    """``legal`` with its reasons worded (``why``) and its labels in ``w``'s language."""
    w = w or Wording()
    _ = w.gettext
    steps = [{**s, "title": _(s["title"]), "actor": _(s["actor"]), "documents": [_(d) for d in s["documents"]],
              "why": w.reasons(s["reasons"])} for s in legal["steps"]]
    return {**legal, "why": w.reasons(legal["reasons"]), "steps": steps, "disclaimer": _(legal["disclaimer"])}


__all__ = ["EXTERNALITY_SECTORS", "ForeignPartner", "ThirdParty", "TYPES", "bordering_pairs", "foreign_kind",
           "legal_path", "mandatory_neighbours", "split_named", "types_in_text", "worded"]
