"""Why a record, a peer or a partner is recommended: reasons as data, worded for a reader.

The recommender gives every reason as ``{"code": ..., "values": {...}}`` and never a sentence.
Whoever shows it (the web app, the JSON API, the command line) words it with :class:`Wording`
in the reader's language: the templates below are Indonesian messages of the catalogue
(``webapp/translations``; pybabel extracts ``N_``), and values that are vocabulary keys
(sectors, statuses) are worded through the catalogue too. Record content (shared terms, case
titles, region names) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from babel.numbers import format_decimal

from kb.vocab import SECTORS, STATUSES

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated where it is worded."""
    return message


# One template per reason code; ``%(name)s`` takes the worded value of ``values[name]``.
TEMPLATES: dict[str, str] = {
    "shared_terms": N_("istilah bersama: %(terms)s"),
    "same_sectors": N_("bidang sama: %(sectors)s"),
    "status": N_("status: %(status)s"),
    "relevant_cases": N_("kasus relevan (%(count)s): %(titles)s"),
    "case_statuses": N_("status kasus: %(statuses)s"),
    "distance": N_("jarak dari %(region)s: ±%(km)s km"),
    "nearest": N_("terdekat: ±%(km)s km dari %(region)s"),
    "same_province": N_("satu provinsi"),
    "bordering_land": N_("berbatasan darat dengan %(region)s"),
    "bordering_sea": N_("tetangga laut %(region)s (tanpa batas darat)"),
    "topic_experience": N_("berpengalaman dalam topik ini"),
    "already_cooperating": N_("sudah bekerja sama dengan %(region)s: %(titles)s"),
    "learn_from_failure": N_("dipilih untuk belajar dari kerja sama yang terhenti"),
    "nearest_member": N_("anggota terdekat: %(member)s, ±%(km)s km dari %(region)s"),
    # the legal path (recommender/legal.py)
    "legal_type_partners": N_("jenis kerja sama menurut mitra yang disebut: %(types)s"),
    "legal_type_text": N_("belum ada mitra yang disebut; uraian usulan menyebut jenis kerja sama: %(types)s"),
    "legal_type_unknown": N_("jenis kerja sama bergantung pada mitranya: sebutkan daerah, pihak ketiga atau mitra "
                             "luar negeri yang dituju"),
    "legal_several_types": N_("mitra dari beberapa jenis: tiap jenis diatur dalam perjanjiannya sendiri; jenis "
                              "utama %(primary)s (urutan PP 28/2018) dari %(types)s"),
    "legal_foreign_government_inferred": N_("“%(name)s” dianggap pemerintah daerah di luar negeri (disimpulkan "
                                            "dari namanya)"),
    "legal_foreign_institution_inferred": N_("“%(name)s” dianggap lembaga di luar negeri (disimpulkan dari namanya)"),
    "legal_foreign_assumed": N_("jenis “%(name)s” tidak tersirat dari namanya: dianggap lembaga di luar negeri; "
                                "sebutkan jenisnya bila itu pemerintah daerah"),
    "legal_obligation_unknown": N_("wajib atau sukarela belum dapat ditentukan: sebutkan daerah pengusul dan "
                                   "daerah mitra"),
    "legal_bordering": N_("daerah yang berbatasan: %(pairs)s"),
    "legal_not_bordering": N_("tidak ada pasangan daerah yang berbatasan"),
    "legal_externality": N_("urusan yang berdampak lintas batas daerah: %(sectors)s"),
    "legal_no_externality": N_("urusan usulan (%(sectors)s) tidak termasuk urusan yang berdampak lintas batas"),
    "legal_affairs_unknown": N_("bidang urusan belum diketahui: pilih bidangnya"),
    "legal_wajib": N_("kemungkinan kerja sama wajib: daerah yang berbatasan dan urusan yang berdampak lintas "
                      "batas atau lebih efisien dikelola bersama (PP 28/2018)"),
    "legal_sukarela": N_("kerja sama sukarela: daerah boleh bekerja sama bila lebih efektif dan efisien, "
                         "berbatasan atau tidak (PP 28/2018)"),
    "legal_takeover_gubernur": N_("bila kerja sama wajib tidak dilaksanakan, gubernur sebagai wakil Pemerintah "
                                  "Pusat mengambil alih urusan itu (kabupaten/kota dalam satu provinsi)"),
    "legal_takeover_menteri": N_("bila kerja sama wajib tidak dilaksanakan, Menteri mengambil alih urusan itu "
                                 "(antarprovinsi, atau kabupaten/kota dari provinsi yang berbeda)"),
    "legal_dprd_burdens": N_("diperlukan: rencana kerja sama membebani masyarakat dan daerah"),
    "legal_dprd_not_budgeted": N_("diperlukan: pendanaannya belum dianggarkan dalam APBD tahun berjalan"),
    "legal_dprd_not_required": N_("tidak diperlukan: tidak membebani masyarakat dan daerah, dan pendanaannya "
                                  "sudah ada dalam APBD tahun berjalan"),
    "legal_dprd_ask_burdens": N_("pertanyaan: apakah rencana ini membebani masyarakat dan daerah? Bila ya, "
                                 "persetujuan DPRD diperlukan"),
    "legal_dprd_ask_budget": N_("pertanyaan: apakah pendanaannya sudah ada dalam APBD tahun berjalan? Bila "
                                "belum, persetujuan DPRD diperlukan"),
    "legal_third_party_selection": N_("mitra pihak ketiga dipilih secara terbuka sesuai ketentuan, setelah studi "
                                      "kelayakan"),
    "legal_central_route": N_("kerja sama dengan pihak luar negeri memerlukan persetujuan Pemerintah Pusat "
                              "melalui Menteri Dalam Negeri, berkoordinasi dengan Kementerian Luar Negeri; "
                              "Permendagri 22/2020 tidak mengatur jenis ini"),
}
MESSAGES: dict[str, str] = {
    "no_match": N_("Tidak ditemukan kasus atau praktik yang relevan dengan usulan ini."),
}
NO_STATUS = N_("tanpa status")
TITLES_SHOWN = 2  # titles named in a reason; more are shown as "…"


