"""Refresh ``webapp/translations/en/LC_MESSAGES/messages.po`` from the sources.

    pybabel extract -F babel.cfg -k _l -o messages.pot . && python scripts/translations_en.py messages.pot

Indonesian is the source language; this table holds the English of every message. A message
missing here is written untranslated and listed, so the English page falls back to Indonesian.
Besides the extracted messages (``_``, ``_l`` and ``N_`` in webapp/ and recommender/), the
catalogue holds every label of kb's vocabularies (sectors, statuses, cooperation types, islands,
facet names): kb cannot use the catalogue, so the web app words those labels through it
(``webapp/labels.py``) and :func:`vocabulary` lists them here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

EN = {
    "Permintaan tidak valid": "Bad request", "Perlu masuk": "Sign-in needed", "Tidak diizinkan": "Not allowed",
    "Halaman tidak ditemukan": "Page not found", "Konflik suntingan": "Edit conflict",
    "Berkas terlalu besar": "File too large", "Terlalu banyak percobaan": "Too many attempts",
    "Terjadi kesalahan": "Something went wrong", "Kesalahan": "Error", "Sedang sibuk": "Busy",
    "Maaf, terjadi kesalahan di server.": "Sorry, something went wrong on the server.",
    "Nama pengguna": "User name", "Kata sandi": "Password", "ID (slug, boleh kosong)": "ID (slug, may be empty)",
    "Jenis catatan": "Record kind", "Studi kasus": "Case study", "Praktik baik": "Good practice",
    "Diakses": "Accessed", "Diperiksa terhadap sumbernya pada": "Checked against its sources on",
    "Angka ini dari sebelum perubahan terakhir; angka baru sedang dihitung. Muat ulang halaman sebentar lagi.":
        "These figures are from before the latest change; the new ones are being worked out. Reload the page "
        "in a moment.",
    "Bahasa": "Language", "Judul": "Title", "Ringkasan": "Summary", "Uraian (Markdown)": "Description (Markdown)",
    "Daerah (satu per baris: nama atau kode Kemendagri)": "Regions (one a line: name or Kemendagri code)",
    "Pihak ketiga (satu per baris)": "Third parties (one a line)", "Bidang": "Sectors",
    "Jenis kerja sama": "Cooperation type", "Sifat": "Obligation",
    "Urusan pemerintahan (satu per baris)": "Government affairs (one a line)",
    "Mekanisme / kelembagaan": "Mechanism / institution", "Tahun mulai": "Start year", "Tahun selesai": "End year",
    "Status": "Status", "Pelajaran (satu per baris)": "Lessons (one a line)",
    "Tantangan (satu per baris)": "Challenges (one a line)",
    "Dokumen (per baris: jenis | nomor | tanggal tanda tangan | berakhir)":
        "Documents (a line each: type | number | signed | expires)",
    "Indikator (per baris: nama | nilai | satuan | tahun)": "Indicators (a line each: name | value | unit | year)",
    "Sumber (per baris: judul | url)": "Sources (a line each: title | url)", "Judul usulan": "Proposal title",
    "Uraian usulan": "Proposal description", "Daerah pengusul": "Proposing region",
    "Berkas (CSV, JSON Lines, JSON, Markdown atau teks)": "File (CSV, JSON Lines, JSON, Markdown or text)",
    "Jika ID sudah ada": "If the ID exists", "tolak": "refuse", "perbarui": "update",
    "Cari studi kasus dan praktik baik": "Search case studies and good practices",
    "mis. pengelolaan sampah regional": "e.g. regional waste management", "Cari": "Search",
    "Lompat ke isi": "Skip to content", "Navigasi utama": "Main navigation", "Usulan": "Proposal",
    "Daerah": "Regions", "Peta": "Map", "Statistik": "Statistics", "Kurasi": "Curation", "Masuk": "Sign in",
    "Sinergi — basis pengetahuan kerja sama antar daerah. Periksa setiap kasus pada sumbernya sebelum dijadikan rujukan.":
        "Sinergi — a knowledge base of cooperation between Indonesian regions. Check every case against its sources before relying on it.",
    "Kembali ke beranda": "Back to the home page", "Cari kasus": "Search cases", "Riwayat": "History",
    "Riwayat revisi": "Revision history", "Versi": "Version",
    "Tidak ada perubahan isi (hanya status).": "No change of content (status only).", "draf": "draft",
    "dihapus": "deleted", "Pihak ketiga": "Third parties", "Urusan": "Government affairs", "Mekanisme": "Mechanism",
    "Tahun": "Years", "Dokumen": "Documents", "nomor": "number", "ditandatangani": "signed",
    "berlaku sampai": "valid until", "Pelajaran": "Lessons", "Tantangan": "Challenges", "Indikator": "Indicators",
    "Nilai": "Value", "Satuan": "Unit", "Kasus yang menunjukkan praktik ini": "Cases that show this practice",
    "Sumber": "Sources", "Kasus serupa": "Similar cases", "Penulis dan riwayat": "Authors and history",
    "Ditulis oleh": "Written by", "terakhir disunting oleh": "last edited by",
    "Lihat riwayat revisi dan perbedaannya": "See the revision history and its differences", "Sunting": "Edit",
    "Terbitkan": "Publish", "Hapus": "Delete", "Pulihkan": "Restore",
    "Suntingan Anda belum disimpan": "Your edit was not saved",
    "Orang lain sudah menyimpan perubahan pada catatan ini setelah Anda membukanya.":
        "Someone else saved a change to this record after you opened it.",
    "Kedua versi ditampilkan di bawah. Salin bagian yang ingin Anda pertahankan, lalu":
        "Both versions are shown below. Copy what you want to keep, then",
    "sunting versi terbaru": "edit the latest version", "Versi Anda (belum tersimpan)": "Your version (not saved)",
    "Versi tersimpan": "Saved version", "versi": "version", "Masuk sebagai": "Signed in as",
    "Tambah kasus": "Add a case", "Unggah berkas": "Upload a file", "Keluar": "Sign out",
    "Draf menunggu terbit": "Drafts waiting for publication", "Tidak ada draf.": "No drafts.",
    "Terhapus (dapat dipulihkan)": "Deleted (can be restored)", "Tidak ada.": "None.",
    "Tambah kasus atau praktik": "Add a case or practice",
    "Belum tersimpan. Perbaiki isian yang ditandai:": "Not saved yet. Correct the marked fields:",
    "Terbitkan langsung": "Publish at once", "Simpan": "Save", "Batal": "Cancel",
    "Masuk untuk kurasi": "Sign in to curate", "Akun dibuat oleh admin dengan perintah":
        "Accounts are created by an admin with the command",
    "CSV, JSON Lines, JSON, atau panduan Markdown/teks (satu praktik per bagian). Semua catatan diperiksa dulu; tidak ada yang disimpan sebelum Anda mengonfirmasi pratinjau, dan satu catatan yang salah membatalkan seluruh unggahan.":
        "CSV, JSON Lines, JSON, or a Markdown/text guide (one practice per section). Every record is checked first; nothing is saved before you confirm the preview, and one wrong record cancels the whole upload.",
    "Tidak ada yang disimpan. Masalah yang ditemukan:": "Nothing was saved. Problems found:",
    "Pratinjau": "Preview", "catatan": "records", "Jenis": "Kind", "Simpan semua": "Save all", "Periksa": "Check",
    "Beranda": "Home", "Belajar dari kerja sama antar daerah": "Learn from cooperation between regions",
    "Studi kasus, pelajaran dan praktik baik kerja sama antardaerah di Indonesia — dan rekomendasi untuk usulan Anda.":
        "Case studies, lessons and good practices of cooperation between Indonesian regions — and recommendations for your proposal.",
    "Ajukan usulan kerja sama dan dapatkan rekomendasi": "Describe a cooperation proposal and get recommendations",
    "Isi basis pengetahuan": "What the knowledge base holds", "%(n)d catatan terbit.": "%(n)d published records.",
    "Per bidang": "By sector", "Per pulau": "By island", "Kasus terbaru": "Latest cases",
    "Belum ada kasus.": "No cases yet.", "Peta kasus": "Map of cases",
    # Maps and region geography
    "Perbesar peta": "Zoom the map", "Perbesar ke": "Zoom to", "Seluruh Indonesia": "All of Indonesia",
    "Catatan yang cocok per provinsi": "Matching records per province",
    "Catatan yang cocok per kabupaten/kota": "Matching records per regency/city",
    "kabupaten/kota yang tercatat dalam kasus": "regency/city named in a case",
    "Setiap wilayah pada peta menuju halaman daerahnya; arahkan penunjuk untuk melihat nama dan jumlahnya. "
    "Peta digambar tanpa ubin peta sehingga tetap berfungsi luring.":
        "Every area on the map leads to its region page; point at it to see its name and count. "
        "The map is drawn without map tiles, so it works offline.",
    "Batas wilayah": "Boundaries", "tetangga darat": "land neighbour", "tetangga laut": "sea neighbour",
    "Tetangga": "Neighbours", "berbatasan darat": "shares a land border",
    "Tidak ada tetangga tercatat.": "No neighbours recorded.", "Titik": "Point",
    "pusat pemerintahan": "seat of government",
    "titik di dalam wilayah (pusat pemerintahan belum dipastikan)":
        "a point inside the region (seat of government not established)",
    "Jarak diukur antartitik. Batas wilayah": "Distances are measured between points. Boundaries",
    "%(name)s: %(n)d kemitraan": "%(name)s: %(n)d partnerships", "Peta catatan yang cocok": "Map of matching records",
    "tidak ada": "none", "%(name)s: %(n)d catatan": "%(name)s: %(n)d records",
    "titik di dalam wilayah": "a point inside the region", "%(name)s dan tetangganya": "%(name)s and its neighbours",
    "%(n)d catatan cocok dengan filter ini.": "%(n)d records match these filters.",
    "Lihat sebagai daftar": "See as a list", "Kata kunci": "Keywords", "Perbarui peta": "Update the map",
    "Peta ini digambar tanpa ubin peta sehingga tetap berfungsi luring; titik kecil adalah kabupaten/kota, lingkaran adalah daerah yang tercatat dalam kasus.":
        "This map is drawn without map tiles, so it works offline; small dots are regencies and cities, circles are regions named in cases.",
    "Daerah terbanyak": "Regions with most records", "Per status": "By status",
    "Per dasawarsa mulai": "By decade of start", "Jaringan daerah yang bekerja sama": "Network of cooperating regions",
    "Peta menampilkan %(shown)d pasangan yang paling sering bekerja sama dari %(total)d pasangan.":
        "The map shows the %(shown)d pairs that cooperate most often, of %(total)d pairs.",
    "Garis menghubungkan kabupaten/kota yang tercatat dalam kasus yang sama; lingkaran makin besar makin banyak kemitraannya.":
        "Lines join regencies and cities named in the same case; the larger the circle, the more partnerships.",
    "Pasangan yang paling sering bekerja sama": "Pairs that cooperate most often", "Kasus": "Cases",
    "Usulan kerja sama": "Cooperation proposal",
    "Uraikan usulan kerja sama daerah Anda. Sinergi mencarikan kasus dan praktik yang relevan, pelajaran dan hal yang perlu diwaspadai, daerah tujuan studi banding, dan calon mitra.":
        "Describe your region's cooperation proposal. Sinergi finds the relevant cases and practices, lessons and pitfalls, study-visit destinations and candidate partners.",
    "Periksa usulan:": "Check the proposal:",
    "mis. Kota kami dan dua kabupaten tetangga ingin membangun TPA regional karena lahan TPA hampir penuh…":
        "e.g. Our city and two neighbouring regencies want a regional landfill because our landfill is nearly full…",
    "mis. Kabupaten Sleman": "e.g. Kabupaten Sleman", "Cari rekomendasi": "Get recommendations",
    "Praktik baik yang berlaku": "Good practices that apply", "Yang berhasil": "What worked",
    "Yang perlu diwaspadai": "What to watch out for", "Daerah tujuan studi banding": "Study-visit destinations",
    "Pilih": "Choose", "Jarak": "Distance", "Alasan": "Why",
    "Unduh daftar studi banding (CSV)": "Download the study-visit shortlist (CSV)",
    "Calon mitra kerja sama": "Candidate partners",
    "Isi daerah pengusul untuk melihat calon mitra di sekitar Anda.":
        "Give the proposing region to see candidate partners around you.",
    "Cari daerah": "Find a region", "Tidak ada daerah dengan nama itu.": "No region has that name.",
    "Provinsi": "Province", "Kabupaten": "Regency", "Kota": "City", "kode Kemendagri": "Kemendagri code",
    "Belum ada kasus tercatat untuk daerah ini.": "No case recorded for this region yet.",
    "Bekerja sama dengan": "Cooperates with", "Daerah terdekat": "Nearest regions", "Koordinat": "Coordinate",
    "Kabupaten/kota": "Regencies and cities", "Tidak ada hasil untuk": "No results for",
    "Menampilkan hasil untuk": "Showing results for", "Maksud Anda": "Did you mean", "Saring hasil": "Filter results",
    "Filter aktif": "Active filters", "Hapus filter": "Remove filter", "dari": "from", "sampai": "to",
    "Terapkan": "Apply", "hasil": "results", "untuk": "for", "Urutkan": "Sort by", "relevansi": "relevance",
    "tahun": "year", "judul": "title", "Unduh hasil (CSV)": "Download results (CSV)",
    "Unduh hasil (XLSX)": "Download results (XLSX)", "Lihat di peta": "See on the map",
    "Tidak ada hasil": "No results",
    "Coba kata yang lebih umum (mis. “sampah” alih-alih “TPST terpadu”), periksa ejaan, atau hapus sebagian filter.":
        "Try more general words (e.g. “sampah” rather than “TPST terpadu”), check the spelling, or remove a filter.",
    "Contoh": "Examples", "Halaman": "Pages", "Sebelumnya": "Previous", "Halaman %(p)d dari %(n)d": "Page %(p)d of %(n)d",
    "Berikutnya": "Next", "Nama pengguna atau kata sandi salah.": "Wrong user name or password.",
    "Tersimpan.": "Saved.", "Sudah terbit.": "Published.", "Menunggu terbit oleh editor.": "Waiting for an editor to publish it.",
    "Perubahan tersimpan.": "Changes saved.", "Diterbitkan.": "Published.", "Dikembalikan ke draf.": "Returned to draft.",
    "Dihapus (dapat dipulihkan).": "Deleted (can be restored).",
    "Unggahan kedaluwarsa; unggah ulang berkasnya.": "The upload expired; upload the file again.",
    "%(n)d catatan baru dan %(m)d diperbarui.": "%(n)d new and %(m)d updated records.",
    "Kasus per bidang": "Cases by sector", "Kasus per pulau": "Cases by island", "Kasus per status": "Cases by status",
    "Kasus per dasawarsa mulai": "Cases by decade of start", "Bahasa Indonesia": "Indonesian",
    "Bahasa Inggris": "English",
    # Reasons of recommendations (recommender/reasons.py) and the command line's headings.
    "istilah bersama: %(terms)s": "shared terms: %(terms)s", "bidang sama: %(sectors)s": "same sectors: %(sectors)s",
    "status: %(status)s": "status: %(status)s",
    "kasus relevan (%(count)s): %(titles)s": "relevant cases (%(count)s): %(titles)s",
    "status kasus: %(statuses)s": "case statuses: %(statuses)s",
    "jarak dari %(region)s: ±%(km)s km": "distance from %(region)s: ±%(km)s km",
    "terdekat: ±%(km)s km dari %(region)s": "nearest: ±%(km)s km from %(region)s",
    "satu provinsi": "same province", "berpengalaman dalam topik ini": "experienced in this topic",
    "berbatasan darat dengan %(region)s": "shares a land border with %(region)s",
    "tetangga laut %(region)s (tanpa batas darat)": "sea neighbour of %(region)s (no land border)",
    "berbatasan": "bordering",
    "Daerah yang berbatasan lebih dulu (darat, lalu laut), lalu menurut kedekatan (jarak lurus antartitik daerah), kesamaan provinsi dan pengalaman dalam topik ini.":
        "Bordering regions first (by land, then by sea), then by closeness (straight line between the regions' points), shared province and experience with this topic.",
    "Mungkin kerja sama wajib.": "Possibly a mandatory cooperation.",
    "Urusan usulan ini (%(sectors)s) berdampak lintas batas. Menurut PP 28/2018, kerja sama daerah yang berbatasan untuk urusan seperti ini dapat menjadi wajib; daerah yang berbatasan darat dengan Anda:":
        "This proposal's affairs (%(sectors)s) have effects across borders. Under PP 28/2018, cooperation between bordering regions on such affairs can be mandatory; the regions sharing a land border with yours:",
    "Ini panduan, bukan pendapat hukum.": "This is guidance, not a legal opinion.",
    "sudah bekerja sama dengan %(region)s: %(titles)s": "already cooperating with %(region)s: %(titles)s",
    "dipilih untuk belajar dari kerja sama yang terhenti": "chosen to learn from a stopped cooperation",
    "anggota terdekat: %(member)s, ±%(km)s km dari %(region)s": "nearest member: %(member)s, ±%(km)s km from %(region)s",
    "Rencana studi banding per kerja sama:": "Study-visit plan by arrangement:", "Kelembagaan:": "Institution:",
    "Anggota:": "Members:", "Tanyakan:": "Ask:", "Waspadai:": "Watch out:",
    "Rute kunjungan (terdekat lebih dulu):": "Visit route (nearest first):", "total": "total",
    "Daerah tujuan (peers):": "Destinations (peers):",
    # The study-visit plan (templates/proposals/form.html, plan.html).
    "Sertakan kerja sama yang terhenti untuk belajar dari kegagalan":
        "Include stopped arrangements to learn from failure",
    "Tujuan dikelompokkan per kerja sama: anggota satu kerja sama dikunjungi bersama. Pilih daerah yang akan dikunjungi, lalu unduh daftarnya atau cetak rencananya.":
        "Destinations are grouped by arrangement: the members of one arrangement are visited together. Choose the regions to visit, then download the list or print the plan.",
    "Kelembagaan": "Institution", "Anggota": "Members", "Yang perlu ditanyakan": "What to ask",
    "Waspadai": "Watch out", "Rute kunjungan": "Visit route",
    "Daerah terpilih diurutkan menurut perjalanan: yang terdekat dari daerah pengusul lebih dulu, lalu dari satu tujuan ke tujuan terdekat berikutnya (jarak lurus).":
        "The chosen regions are ordered by travel: the nearest to the proposing region first, then from each stop to the nearest next one (straight-line distance).",
    "Rencana kunjungan untuk dicetak": "Printable visit plan",
    "Rencana kunjungan studi banding": "Study-visit plan", "Kembali ke usulan": "Back to the proposal",
    "Cetak halaman ini dari peramban (A4).": "Print this page from the browser (A4).",
    "Disusun dengan Sinergi pada %(date)s": "Prepared with Sinergi on %(date)s",
    "Urutan": "Order", "Tujuan": "Destination", "Dari": "From", "Jarak tempuh": "Leg distance",
    "Kerja sama": "Arrangement", "Jarak lurus antar pusat daerah; total ±%(km)s km.":
        "Straight-line distance between region centres; total ±%(km)s km.",
    "Kerja sama yang dikunjungi": "Arrangements visited",
    "Tidak ditemukan kasus atau praktik yang relevan dengan usulan ini.":
        "No case or practice relevant to this proposal was found.",
    "tanpa status": "no status", "Kasus dan praktik yang mirip:": "Similar cases and practices:",
    "Yang berhasil:": "What worked:", "Yang perlu diwaspadai:": "What to watch out for:",
    "Daerah tujuan studi banding (peers):": "Study-visit destinations (peers):",
    "Calon mitra kerja sama (partners):": "Candidate cooperation partners (partners):",
    "Tidak ditemukan daerah yang berpengalaman dengan topik ini.": "No region with experience in this topic was found.",
    "Daerah tujuan studi banding untuk “%(topic)s”:": "Study-visit destinations for “%(topic)s”:",
    # Labels built in Python (webapp/labels.py).
    "korpus bawaan": "bundled corpus", "impor": "import", "impor lewat baris perintah": "command-line import",
    "dibuat": "created", "disunting": "edited", "diterbitkan": "published", "dijadikan draf": "returned to draft",
    "terbit": "published", "kontributor": "contributor", "editor": "editor", "admin": "admin",
    "wajib": "mandatory", "sukarela": "voluntary",
    "titik tengah kabupaten/kotanya": "centre of its regencies and cities",
    "titik tengah provinsinya": "centre of its province", "GeoNames": "GeoNames", "%(decade)d-an": "%(decade)ds",
    "Kueri dipotong menjadi %(limit)d karakter pertamanya.": "The query was cut to its first %(limit)d characters.",
    "Kueri dipotong menjadi %(limit)d kata pertamanya.": "The query was cut to its first %(limit)d words.",
    "%(facet)s “%(value)s” bukan nilai yang dikenal: tidak ada catatan yang cocok.":
        "%(facet)s “%(value)s” is not a known value: no record matches it.",
    "Usulan terlalu pendek: uraikan apa yang ingin dikerjakan daerah-daerah itu, setidaknya dalam satu kalimat.":
        "The proposal is too short: describe what the regions want to do, in at least a sentence.",
    "Daerah “%(text)s” tidak dikenal.": "The region “%(text)s” is not known.",
    "Daerah “%(text)s” tidak dikenal atau ambigu; mungkin maksud Anda: %(candidates)s?":
        "The region “%(text)s” is not known or is ambiguous; did you mean: %(candidates)s?",
    # Error pages.
    "Tidak ada halaman di alamat ini. Periksa alamatnya, atau cari dari beranda.":
        "There is no page at this address. Check the address, or search from the home page.",
    "Masuk dulu untuk membuka halaman ini.": "Sign in first to open this page.",
    "Akun Anda tidak berhak membuka halaman ini.": "Your account may not open this page.",
    "Halaman ini tidak menerima permintaan seperti itu.": "This page does not accept such a request.",
    "Berkas yang dikirim terlalu besar.": "The file sent is too large.",
    "Terlalu banyak percobaan; tunggu sebentar lalu coba lagi.": "Too many attempts; wait a moment and try again.",
    # kb's vocabularies (see vocabulary()).
    "Persampahan": "Waste", "Air minum": "Drinking water", "Sanitasi dan air limbah": "Sanitation and wastewater",
    "Transportasi": "Transport", "Infrastruktur": "Infrastructure", "Pendidikan": "Education",
    "Kesehatan": "Health", "Pariwisata": "Tourism", "Pertanian dan pangan": "Agriculture and food",
    "Perdagangan dan investasi": "Trade and investment", "Industri dan UMKM": "Industry and small businesses",
    "Lingkungan dan sumber daya alam": "Environment and natural resources", "Kebencanaan": "Disaster management",
    "Tata ruang dan perbatasan": "Spatial planning and borders", "Pelayanan publik": "Public services",
    "Kelautan dan perikanan": "Marine affairs and fisheries",
    "Direncanakan": "Planned", "Berjalan": "Ongoing", "Selesai": "Completed", "Terhenti": "Stopped",
    "Kerja sama daerah dengan daerah lain": "Cooperation with other regions",
    "Kerja sama daerah dengan pihak ketiga": "Cooperation with third parties",
    "Kerja sama daerah dengan pemerintah daerah di luar negeri": "Cooperation with foreign regional governments",
    "Kerja sama daerah dengan lembaga di luar negeri": "Cooperation with foreign institutions",
    "Sumatera": "Sumatra", "Jawa": "Java", "Bali–Nusa Tenggara": "Bali–Nusa Tenggara", "Kalimantan": "Kalimantan",
    "Sulawesi": "Sulawesi", "Maluku–Papua": "Maluku–Papua", "Pulau": "Island",
    # Agreements (/perjanjian), the region page's and the dashboard's sections, Atom feeds
    "Perjanjian": "Agreements", "Perjanjian kerja sama": "Cooperation agreements",
    "Per provinsi": "By province", "Jumlah": "Total",
    "Bidang menurut status": "Sectors by status", "Pulau menurut jenis kerja sama": "Islands by type of cooperation",
    "Periksa filter:": "Check the filters:",
    "Ditandatangani": "Signed", "Berlaku sampai": "Valid until",
    "… dan %(n)d lainnya: saring menurut daerah atau unduh CSV untuk daftar lengkap.":
        "… and %(n)d more: filter by region or download the CSV for the full list.",
    "Semua perjanjian daerah ini": "All agreements of this region",
    "Belum ada perjanjian tercatat untuk daerah ini.": "No agreement recorded for this region yet.",
    "Perjanjian berakhir, status masih berjalan": "Agreement expired, status still running",
    "Semua perjanjian bertanggal pada kasus ini sudah berakhir, tetapi statusnya masih “berjalan”. "
    "Periksa apakah perjanjian sudah diperpanjang atau statusnya perlu diubah.":
        "Every dated agreement of these cases has expired, but their status still says “berjalan” (running). "
        "Check whether the agreement was renewed or the status needs changing.",
    "berakhir": "expired", "Perjanjian yang segera berakhir (Atom)": "Agreements expiring soon (Atom)",
    "Kesepakatan bersama (KSB), perjanjian kerja sama (PKS) dan nota kesepakatan yang tercatat pada kasus, "
    "diurutkan menurut tanggal berakhirnya. Perjanjian tanpa tanggal berakhir tercatat sebagai tanpa batas waktu "
    "atau belum diketahui.":
        "Joint agreements (KSB), cooperation agreements (PKS) and memoranda of understanding recorded with the "
        "cases, ordered by expiry date. Agreements without an expiry date are listed as open-ended or unknown term.",
    "Daerah atau provinsi": "Region or province", "Berakhir dalam": "Expiring within", "kapan saja": "any time",
    "%(n)d hari": "%(n)d days", "Keadaan": "State", "perjanjian": "agreements", "keadaan per %(d)s": "as of %(d)s",
    "Unduh (CSV)": "Download (CSV)", "Umpan Atom perjanjian yang segera berakhir": "Atom feed of agreements expiring soon",
    "berakhir %(n)d hari lalu": "expired %(n)d days ago", "%(n)d hari lagi": "%(n)d days left",
    "Tidak ada perjanjian yang cocok dengan filter ini.": "No agreement matches these filters.",
    "Kasus baru dan diperbarui (Atom)": "New and updated cases (Atom)", "Umpan Atom": "Atom feed",
    "Sudah berakhir": "Expired", "Berakhir dalam 6 bulan": "Expiring within 6 months",
    "Berakhir dalam 6–12 bulan": "Expiring in 6–12 months", "Berlaku lebih dari 12 bulan": "Valid for more than 12 months",
    "Tanpa batas waktu atau belum diketahui": "Open-ended or term unknown",
    "semua kasus dan praktik": "all cases and practices",
    "Kasus dan praktik baru atau diperbarui yang cocok dengan pencarian ini.":
        "New or updated cases and practices that match this search.",
    "Sinergi: perjanjian yang segera berakhir": "Sinergi: agreements expiring soon",
    "Perjanjian kerja sama yang berakhir dalam 12 bulan atau baru berakhir dalam 30 hari terakhir.":
        "Cooperation agreements that expire within 12 months or expired in the last 30 days.",
    # the legal path of a proposal (recommender/legal.py)
    "Ini panduan, bukan pendapat hukum. Periksa setiap langkah dengan Bagian Kerja Sama dan Bagian Hukum Sekretariat Daerah serta peraturan yang berlaku.":
        "This is guidance, not a legal opinion. Check every step with the regional secretariat's cooperation and legal divisions and the regulations in force.",
    "Persiapan dan tim koordinasi kerja sama daerah (TKKSD)": "Preparation and the regional cooperation coordination team (TKKSD)",
    "Kepala daerah; TKKSD; perangkat daerah teknis": "Head of region; TKKSD; technical agencies",
    "Keputusan kepala daerah tentang TKKSD": "Head of region's decree on the TKKSD",
    "Identifikasi urusan dan rencana kerja sama": "Affairs identified and the cooperation plan",
    "Kajian manfaat dan pembiayaan": "Study of benefits and financing",
    "Pemilihan mitra pihak ketiga": "Selecting the third-party partner",
    "TKKSD; perangkat daerah teknis; panitia pemilihan": "TKKSD; technical agencies; selection committee",
    "Studi kelayakan": "Feasibility study",
    "Dokumen pemilihan mitra (terbuka dan bersaing)": "Partner selection documents (open and competitive)",
    "Penetapan mitra": "Decision on the partner",
    "Penawaran kerja sama": "Offer of cooperation", "Kepala daerah pengusul": "Head of the proposing region",
    "Surat penawaran": "Letter of offer", "Rencana kerja sama": "Cooperation plan",
    "Persetujuan Pemerintah Pusat": "Central government approval",
    "Kepala daerah; Menteri Dalam Negeri; Kementerian Luar Negeri": "Head of region; Minister of Home Affairs; Ministry of Foreign Affairs",
    "Rencana kerja sama luar negeri": "Plan of the cooperation abroad",
    "Surat permohonan persetujuan": "Letter requesting approval",
    "Pertimbangan Kementerian Luar Negeri": "Opinion of the Ministry of Foreign Affairs",
    "Kesepakatan bersama (KSB)": "Joint agreement (KSB)", "Kepala daerah para pihak": "Heads of the parties' regions",
    "Naskah kesepakatan bersama": "Text of the joint agreement",
    "Penyusunan perjanjian kerja sama (PKS)": "Drafting the cooperation agreement (PKS)",
    "TKKSD; perangkat daerah teknis para pihak": "TKKSD; the parties' technical agencies",
    "Rancangan PKS: hak dan kewajiban, pembiayaan, jangka waktu, penyelesaian perselisihan":
        "Draft PKS: rights and obligations, financing, duration, dispute settlement",
    "Tahap persetujuan DPRD": "DPRD approval", "Kepala daerah mengajukan; DPRD memutuskan": "Head of region submits; the DPRD decides",
    "Surat permohonan persetujuan DPRD": "Letter requesting the DPRD's approval",
    "Rancangan KSB/PKS dan kajiannya": "Draft KSB/PKS and its study",
    "Penandatanganan PKS": "Signing the PKS", "Kepala daerah, atau pejabat yang diberi kuasa": "Head of region, or an official given power of attorney",
    "PKS yang ditandatangani": "Signed PKS", "Surat kuasa (bila dikuasakan)": "Power of attorney (when delegated)",
    "Pelaksanaan kerja sama": "Implementing the cooperation",
    "Perangkat daerah teknis; badan atau sekretariat kerja sama bila dibentuk": "Technical agencies; a cooperation body or secretariat when one is set up",
    "Rencana kerja tahunan": "Annual work plan", "Anggaran dalam APBD masing-masing pihak": "Budget in each party's APBD",
    "Pelaporan berkala": "Periodic reporting",
    "Perangkat daerah teknis kepada kepala daerah; kepala daerah kepada gubernur (kabupaten/kota) atau Menteri Dalam Negeri (provinsi)":
        "Technical agencies to the head of region; the head of region to the governor (regencies and cities) or the Minister of Home Affairs (provinces)",
    "Laporan pelaksanaan berkala": "Periodic implementation reports",
    "Pemantauan dan evaluasi": "Monitoring and evaluation", "TKKSD; para pihak": "TKKSD; the parties",
    "Indikator keberhasilan": "Success indicators",
    "Laporan evaluasi: dilanjutkan, diubah atau diakhiri": "Evaluation report: continue, amend or end",
    "jenis kerja sama menurut mitra yang disebut: %(types)s": "cooperation type by the partners named: %(types)s",
    "belum ada mitra yang disebut; uraian usulan menyebut jenis kerja sama: %(types)s":
        "no partner named yet; the proposal's text names the cooperation type: %(types)s",
    "jenis kerja sama bergantung pada mitranya: sebutkan daerah, pihak ketiga atau mitra luar negeri yang dituju":
        "the cooperation type depends on the partner: name the regions, third parties or partners abroad you have in mind",
    "mitra dari beberapa jenis: tiap jenis diatur dalam perjanjiannya sendiri; jenis utama %(primary)s (urutan PP 28/2018) dari %(types)s":
        "partners of several kinds: each kind has its own agreement; primary type %(primary)s (PP 28/2018's order), of %(types)s",
    "“%(name)s” dianggap pemerintah daerah di luar negeri (disimpulkan dari namanya)":
        "“%(name)s” taken as a regional government abroad (inferred from its name)",
    "“%(name)s” dianggap lembaga di luar negeri (disimpulkan dari namanya)":
        "“%(name)s” taken as an institution abroad (inferred from its name)",
    "jenis “%(name)s” tidak tersirat dari namanya: dianggap lembaga di luar negeri; sebutkan jenisnya bila itu pemerintah daerah":
        "the kind of “%(name)s” does not follow from its name: taken as an institution abroad; give its kind if it is a regional government",
    "wajib atau sukarela belum dapat ditentukan: sebutkan daerah pengusul dan daerah mitra":
        "mandatory or voluntary cannot be told yet: name the proposing region and the partner regions",
    "daerah yang berbatasan: %(pairs)s": "bordering regions: %(pairs)s",
    "tidak ada pasangan daerah yang berbatasan": "no two of the regions border each other",
    "urusan yang berdampak lintas batas daerah: %(sectors)s": "affairs whose effects cross regional borders: %(sectors)s",
    "urusan usulan (%(sectors)s) tidak termasuk urusan yang berdampak lintas batas":
        "the proposal's affairs (%(sectors)s) are not among those whose effects cross borders",
    "bidang urusan belum diketahui: pilih bidangnya": "the affairs are not known yet: choose the sectors",
    "kemungkinan kerja sama wajib: daerah yang berbatasan dan urusan yang berdampak lintas batas atau lebih efisien dikelola bersama (PP 28/2018)":
        "likely a mandatory cooperation: bordering regions and affairs whose effects cross borders or that are served more efficiently together (PP 28/2018)",
    "kerja sama sukarela: daerah boleh bekerja sama bila lebih efektif dan efisien, berbatasan atau tidak (PP 28/2018)":
        "a voluntary cooperation: regions may cooperate when it is more effective and efficient, bordering or not (PP 28/2018)",
    "bila kerja sama wajib tidak dilaksanakan, gubernur sebagai wakil Pemerintah Pusat mengambil alih urusan itu (kabupaten/kota dalam satu provinsi)":
        "if the mandatory cooperation is not carried out, the governor as the central government's representative takes the affair over (regencies and cities of one province)",
    "bila kerja sama wajib tidak dilaksanakan, Menteri mengambil alih urusan itu (antarprovinsi, atau kabupaten/kota dari provinsi yang berbeda)":
        "if the mandatory cooperation is not carried out, the minister takes the affair over (between provinces, or regencies and cities of different provinces)",
    "diperlukan: rencana kerja sama membebani masyarakat dan daerah": "required: the plan burdens the community and the region",
    "diperlukan: pendanaannya belum dianggarkan dalam APBD tahun berjalan": "required: its funding is not in the current year's APBD",
    "tidak diperlukan: tidak membebani masyarakat dan daerah, dan pendanaannya sudah ada dalam APBD tahun berjalan":
        "not required: it does not burden the community and the region, and its funding is in the current year's APBD",
    "pertanyaan: apakah rencana ini membebani masyarakat dan daerah? Bila ya, persetujuan DPRD diperlukan":
        "question: does the plan burden the community and the region? If so, the DPRD's approval is required",
    "pertanyaan: apakah pendanaannya sudah ada dalam APBD tahun berjalan? Bila belum, persetujuan DPRD diperlukan":
        "question: is its funding in the current year's APBD? If not, the DPRD's approval is required",
    "mitra pihak ketiga dipilih secara terbuka sesuai ketentuan, setelah studi kelayakan":
        "the third-party partner is chosen openly as the rules require, after a feasibility study",
    "kerja sama dengan pihak luar negeri memerlukan persetujuan Pemerintah Pusat melalui Menteri Dalam Negeri, berkoordinasi dengan Kementerian Luar Negeri; Permendagri 22/2020 tidak mengatur jenis ini":
        "a cooperation with a partner abroad needs the central government's approval through the Minister of Home Affairs, coordinated with the Ministry of Foreign Affairs; Permendagri 22/2020 does not cover this type",
    "Jalur hukum:": "Legal path:", "belum dapat ditentukan": "cannot be told yet", "Pelaku:": "Actor:",
    "Dokumen:": "Documents:", "Pelajaran:": "Lesson:", "Jalur hukum": "Legal path", "jenis utama": "primary type",
    "Bergantung pada mitra yang dituju: isi daerah mitra, pihak ketiga atau mitra luar negeri.":
        "Depends on the intended partner: fill in partner regions, third parties or partners abroad.",
    "kemungkinan wajib": "likely mandatory", "persetujuan diperlukan": "approval required",
    "persetujuan tidak diperlukan": "approval not required", "perlu dijawab": "to be answered",
    "Dasar peraturan": "Basis", "Pelaksana langkah": "Actor",
    "Pelajaran dari kasus serupa": "Lessons from similar cases",
    "Mitra yang dituju dan persetujuan DPRD (untuk jalur hukum)": "Intended partners and DPRD approval (for the legal path)",
    "mis. Kabupaten Bantul": "e.g. Kabupaten Bantul", "mis. PT Air Bersih | swasta": "e.g. PT Air Bersih | swasta",
    "mis. Aichi Prefecture | pemerintah": "e.g. Aichi Prefecture | pemerintah",
    "Jalur hukum untuk dicetak": "Legal path to print", "Jalur hukum usulan kerja sama": "Legal path of the cooperation proposal",
    "Daerah mitra": "Partner regions", "Mitra luar negeri": "Partners abroad", "pemerintah daerah luar negeri": "regional government abroad",
    "lembaga luar negeri": "institution abroad", "Daftar pendek": "Shortlist",
    "Daerah mitra (satu per baris: nama atau kode Kemendagri)": "Partner regions (one a line: name or Kemendagri code)",
    "Pihak ketiga (satu per baris: nama | jenis, mis. swasta, BUMD, universitas)":
        "Third parties (one a line: name | kind, e.g. swasta, BUMD, universitas)",
    "Mitra luar negeri (satu per baris: nama | pemerintah atau lembaga)":
        "Partners abroad (one a line: name | pemerintah (government) or lembaga (institution))",
    "Apakah rencana ini membebani masyarakat dan daerah?": "Does the plan burden the community and the region?",
    "Apakah pendanaannya sudah ada dalam APBD tahun berjalan?": "Is its funding in the current year's APBD?",
    "Belum tahu": "Not known yet", "Ya, membebani": "Yes, it burdens them", "Tidak membebani": "No burden",
    "Sudah dianggarkan": "Already budgeted", "Belum dianggarkan": "Not budgeted yet",
}

OUT = Path(__file__).resolve().parent.parent / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def vocabulary() -> list[str]:
    """The labels of kb's vocabularies that pages show (webapp/labels.py words them through the
    catalogue): sectors, statuses, cooperation types, islands, facet names."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from kb.gazetteer import ISLANDS
    from kb.search import FACET_SPECS
    from kb.vocab import COOPERATION_TYPES, SECTORS, STATUSES

    labels = [*SECTORS.values(), *STATUSES.values(), *COOPERATION_TYPES.values(), *ISLANDS.values(),
              *(spec.label for spec in FACET_SPECS)]
    return list(dict.fromkeys(labels))


def main(pot: str) -> int:
    with open(pot, "rb") as f:
        catalog = read_po(f, locale="en")
    for label in vocabulary():
        if label not in catalog:
            catalog.add(label, auto_comments=["a label of kb's vocabulary"])
    missing = []
    for m in catalog:
        if m.id:
            m.string = EN.get(m.id, "")
            if not m.string:
                missing.append(m.id)
            m.locations = []
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as f:
        write_po(f, catalog, omit_header=False, width=100)
    print(f"wrote {OUT}; {len(missing)} untranslated: {missing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
