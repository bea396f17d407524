"""The JSON API's request and answer models (pydantic).

The views validate request bodies with these models, and the OpenAPI document
(:mod:`webapp.openapi`) is generated from them, so the document states the rules the server
enforces. Records reuse :class:`kb.schema.RecordIn`, the model every write goes through. The
answer models forbid fields they do not name: an answer that grows a field fails the API tests
until the field is described here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError,
                      WithJsonSchema)

from kb.schema import RecordIn, SectorKey, Slug
from kb.store import STATES
from kb.vocab import COOPERATION_TYPES, KINDS, LANGUAGES, STATUSES
from recommender.legal import FOREIGN_KINDS, TYPES
from recommender.proposal import ProposalIn

from .views.common import MAX_PAGE, MAX_QUERY, SORTS, YEARS

MAX_RECOMMEND_LIMIT = 50
MAX_SEARCH_LIMIT = 100
MAX_TOPIC = 500
# Text that must say something: at least one character that is not white space.
NOT_BLANK = r"\S"
READ_ONLY = ("state", "created_at", "updated_at", "created_by", "updated_by")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ------------------------------------------------------------------------------
class SearchQuery(BaseModel):
    """The query parameters of ``GET /api/v1/search`` (checked by ``views.common.search_params``,
    from the same limits)."""

    q: str = Field("", description=f"the query: words, \"phrases\", AND/OR/NOT, field:value "
                                   f"(the first {MAX_QUERY:,} characters are used)")
    sector: list[str] = Field(default_factory=list, description="sector key or name (any of them)")
    province: list[str] = Field(default_factory=list, description="province code or name")
    island: list[str] = Field(default_factory=list, description="island group (jawa, sumatera, ...)")
    status: list[str] = Field(default_factory=list, description=f"status ({', '.join(STATUSES)})")
    type: list[str] = Field(default_factory=list, description=f"cooperation type ({', '.join(COOPERATION_TYPES)})")
    kind: list[str] = Field(default_factory=list, description=f"record kind ({', '.join(KINDS)})")
    year_from: int | None = Field(None, ge=YEARS[0], le=YEARS[1], description="started in or after")
    year_to: int | None = Field(None, ge=YEARS[0], le=YEARS[1], description="started in or before")
    sort: Literal[SORTS] = Field("relevance", description="order of the results")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="page number")
    limit: int = Field(10, ge=1, le=MAX_SEARCH_LIMIT, description="results a page")


class PeersQuery(BaseModel):
    """The query parameters of ``GET /api/v1/peers``."""

    model_config = ConfigDict(str_strip_whitespace=True)
    topic: str = Field(min_length=1, max_length=MAX_TOPIC, pattern=NOT_BLANK,
                       description="what the visit is about, in at least a few words")
    region: str | None = Field(None, max_length=200, description="home region (code or name), for distances")
    learn_from_failure: bool = Field(False, description="welcome stopped arrangements in the study-visit plan, "
                                                        "their challenges first")


class RecommendRequest(ProposalIn):
    """A proposal and how many answers of each kind to give. Unknown fields are refused, as in
    every API body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: str = Field(min_length=1, max_length=20_000, pattern=NOT_BLANK,
                             description="what the regions want to do, in at least a sentence")
    sectors: list[SectorKey] = Field(default_factory=list, max_length=16)
    language: Literal[LANGUAGES] | None = Field(None, description="the proposal's language (guessed when left out)")
    limit: StrictInt = Field(10, ge=1, le=MAX_RECOMMEND_LIMIT, description="answers of each kind")


class RecordCreate(RecordIn):
    """A new case or practice."""

    publish: StrictBool = Field(True, description="editors publish at once; a contributor's case is a draft")


