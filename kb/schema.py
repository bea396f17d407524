"""The one validation model of the interchange format (import, API and forms share it)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator,
                      model_validator)
from slugify import slugify

from .errors import RegionError
from .gazetteer import gazetteer
from .text import normalize
from .vocab import COOPERATION_TYPES, DOCUMENT_TYPES, SECTORS, normalize_cooperation_type, sector_keys

MAX_TITLE = 300
MAX_SUMMARY = 3_000
MAX_BODY = 100_000
MAX_ITEM = 2_000
MAX_ITEMS = 200
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# C0 control characters and DEL: never part of a record's text (a NUL or an escape sequence
# would reach pages and CSV files). Multi-line fields keep tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MULTILINE_FIELDS = frozenset({"body", "summary"})

_URL = re.compile(r"^https?://\S+$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def _documented(**schema: Any) -> Any:
    """A string whose JSON schema (the API document) states ``schema``: the rule a validator of
    the model enforces with its own message. The validators also take spellings the schema
    leaves out (sector synonyms, lower-case codes) and turn them into the documented ones."""
    return Annotated[str, WithJsonSchema({"type": "string", **schema})]


Slug = _documented(pattern=_SLUG.pattern, maxLength=120)
SectorKey = _documented(enum=list(SECTORS), description="a sector key (labels and common synonyms are "
                                                        "accepted too and stored as the key)")
CooperationType = _documented(enum=list(COOPERATION_TYPES),
                              description="PP 28/2018 type (antar-daerah and pihak-ketiga are accepted too)")
Url = _documented(pattern=_URL.pattern, maxLength=2000)
PartialDate = _documented(pattern=_PARTIAL_DATE.pattern, maxLength=10)
DocumentType = _documented(enum=list(dict.fromkeys(DOCUMENT_TYPES.values())),
                           description="KSB, PKS or nota kesepakatan (mou and the long names are accepted too)")

# The order of fields in exports: the interchange format's order.
FIELD_ORDER = ("id", "kind", "language", "title", "summary", "body", "regions", "third_parties",
               "sectors", "cooperation_type", "obligation", "urusan", "mechanism", "documents",
               "start_year", "end_year", "status", "lessons", "challenges", "indicators", "sources",
               "related_cases", "checked")
LIST_FIELDS = ("regions", "third_parties", "sectors", "urusan", "lessons", "challenges", "related_cases")
OBJECT_LIST_FIELDS = ("documents", "indicators", "sources")


def slug_for(title: str) -> str:
    """The id generated from a title (when a record comes without one); empty when the title
    has no letters or digits that spell in Latin script."""
    return slugify(title, max_length=80, word_boundary=True)


def _clean(text: str) -> str:
    return normalize(text).strip()


def _clean_line(text: str) -> str:
    return " ".join(normalize(text).split())


def _control_free(v: Any, pattern: re.Pattern = _CONTROL) -> Any:
    """``v`` unchanged, or a ValueError naming the first control character in it (a list is
    checked item by item; objects such as sources are checked by their own model)."""
    if isinstance(v, str):
        m = pattern.search(v)
        if m:
            raise ValueError(f"contains the control character U+{ord(m.group()):04X} at position "
                             f"{m.start() + 1}; remove it")
    elif isinstance(v, list):
        for i, item in enumerate(v, 1):
            try:
                _control_free(item if isinstance(item, str) else None, pattern)
            except ValueError as e:
                raise ValueError(f"item {i} {e}") from None
    return v

def _at_most(items: list, limit: int) -> None:
    """A list's length limit holds for the list as sent: repeated items count (they are dropped
    only after this check), so the document's ``maxItems`` is the rule."""
    if len(items) > limit:
        raise ValueError(f"at most {limit} items, got {len(items)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, v: Any, info) -> Any:
        return _control_free(v, _CONTROL_MULTILINE if info.field_name in MULTILINE_FIELDS else _CONTROL)


class Document(_Strict):
    type: DocumentType
    number: str | None = Field(None, max_length=300)
    signed: dt.date | None = None
    expires: dt.date | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        key = " ".join(v.lower().split())
        if key not in DOCUMENT_TYPES:
            raise ValueError("document type must be KSB, PKS or nota kesepakatan")
        return DOCUMENT_TYPES[key]

    @model_validator(mode="after")
    def _dates(self) -> Document:
        if self.signed and self.expires and self.expires < self.signed:
            raise ValueError("expires is before signed")
        return self


class Indicator(_Strict):
    name: str = Field(min_length=1, max_length=300)
    value: float | int | str | None = None
    unit: str | None = Field(None, max_length=100)
    year: int | None = Field(None, ge=1945, le=2100)


class Source(_Strict):
    """Where a fact was read: the page or document (``url``), who published it and when
    (``date``: a year, a year and month, or a full ISO date), and when it was read."""

    title: str = Field(min_length=1, max_length=1000)
    url: Url | None = Field(None, max_length=2000)
    publisher: str | None = Field(None, max_length=300)
    date: PartialDate | None = Field(None, max_length=10)
    accessed: dt.date | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str):
            v = v.strip()
            if not v:
                return None
            if not _PARTIAL_DATE.match(v):
                raise ValueError("date must be a year (2019), a month (2019-07) or a day (2019-07-15)")
            try:
                dt.date.fromisoformat(v if len(v) == 10 else (v + "-01-01")[:10])
            except ValueError:
                raise ValueError(f"date {v!r} is not a real date") from None
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v and not _URL.match(v):
            raise ValueError("url must start with http:// or https://")
        return v or None