def reason(code: str, **values) -> dict:
    """A reason as data: its code (a key of :data:`TEMPLATES`) and the values it names."""
    if code not in TEMPLATES:
        raise ValueError(f"unknown reason code {code!r}; known: {', '.join(TEMPLATES)}")
    return {"code": code, "values": values}


def distinct(words: Iterable[str]) -> list[str]:
    """``words`` in order without repeats, compared as a reader sees them (case and spacing
    ignored): a concept and its own word must not read "sampah, sampah"."""
    seen: set[str] = set()
    out = []
    for w in words:
        key = " ".join(str(w).split()).casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(w)
    return out


class Wording:
    """Reasons and messages in one language: ``gettext`` looks a message up in that language's
    catalogue (Indonesian, the source language, needs none), ``lang`` formats the numbers."""

    def __init__(self, gettext: Gettext | None = None, lang: str = "id"):
        self.gettext = gettext or (lambda s: s)
        self.lang = lang

    # -- values ------------------------------------------------------------------------------
    def _sector(self, key: str) -> str:
        return self.gettext(SECTORS[key]) if key in SECTORS else key

    def status_label(self, key: str | None) -> str:
        """A case status as this language names it (lower case: it is read inside a line)."""
        return self._status(key)

    def _status(self, key: str | None) -> str:
        label = self.gettext(STATUSES[key]) if key in STATUSES else self.gettext(NO_STATUS) if not key else key
        return label[:1].lower() + label[1:]

    def _titles(self, titles: list[str], count: int | None = None) -> str:
        more = (count or len(titles)) > TITLES_SHOWN
        return "; ".join(titles[:TITLES_SHOWN]) + (" …" if more else "")

    def _number(self, value: float) -> str:
        return format_decimal(round(value), locale=self.lang)

    def content(self, text: str) -> str:
        """Record content inside a reason (terms, titles, region names), shown as written: a
        subclass may mark it (the web app marks it ``translate="no"``)."""
        return text

    def fill(self, template: str, values: dict) -> str:
        """``template`` (a translated message) with its worded ``values``."""
        return template % values

    def _values(self, code: str, v: dict) -> dict[str, str]:
        out = {k: str(x) for k, x in v.items() if isinstance(x, (str, int, float))}
        if "region" in v:
            out["region"] = self.content(str(v["region"]))
        if "pairs" in v:
            out["pairs"] = self.content(str(v["pairs"]))
        if "name" in v:
            out["name"] = self.content(str(v["name"]))
        if "member" in v:
            out["member"] = self.content(str(v["member"]))
        if "terms" in v:
            out["terms"] = self.content(", ".join(distinct(v["terms"])))
        if "sectors" in v:
            out["sectors"] = ", ".join(distinct(self._sector(s) for s in v["sectors"]))
        if "status" in v:
            out["status"] = self._status(v["status"])
        if "statuses" in v:
            out["statuses"] = ", ".join(distinct(self._status(s) for s in v["statuses"]))
        if "titles" in v:
            out["titles"] = self.content(self._titles(v["titles"], v.get("count")))
        if "km" in v:
            out["km"] = self._number(v["km"])
        if "count" in v:
            out["count"] = self._number(v["count"])
        return out

    # -- sentences ---------------------------------------------------------------------------
    def reason(self, r: dict) -> str:
        """One reason as a sentence of this language."""
        template = TEMPLATES.get(r.get("code", ""))
        if template is None:  # a reason of a newer recommender: shown plainly, never dropped
            return f"{r.get('code')}: {r.get('values')}"
        return self.fill(self.gettext(template), self._values(r["code"], r.get("values") or {}))

    def reasons(self, reasons: Iterable[dict]) -> list[str]:
        return [self.reason(r) for r in reasons]

    def message(self, code: str | None) -> str | None:
        return self.gettext(MESSAGES[code]) if code in MESSAGES else code

    def items(self, rows: Iterable[dict]) -> list[dict]:
        """``rows`` (cases, peers or partners with their ``reasons``) with ``why``: the reasons
        worded, in the same order."""
        return [{**row, "why": self.reasons(row.get("reasons", []))} for row in rows]


__all__ = ["MESSAGES", "TEMPLATES", "Wording", "distinct", "reason"]