class RecordUpdate(RecordIn):
    """A whole record replacing the stored one, with the ``version`` it was read at. A record as
    ``GET`` gave it may be sent back as it is: its bookkeeping fields are read-only and ignored,
    and its ``id`` must be the one in the URL."""

    version: StrictInt = Field(ge=1, description="the version read; a newer stored version is a 409")
    state: Any = Field(None, description="read-only, ignored")
    created_at: Any = Field(None, description="read-only, ignored")
    updated_at: Any = Field(None, description="read-only, ignored")
    created_by: Any = Field(None, description="read-only, ignored")
    updated_by: Any = Field(None, description="read-only, ignored")


# -- answers -------------------------------------------------------------------------------
class RegionRef(_Answer):
    code: str
    name: str


class FacetValue(_Answer):
    value: str
    label: str
    count: int = Field(ge=0)


class TableColumn(_Answer):
    value: str
    label: str


class TableRow(_Answer):
    value: str
    label: str
    counts: list[Annotated[int, Field(ge=0)]] = Field(description="the records in each column, in the order of values")
    total: int = Field(ge=0, description="the sum of counts")


class CrossTable(_Answer):
    rows: str = Field(description="the facet of the rows")
    columns: str = Field(description="the facet of the columns")
    values: list[TableColumn] = Field(description="the columns' values, in the order of each row's counts")
    data: list[TableRow] = Field(description="a row per value, most records first")


class Statistics(_Answer):
    total: int = Field(ge=0, description="published records")
    facets: dict[str, list[FacetValue]] = Field(description="records per value of each facet (sector, island, "
                                                             "status, kind, year, type, province, language)")
    tables: dict[str, CrossTable] = Field(description="cross-tables: sector_status, island_type")


class SearchHit(_Answer):
    id: str
    kind: Literal[KINDS]
    title: str
    score: float
    regions: list[RegionRef]
    sectors: list[str]
    start_year: int | None
    status: str | None
    language: Literal[LANGUAGES]
    highlight: str = Field(description="an HTML snippet: matches in <b class=\"match\">, the rest escaped")


class SearchResult(_Answer):
    query: str
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    pages: int = Field(ge=1)
    limit: int = Field(ge=1)
    results: list[SearchHit]
    facets: dict[str, list[FacetValue]]
    suggestion: str | None = Field(description="a spelling suggestion for the query")
    corrected_query: str | None = Field(description="the query searched instead, when the given one found nothing")
    notices: list[str] = Field(description="what was not understood (e.g. a filter value that names nothing)")
    notes: list[Reason] = Field(description="the notices as data: a code and its values")


class Reason(_Answer):
    """A reason or notice as data: its code and values (``why``/``notices`` word it)."""

    code: str
    values: dict[str, Any]


class CaseMatch(_Answer):
    id: str
    kind: Literal[KINDS]
    title: str
    score: float
    status: str | None
    regions: list[RegionRef]
    why: list[str]
    reasons: list[Reason]


class Peer(_Answer):
    code: str
    name: str
    score: float
    why: list[str]
    reasons: list[Reason]
    cases: list[str] = Field(description="ids of the cases behind the suggestion")
    arrangement: str | None = Field(None, description="the case of the study-visit plan this region is chosen for")
    island: str
    distance_km: int | None = Field(None, ge=0, description="from the home region, when one was given")


class Partner(_Answer):
    code: str
    name: str
    score: float
    distance_km: int = Field(ge=1, description="straight line between the regions' points (never 0)")
    bordering: Literal["land", "sea"] | None = Field(description="land: shares a border with the proposer; sea: "
                                                                 "its nearest coast (no land border); listed first")
    same_province: bool
    why: list[str]
    reasons: list[Reason]
    cases: list[str]
    already_cooperating: bool


class VisitMember(_Answer):
    code: str
    name: str
    distance_km: int | None = Field(None, ge=0, description="from the home region, when one was given")


class Visit(_Answer):
    """One arrangement of the study-visit plan: who runs it, its members, what to ask them."""

    id: str = Field(description="the case's id")
    title: str
    status: str | None
    mechanism: str | None = None
    third_parties: list[str] = Field(default_factory=list)
    island: str | None = None
    members: list[VisitMember]
    ask_about: list[str] = Field(description="lessons of the case to ask about (up to 3)")
    watch_out: list[str] = Field(description="its challenges (up to 2)")
    challenges_first: bool = Field(description="true when the proposer asked to learn from failure")
    score: float
    reasons: list[Reason]
    why: list[str]


