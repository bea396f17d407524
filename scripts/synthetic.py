"""Generate a SYNTHETIC corpus of any size for benchmarks (never mixed with the real one).

Every record is labelled: its id starts with ``sintetis-``, its title with ``[SINTETIS]``, and its
only source says it is synthetic. Texts are random sentences over the domain's vocabulary, with
real region codes and sectors, so analysis, facets and the recommender do real work.

    python scripts/synthetic.py 10000 -o bench-out/synthetic-10k.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.gazetteer import gazetteer  # noqa: E402
from kb.vocab import SECTORS  # noqa: E402

WORDS = """pengelolaan persampahan sampah regional tempat pemrosesan akhir pengangkutan armada retribusi
air minum bersih jaringan pipa distribusi sambungan rumah pelanggan kapasitas liter detik
transportasi angkutan umum koridor bus halte terminal trayek penumpang jalan jembatan ruas
kesehatan rumah sakit rujukan puskesmas pasien layanan pendidikan sekolah guru beasiswa siswa
pariwisata destinasi wisatawan promosi paket festival pertanian pangan beras petani panen pasar
perdagangan investasi investor promosi kawasan industri umkm produk pelatihan koperasi
lingkungan hutan sungai daerah aliran hulu hilir konservasi banjir longsor bencana evakuasi
tata ruang perbatasan batas wilayah sengketa pelayanan publik perizinan kelautan perikanan nelayan
kerja sama antardaerah kesepakatan bersama perjanjian sekretariat bersama badan koordinasi forum
anggaran biaya pembagian kontribusi hibah provinsi kabupaten kota pemerintah daerah dprd persetujuan
evaluasi monitoring indikator capaian laporan transparansi komitmen kepercayaan komunikasi rapat
pimpinan tim teknis studi banding pertukaran pengalaman platform daring sistem informasi geografis
berhasil terhenti berjalan direncanakan tantangan hambatan pelajaran keberlanjutan masyarakat
swasta badan usaha kpbu bumd operator tarif subsidi konsesi kontrak lelang konstruksi pembangunan""".split()


SYLLABLES = "ba be bi bo bu da de di do du ga gi gu ja ji ka ke ki ko ku la le li lo lu ma me mi mo mu " \
            "na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu wa wi ya yu".split()


def _vocabulary(seed: int = 3, size: int = 30_000) -> tuple[list[str], list[float]]:
    """The domain words plus made-up filler words, with Zipf-like weights (rank ** -1.05), so
    that, as in real text, a few words are everywhere and most are rare."""
    rng = random.Random(seed)
    filler: set[str] = set()
    while len(filler) < size:
        filler.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    # Domain words take random ranks among the first 1,500, as topical words do in real text.
    words = sorted(filler)
    rng.shuffle(words)
    for w in dict.fromkeys(WORDS):
        words.insert(rng.randint(0, 1500), w)
    weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(words))]
    return words, weights


VOCAB, WEIGHTS = _vocabulary()
CUM_WEIGHTS = list(itertools.accumulate(WEIGHTS))  # once, not per call (choices would redo it)


def sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(VOCAB, cum_weights=CUM_WEIGHTS, k=n)
    return " ".join(words).capitalize() + "."


def record(i: int, rng: random.Random, codes: list[str]) -> dict:
    body = " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(15, 25)))
    start = rng.randint(1995, 2024)
    rec = {
        "id": f"sintetis-{i:06d}",
        "kind": "practice" if i % 10 == 0 else "case",
        "title": "[SINTETIS] " + sentence(rng, rng.randint(4, 8))[:-1],
        "summary": " ".join(sentence(rng, rng.randint(10, 18)) for _ in range(2)),
        "body": body,
        "regions": rng.sample(codes, rng.randint(1, 4)),
        "sectors": rng.sample(list(SECTORS), rng.randint(1, 2)),
        "cooperation_type": rng.choice(["KSDD", "KSDD", "KSDD", "KSDPK", "KSDPL"]),
        "start_year": start,
        "status": rng.choice(["berjalan", "berjalan", "selesai", "terhenti", "direncanakan"]),
        "lessons": [sentence(rng, 10) for _ in range(rng.randint(1, 3))],
        "challenges": [sentence(rng, 8)],
        "sources": [{"title": "Data sintetis untuk benchmark (bukan kasus nyata)"}],
    }
    return rec


def generate(n: int, seed: int = 7):
    """Yield ``n`` synthetic records (deterministic for a given seed)."""
    rng = random.Random(seed)
    codes = [r.code for r in gazetteer().regions if not r.is_province]
    for i in range(n):
        yield record(i, rng, codes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = Path(args.output)
    if "corpus" in out.resolve().parts:
        print("refusing to write synthetic data into corpus/", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for rec in generate(args.n, args.seed):
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {args.n} synthetic records to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
