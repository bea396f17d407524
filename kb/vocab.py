"""Controlled vocabularies: sectors, cooperation types, statuses and domain synonyms.

The sector list and the enumerations come from the product brief (PP 28/2018 for the
cooperation types). The synonym groups are the domain's usual words, acronyms and
agglomeration names; the text analyzer turns each phrase into the group's concept token so that
``pengelolaan sampah``, ``TPA`` and ``limbah padat`` meet, in Indonesian and English alike.
"""

from __future__ import annotations

SECTORS: dict[str, str] = {
    "persampahan": "Persampahan",
    "air-minum": "Air minum",
    "sanitasi": "Sanitasi dan air limbah",
    "transportasi": "Transportasi",
    "infrastruktur": "Infrastruktur",
    "pendidikan": "Pendidikan",
    "kesehatan": "Kesehatan",
    "pariwisata": "Pariwisata",
    "pertanian-pangan": "Pertanian dan pangan",
    "perdagangan-investasi": "Perdagangan dan investasi",
    "industri-umkm": "Industri dan UMKM",
    "lingkungan-sda": "Lingkungan dan sumber daya alam",
    "kebencanaan": "Kebencanaan",
    "tata-ruang-perbatasan": "Tata ruang dan perbatasan",
    "pelayanan-publik": "Pelayanan publik",
    "kelautan-perikanan": "Kelautan dan perikanan",
}

# Words a user may give instead of a sector key (import files, search filters).
SECTOR_SYNONYMS: dict[str, str] = {
    "sampah": "persampahan", "limbah padat": "persampahan", "waste": "persampahan",
    "solid waste": "persampahan",
    "air bersih": "air-minum", "spam": "air-minum", "air": "air-minum", "water": "air-minum",
    "water supply": "air-minum", "drinking water": "air-minum",
    "air limbah": "sanitasi", "limbah": "sanitasi", "sanitation": "sanitasi", "wastewater": "sanitasi",
    "transport": "transportasi", "perhubungan": "transportasi", "transportation": "transportasi",
    "jalan": "infrastruktur", "pekerjaan umum": "infrastruktur", "infrastructure": "infrastruktur",
    "education": "pendidikan", "health": "kesehatan", "tourism": "pariwisata", "wisata": "pariwisata",
    "pertanian": "pertanian-pangan", "pangan": "pertanian-pangan", "agriculture": "pertanian-pangan",
    "food": "pertanian-pangan",
    "perdagangan": "perdagangan-investasi", "investasi": "perdagangan-investasi",
    "penanaman modal": "perdagangan-investasi", "trade": "perdagangan-investasi",
    "investment": "perdagangan-investasi",
    "industri": "industri-umkm", "umkm": "industri-umkm", "industry": "industri-umkm",
    "lingkungan": "lingkungan-sda", "lingkungan hidup": "lingkungan-sda", "sda": "lingkungan-sda",
    "environment": "lingkungan-sda", "sumber daya alam": "lingkungan-sda",
    "bencana": "kebencanaan", "penanggulangan bencana": "kebencanaan", "disaster": "kebencanaan",
    "tata ruang": "tata-ruang-perbatasan", "perbatasan": "tata-ruang-perbatasan",
    "batas daerah": "tata-ruang-perbatasan", "spatial planning": "tata-ruang-perbatasan",
    "border": "tata-ruang-perbatasan",
    "pelayanan": "pelayanan-publik", "public service": "pelayanan-publik",
    "kelautan": "kelautan-perikanan", "perikanan": "kelautan-perikanan", "fisheries": "kelautan-perikanan",
}

COOPERATION_TYPES: dict[str, str] = {
    "KSDD": "Kerja sama daerah dengan daerah lain",
    "KSDPK": "Kerja sama daerah dengan pihak ketiga",
    "KSDPL": "Kerja sama daerah dengan pemerintah daerah di luar negeri",
    "KSDLL": "Kerja sama daerah dengan lembaga di luar negeri",
}
COOPERATION_TYPE_ALIASES: dict[str, str] = {
    "antar-daerah": "KSDD", "antardaerah": "KSDD", "antar daerah": "KSDD",
    "pihak-ketiga": "KSDPK", "pihak ketiga": "KSDPK",
}

STATUSES: dict[str, str] = {
    "direncanakan": "Direncanakan",
    "berjalan": "Berjalan",
    "selesai": "Selesai",
    "terhenti": "Terhenti",
}
OBLIGATIONS = ("wajib", "sukarela")
KINDS = ("case", "practice")
LANGUAGES = ("id", "en")
DOCUMENT_TYPES: dict[str, str] = {
    "ksb": "KSB", "kesepakatan bersama": "KSB",
    "pks": "PKS", "perjanjian kerja sama": "PKS", "perjanjian kerjasama": "PKS",
    "nota kesepakatan": "nota kesepakatan", "mou": "nota kesepakatan",
}