class RouteStop(_Answer):
    """One stop of the visit, nearest first from the home region, then from stop to stop."""

    order: int = Field(ge=1)
    code: str
    name: str
    from_code: str
    from_name: str
    leg_km: int = Field(ge=0)
    total_km: int = Field(ge=0)
    arrangements: list[str] = Field(description="ids of the arrangements visited there")


class Mandatory(_Answer):
    """Guidance, not a legal opinion: PP 28/2018 makes cooperation between bordering regions on
    affairs with cross-border externalities mandatory (kerja sama wajib)."""

    sectors: list[str] = Field(description="the proposal's affairs with cross-border externalities")
    regions: list[RegionRef] = Field(description="the proposer's land neighbours of its level")
    basis: Literal["PP 28/2018"]


class Lesson(_Answer):
    text: str
    case: str
    title: str


class LegalType(_Answer):
    """The kind of regional cooperation (PP 28/2018): one agreement per kind of partner named."""

    primary: Literal[TYPES] | None = Field(description="the first type named, in PP 28/2018's order (KSDD, KSDPK, "
                                                       "KSDPL, KSDLL); null when it depends on partners not named")
    types: list[Literal[TYPES]] = Field(description="every type the proposal involves")
    source: Literal["partners", "text", "unknown"] = Field(description="from the partners named, from plain words "
                                                                       "of the text, or not known (asked)")


class NamedThirdParty(_Answer):
    name: str
    kind: str | None


class NamedForeignPartner(_Answer):
    name: str
    kind: Literal[FOREIGN_KINDS] = Field(description="pemerintah: a regional government abroad (KSDPL); lembaga: "
                                                     "an institution abroad (KSDLL)")
    kind_inferred: bool = Field(description="true when the kind was not given and follows from the name")


class LegalPartners(_Answer):
    regions: list[RegionRef]
    third_parties: list[NamedThirdParty]
    foreign: list[NamedForeignPartner]


class BorderPair(_Answer):
    a: RegionRef
    b: RegionRef
    border: Literal["land", "sea"]


class Obligation(_Answer):
    """For a KSDD: likely mandatory (bordering regions on affairs with cross-border effects) or
    voluntary; null value when the regions are not known."""

    value: Literal["wajib", "sukarela"] | None
    pairs: list[BorderPair] = Field(description="the regions of the proposal that border each other")
    sectors: list[str] = Field(description="its affairs with cross-border externalities")
    takeover: Literal["gubernur", "menteri"] | None = Field(description="who takes the affair over if a mandatory "
                                                                        "cooperation is not carried out")


class StepLesson(_Answer):
    text: str
    case: str
    title: str
    kind: Literal["lesson", "challenge"]


class LegalStep(_Answer):
    key: str = Field(description="persiapan, seleksi_pihak_ketiga, penawaran, persetujuan_pusat, ksb, pks, dprd, "
                                 "penandatanganan, pelaksanaan, pelaporan, monev")
    title: str
    basis: list[str] = Field(description="the regulations (and articles, where checked) the step rests on")
    actor: str
    documents: list[str]
    types: list[Literal[TYPES]] = Field(description="the cooperation types the step belongs to")
    status: Literal["required", "not_required", "ask"] | None = Field(
        description="the DPRD step: required (and why), not required, or a question to answer")
    reasons: list[Reason]
    why: list[str]
    lessons: list[StepLesson] = Field(description="lessons and challenges of similar cases about this step")


