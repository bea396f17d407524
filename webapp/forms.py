"""Forms (Flask-WTF, with CSRF). Case data is validated by kb's one model, not here: the form
only turns text areas into lists and back."""

from __future__ import annotations

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, HiddenField, IntegerField, PasswordField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from kb.vocab import COOPERATION_TYPES, SECTORS, STATUSES


def _type_label(key: str, name: str) -> LazyString:
    """``KSDD — <name in the page's language>``, worded when the form is shown."""
    return LazyString(lambda: f"{key} — {gettext(name)}")


# Vocabulary choices, their labels translated when shown (the catalogue holds kb.vocab's labels).
SECTOR_CHOICES = [(k, _l(v)) for k, v in SECTORS.items()]
STATUS_CHOICES = [(k, _l(v)) for k, v in STATUSES.items()]
TYPE_CHOICES = [(k, _type_label(k, v)) for k, v in COOPERATION_TYPES.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(), Length(max=200)])


def lines(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").splitlines() if x.strip()]


def _pipes(text: str | None, keys: tuple[str, ...]) -> list[dict]:
    out = []
    for line in lines(text):
        parts = [p.strip() for p in line.split("|")]
        out.append({k: v for k, v in zip(keys, parts) if v})
    return out


class CaseForm(FlaskForm):
    version = HiddenField()
    id = StringField(_l("ID (slug, boleh kosong)"), validators=[Optional(), Length(max=120)])
    kind = SelectField(_l("Jenis catatan"), validate_choice=False, choices=[("case", _l("Studi kasus")), ("practice", _l("Praktik baik"))])
    language = SelectField(_l("Bahasa"), validate_choice=False, choices=[("id", _l("Bahasa Indonesia")), ("en", _l("Bahasa Inggris"))])
    title = StringField(_l("Judul"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("Ringkasan"), validators=[DataRequired(), Length(max=3000)])
    body = TextAreaField(_l("Uraian (Markdown)"), validators=[Length(max=100_000)])
    regions = TextAreaField(_l("Daerah (satu per baris: nama atau kode Kemendagri)"))
    third_parties = TextAreaField(_l("Pihak ketiga (satu per baris)"))
    sectors = MultiCheckboxField(_l("Bidang"), choices=SECTOR_CHOICES)
    cooperation_type = SelectField(_l("Jenis kerja sama"), validate_choice=False,
                                   choices=[("", "—")] + TYPE_CHOICES)
    obligation = SelectField(_l("Sifat"), validate_choice=False, choices=[("", "—"), ("wajib", _l("wajib")), ("sukarela", _l("sukarela"))])
    urusan = TextAreaField(_l("Urusan pemerintahan (satu per baris)"))
    mechanism = StringField(_l("Mekanisme / kelembagaan"), validators=[Length(max=300)])
    start_year = IntegerField(_l("Tahun mulai"), validators=[Optional()])
    end_year = IntegerField(_l("Tahun selesai"), validators=[Optional()])
    status = SelectField(_l("Status"), validate_choice=False, choices=[("", "—")] + STATUS_CHOICES)
    lessons = TextAreaField(_l("Pelajaran (satu per baris)"))
    challenges = TextAreaField(_l("Tantangan (satu per baris)"))
    documents = TextAreaField(_l("Dokumen (per baris: jenis | nomor | tanggal tanda tangan | berakhir)"))
    indicators = TextAreaField(_l("Indikator (per baris: nama | nilai | satuan | tahun)"))
    sources = TextAreaField(_l("Sumber (per baris: judul | url)"))

    def to_record(self) -> dict:
        """The interchange dict of the form's content (validated later by kb)."""
        d: dict = {"kind": self.kind.data, "language": self.language.data, "title": self.title.data or "",
                   "summary": self.summary.data or "", "body": self.body.data or "",
                   "regions": lines(self.regions.data), "third_parties": lines(self.third_parties.data),
                   "sectors": list(self.sectors.data or []), "urusan": lines(self.urusan.data),
                   "lessons": lines(self.lessons.data), "challenges": lines(self.challenges.data),
                   "documents": _pipes(self.documents.data, ("type", "number", "signed", "expires")),
                   "sources": _pipes(self.sources.data, ("title", "url"))}
        indicators = _pipes(self.indicators.data, ("name", "value", "unit", "year"))
        for ind in indicators:
            for key, cast in (("value", float), ("year", int)):
                if key in ind:
                    try:
                        ind[key] = cast(ind[key])
                        if key == "value" and float(ind[key]).is_integer():
                            ind[key] = int(ind[key])
                    except ValueError:
                        pass
        d["indicators"] = indicators
        for key in ("id", "cooperation_type", "obligation", "mechanism", "status"):
            value = getattr(self, key).data
            if value:
                d[key] = value
        for key in ("start_year", "end_year"):
            if getattr(self, key).data is not None:
                d[key] = getattr(self, key).data
        return d

    def fill(self, rec: dict) -> None:
        """Put a stored record into the form."""
        simple = ("id", "kind", "language", "title", "summary", "body", "cooperation_type", "obligation",
                  "mechanism", "start_year", "end_year", "status")
        for key in simple:
            getattr(self, key).data = rec.get(key)
        for key in ("regions", "third_parties", "urusan", "lessons", "challenges"):
            getattr(self, key).data = "\n".join(rec.get(key, []))
        self.sectors.data = rec.get("sectors", [])
        self.documents.data = "\n".join(" | ".join(str(d.get(k, "")) for k in ("type", "number", "signed", "expires"))
                                        .rstrip(" |") for d in rec.get("documents", []))
        self.indicators.data = "\n".join(" | ".join(str(d.get(k, "")) for k in ("name", "value", "unit", "year"))
                                         .rstrip(" |") for d in rec.get("indicators", []))
        self.sources.data = "\n".join(" | ".join(str(d.get(k, "")) for k in ("title", "url")).rstrip(" |")
                                      for d in rec.get("sources", []))
        self.version.data = rec.get("version")


BURDEN_CHOICES = [("", _l("Belum tahu")), ("ya", _l("Ya, membebani")), ("tidak", _l("Tidak membebani"))]
BUDGET_CHOICES = [("", _l("Belum tahu")), ("ya", _l("Sudah dianggarkan")), ("tidak", _l("Belum dianggarkan"))]


class ProposalForm(FlaskForm):
    class Meta:
        csrf = False  # a read-only query: safe to share as a link

    title = StringField(_l("Judul usulan"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("Uraian usulan"), validators=[DataRequired(), Length(max=20_000)])
    region = StringField(_l("Daerah pengusul"), validators=[Optional(), Length(max=200)])
    sectors = MultiCheckboxField(_l("Bidang"), choices=SECTOR_CHOICES)
    learn_from_failure = BooleanField(_l("Sertakan kerja sama yang terhenti untuk belajar dari kegagalan"))
    # The intended partners and the answers to the DPRD condition (the legal path).
    partners = TextAreaField(_l("Daerah mitra (satu per baris: nama atau kode Kemendagri)"),
                             validators=[Length(max=4000)])
    third_parties = TextAreaField(_l("Pihak ketiga (satu per baris: nama | jenis, mis. swasta, BUMD, universitas)"),
                                  validators=[Length(max=4000)])
    foreign_partners = TextAreaField(_l("Mitra luar negeri (satu per baris: nama | pemerintah atau lembaga)"),
                                     validators=[Length(max=4000)])
    burdens_community = SelectField(_l("Apakah rencana ini membebani masyarakat dan daerah?"), validate_choice=False,
                                    choices=BURDEN_CHOICES)
    in_current_budget = SelectField(_l("Apakah pendanaannya sudah ada dalam APBD tahun berjalan?"),
                                    validate_choice=False, choices=BUDGET_CHOICES)

    def answer(self, name: str) -> bool | None:
        """A yes/no question of the form as True, False or None (not answered)."""
        return {"ya": True, "tidak": False}.get(getattr(self, name).data or "")


class UploadForm(FlaskForm):
    file = FileField(_l("Berkas (CSV, JSON Lines, JSON, Markdown atau teks)"), validators=[FileRequired()])
    upsert = SelectField(_l("Jika ID sudah ada"), validate_choice=False, choices=[("", _l("tolak")), ("1", _l("perbarui"))])
    token = HiddenField()