# Concept groups for the analyzer. Each key is the concept token emitted (prefixed with "_" so
# that it never collides with a real word); each value lists phrases in either language, lower
# case, written as a user would type them. The analyzer matches phrases on word boundaries,
# after joining the compounds (``kerja sama`` -> ``kerjasama``).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "_sampah": ("sampah", "persampahan", "limbah padat", "tpa", "tpst", "tppas", "tps3r", "tpst3r",
                "tempat pemrosesan akhir", "tempat pembuangan akhir", "bank sampah", "landfill",
                "waste", "solid waste", "garbage", "rubbish", "refuse derived fuel", "rdf"),
    "_airminum": ("air minum", "air bersih", "spam", "pdam", "perumda air minum", "sistem penyediaan air minum",
                  "drinking water", "water supply", "clean water", "piped water"),
    "_airlimbah": ("air limbah", "ipal", "iplt", "limbah domestik", "lumpur tinja", "sanitasi",
                   "wastewater", "sewage", "sanitation"),
    "_transportasi": ("transportasi", "angkutan umum", "angkutan massal", "bus", "brt", "perhubungan",
                      "transport", "public transport", "transit"),
    "_kesehatan": ("kesehatan", "rumah sakit", "rsud", "puskesmas", "rujukan", "health", "hospital",
                   "referral"),
    "_pendidikan": ("pendidikan", "sekolah", "beasiswa", "education", "school", "scholarship"),
    "_pariwisata": ("pariwisata", "wisata", "wisatawan", "destinasi", "tourism", "tourist", "tourists"),
    "_bencana": ("bencana", "kebencanaan", "kedaruratan", "evakuasi", "mitigasi", "gempa", "banjir",
                 "erupsi", "tsunami", "disaster", "earthquake", "flood", "evacuation"),
    "_pangan": ("pangan", "pertanian", "beras", "padi", "petani", "food", "agriculture", "farmers", "rice"),
    "_investasi": ("investasi", "penanaman modal", "investor", "perdagangan", "investment", "trade"),
    "_kpbu": ("kpbu", "kerja sama pemerintah dan badan usaha", "kerjasama pemerintah dan badan usaha",
              "public private partnership", "ppp"),
    "_perbatasan": ("perbatasan", "batas daerah", "lintas batas", "border", "cross border", "cross-border"),
    "_aglomerasi": ("aglomerasi", "kawasan perkotaan", "metropolitan", "agglomeration"),
    "_kartamantul": ("kartamantul",),
    "_sarbagita": ("sarbagita",),
    "_mebidangro": ("mebidangro", "mebidang"),
    "_jabodetabek": ("jabodetabek", "jabodetabekjur", "jabodetabekpunjur"),
    "_mamminasata": ("mamminasata",),
    "_gerbangkertosusila": ("gerbangkertosusila", "gerbangkertasusila"),
    "_subosukawonosraten": ("subosukawonosraten", "solo raya"),
    "_barlingmascakeb": ("barlingmascakeb",),
    "_kedungsepur": ("kedungsepur",),
    "_banjarbakula": ("banjarbakula",),
    "_pawonsari": ("pawonsari",),
    "_terhenti": ("terhenti", "berhenti", "mandek", "macet", "gagal", "tidak berlanjut", "tak berlanjut",
                  "failed", "stalled", "stopped", "discontinued", "failure"),
    "_luarnegeri": ("luar negeri", "internasional", "mancanegara", "foreign", "international", "overseas",
                    "sister city", "sister province", "kota kembar", "kota bersaudara", "provinsi kembar"),
    "_sister": ("sister city", "sister province", "kota kembar", "kota bersaudara", "twin city"),
}

# Words written both split and joined: the analyzer joins them so both spellings meet.
COMPOUNDS: tuple[tuple[str, str], ...] = (
    ("kerja", "sama"), ("tanggung", "jawab"), ("daya", "saing"), ("daya", "guna"),
    ("hasil", "guna"), ("swa", "kelola"), ("ibu", "kota"),
)
# Bound morphemes that Indonesian writes joined to the next word but users often separate.
BOUND_PREFIXES: tuple[str, ...] = ("antar", "pasca", "pra", "non", "multi", "sub", "swa", "lintas")


def normalize_sector(value: str) -> str | None:
    """Map a sector key, label or synonym to its key, or ``None`` if unknown."""
    v = " ".join(value.strip().lower().replace("_", "-").split())
    if v in SECTORS:
        return v
    if v.replace(" ", "-") in SECTORS:
        return v.replace(" ", "-")
    for key, label in SECTORS.items():
        if v == label.lower():
            return key
    return SECTOR_SYNONYMS.get(v)


def normalize_cooperation_type(value: str) -> str | None:
    """Map a cooperation type (``KSDD``, ``ksdpk``, ``antar-daerah`` ...) to its key, or ``None``."""
    v = " ".join(str(value).strip().split())
    if v.upper() in COOPERATION_TYPES:
        return v.upper()
    return COOPERATION_TYPE_ALIASES.get(v.lower())


def normalize_status(value: str) -> str | None:
    """A status key in any case, or ``None`` if unknown."""
    v = str(value).strip().lower()
    return v if v in STATUSES else None


def normalize_kind(value: str) -> str | None:
    v = str(value).strip().lower()
    return v if v in KINDS else None


def sector_keys(items) -> list[str]:
    """The sector keys of ``items`` (keys, labels or synonyms), in order and once each; an
    unknown one raises :class:`ValueError` listing the known keys."""
    out: list[str] = []
    for item in items:
        key = normalize_sector(str(item))
        if key is None:
            raise ValueError(f"unknown sector {item!r}; known sectors: {', '.join(SECTORS)}")
        if key not in out:
            out.append(key)
    return out