class Legal(_Answer):
    """The legal path of the proposal. Guidance, not a legal opinion."""

    cooperation_type: LegalType
    partners: LegalPartners
    obligation: Obligation | None = Field(description="for a KSDD only")
    questions: list[Literal["partners", "region", "burdens_community", "in_current_budget"]] = Field(
        description="what the proposer may still answer to make the path precise")
    reasons: list[Reason]
    why: list[str]
    steps: list[LegalStep]
    disclaimer: str


class Recommendation(_Answer):
    cases: list[CaseMatch]
    peers: list[Peer]
    partners: list[Partner]
    what_worked: list[Lesson]
    watch_out: list[Lesson]
    message: str | None
    message_code: str | None = Field(description="the message as a code (e.g. no_match)")
    proposer: RegionRef | None
    visits: list[Visit] = Field(description="the study-visit plan: arrangements to visit, best first")
    route: list[RouteStop] = Field(description="the plan's stops in travel order (with a home region)")
    mandatory: Mandatory | None = Field(description="with a home region whose affairs cross borders: the "
                                                    "bordering regions the cooperation may be mandatory with")
    legal: Legal | None = Field(description="the legal path: cooperation type, obligation, steps with their "
                                            "basis and lessons")


class Peers(_Answer):
    peers: list[Peer]
    visits: list[Visit] = Field(description="the study-visit plan: arrangements to visit, best first")
    route: list[RouteStop] = Field(description="the plan's stops in travel order (with a home region)")
    proposer: RegionRef | None


class RegionCase(_Answer):
    id: str
    title: str
    kind: Literal[KINDS]


class Neighbour(_Answer):
    code: str
    name: str
    distance_km: int = Field(ge=0)


class BorderNeighbour(_Answer):
    code: str
    name: str
    kind: Literal["land", "sea"] = Field(description="land: a shared border of at least about 1 km; sea: the "
                                                     "nearest coasts of a region without land neighbours")
    distance_km: float = Field(gt=0, description="straight line between the regions' points")


class Region(_Answer):
    code: str
    name: str
    level: str
    province: RegionRef
    island: str
    lat: float | None
    lon: float | None
    point: Literal["seat", "inside"] = Field(description="seat: the seat of government; inside: a point inside "
                                                         "the region (its seat is not established)")
    is_seat: bool
    coord_source: str | None
    cases: list[RegionCase]
    sectors: list[FacetValue]
    nearest: list[Neighbour]
    neighbours: list[BorderNeighbour]


class Record(RecordIn):
    """A stored case or practice: its canonical data (empty fields left out; regions as codes,
    sectors as keys) and its bookkeeping."""

    model_config = ConfigDict(extra="forbid")
    id: Slug
    kind: Literal[KINDS]
    language: Literal[LANGUAGES]
    version: int = Field(ge=1)
    state: Literal[STATES]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    created_by: str
    updated_by: str


class Deleted(_Answer):
    id: str
    state: Literal["deleted"]
    version: int = Field(ge=1)


class ErrorBody(_Answer):
    code: int = Field(ge=400, le=599, description="the HTTP status")
    message: str
    details: Annotated[Any, WithJsonSchema({"description": "per-field problems ([{field, message}]) "
                                                           "or the current record (409)"})]


class Error(_Answer):
    error: ErrorBody


def problems(e: ValidationError, model: type[BaseModel] | None = None) -> list[dict]:
    """A validation error as ``[{field, message}]``, the shape of every 400's details."""
    out = []
    for err in e.errors():
        field = ".".join(str(x) for x in err["loc"]) or None
        if err["type"] == "extra_forbidden":
            known = f" (known fields: {', '.join(model.model_fields)})" if model and len(err["loc"]) == 1 else ""
            message = "unknown field" + known
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NOT_BLANK:
            message = "must not be empty or only white space"
        else:
            message = err["msg"].removeprefix("Value error, ")
        out.append({"field": field, "message": message})
    return out


__all__ = ["SearchQuery", "PeersQuery", "RecommendRequest", "RecordCreate", "RecordUpdate", "SearchResult",
           "Recommendation", "Peers", "Region", "Record", "Deleted", "Error", "problems", "READ_ONLY"]