class RecordIn(_Strict):
    """One case or practice, validated and normalised.

    Regions are resolved through the gazetteer and stored as Kemendagri codes; sector synonyms
    become sector keys; cooperation-type aliases become the PP 28/2018 codes.
    """

    id: Slug | None = Field(None, max_length=120)
    kind: Literal["case", "practice"] = "case"
    language: Literal["id", "en"] = "id"
    title: str = Field(min_length=3, max_length=MAX_TITLE)
    summary: str = Field(min_length=10, max_length=MAX_SUMMARY)
    body: str = Field("", max_length=MAX_BODY)
    regions: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    third_parties: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    sectors: list[SectorKey] = Field(default_factory=list, max_length=len(SECTORS))
    cooperation_type: CooperationType | None = None
    obligation: Literal["wajib", "sukarela"] | None = None
    urusan: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    mechanism: str | None = Field(None, max_length=300)
    documents: list[Document] = Field(default_factory=list, max_length=MAX_ITEMS)
    start_year: int | None = Field(None, ge=1945, le=2100)
    end_year: int | None = Field(None, ge=1945, le=2100)
    status: Literal["direncanakan", "berjalan", "selesai", "terhenti"] | None = None
    lessons: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    challenges: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    indicators: list[Indicator] = Field(default_factory=list, max_length=MAX_ITEMS)
    sources: list[Source] = Field(default_factory=list, max_length=MAX_ITEMS)
    related_cases: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    checked: dt.date | None = None  # when an editor last checked the record against its sources

    @field_validator("title", "summary", "mechanism", mode="before")
    @classmethod
    def _line(cls, v: Any) -> Any:
        return _clean_line(v) if isinstance(v, str) else v

    @field_validator("title")
    @classmethod
    def _visible_title(cls, v: str) -> str:
        if not any(ch.isalnum() for ch in v):
            raise ValueError("a title needs visible letters or digits (this one has none)")
        return v

    @field_validator("body", mode="before")
    @classmethod
    def _body(cls, v: Any) -> Any:
        if v is None:
            return ""
        return _clean(v).replace("\r\n", "\n") if isinstance(v, str) else v

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not _SLUG.match(v):
            raise ValueError("id must be lower-case letters, digits and single hyphens (a slug)")
        return v

    @field_validator("third_parties", "urusan", "lessons", "challenges", "related_cases", mode="before")
    @classmethod
    def _strings(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            _at_most(v, MAX_ITEMS)
            out = []
            for item in v:
                if not isinstance(item, str):
                    raise ValueError("every item must be a string")
                item = _clean_line(item)
                if len(item) > MAX_ITEM:
                    raise ValueError(f"an item is longer than {MAX_ITEM} characters")
                if item and item not in out:
                    out.append(item)
            return out
        return v

    @field_validator("regions", mode="before")
    @classmethod
    def _regions(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return v
        _at_most(v, MAX_ITEMS)
        g = gazetteer()
        codes, errors = [], []
        for item in v:
            if not isinstance(item, str):
                raise ValueError("every region must be a string")
            try:
                code = g.resolve(item).code
            except RegionError as e:
                errors.append(str(e))
                continue
            if code not in codes:
                codes.append(code)
        if errors:
            raise ValueError("; ".join(errors))
        return codes

    @field_validator("sectors", mode="before")
    @classmethod
    def _sectors(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return v
        _at_most(v, len(SECTORS))
        return sector_keys(v)

    @field_validator("cooperation_type", mode="before")
    @classmethod
    def _ctype(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        key = normalize_cooperation_type(str(v))
        if key:
            return key
        raise ValueError(f"cooperation_type must be one of {', '.join(COOPERATION_TYPES)} "
                         "(or antar-daerah, pihak-ketiga)")

    @field_validator("status", "obligation", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        if v == "":
            return None
        return v.strip().lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _years(self) -> RecordIn:
        if self.start_year and self.end_year and self.end_year < self.start_year:
            raise ValueError("end_year is before start_year")
        if not self.id:
            self.id = slug_for(self.title)
            if not self.id:
                raise ValueError("no id can be made from this title (no letters or digits that "
                                 "spell in Latin script); give the record an id")
        return self

    def to_data(self) -> dict:
        """The canonical dict form (stored, indexed, exported): empty fields left out."""
        raw = self.model_dump(mode="json", exclude_none=True)
        out: dict = {}
        for key in FIELD_ORDER:
            v = raw.get(key)
            if v in (None, "", []):
                continue
            if key in OBJECT_LIST_FIELDS:
                v = [{k: x for k, x in item.items() if x not in (None, "")} for item in v]
            out[key] = v
        return out


def validate_record(data: dict) -> tuple[dict | None, list[tuple[str | None, str]]]:
    """Validate one raw record; return ``(canonical data, [])`` or ``(None, [(field, message)])``."""
    if not isinstance(data, dict):
        return None, [(None, "a record must be a JSON object")]
    try:
        rec = RecordIn.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or None
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if err["type"] == "extra_forbidden":
                msg = f"unknown field (known fields: {', '.join(FIELD_ORDER)})"
            if err["type"] == "missing":
                msg = "required field is missing"
            problems.append((loc, msg))
        return None, problems
    return rec.to_data(), []

