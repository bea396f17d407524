"""A proposal as it comes in: validated fields, its region and its intended partner regions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kb.errors import Invalid, RecordProblem, RegionError
from kb.gazetteer import Region, gazetteer
from kb.vocab import sector_keys

from .legal import ForeignPartner, ThirdParty

MAX_NAMED_PARTNERS = 16       # partners of each kind a proposal may name


def _listed(v, wrong: str) -> list:
    """A list field as a form or a file gives it: a list, or one string of items separated by
    new lines or semicolons; blank items dropped. ``wrong``: the message for anything else."""
    if v is None:
        return []
    if isinstance(v, str):
        v = v.replace(";", "\n").splitlines()
    if not isinstance(v, list):
        raise ValueError(wrong)
    return [x for x in v if not isinstance(x, str) or x.strip()]


class ProposalIn(BaseModel):
    """A proposal as the API, the form and ``sinergi recommend --file`` give it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    title: str = Field("", max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    region: str | None = Field(None, max_length=200)
    sectors: list[str] = Field(default_factory=list, max_length=16)
    language: str | None = None
    learn_from_failure: bool = False   # stopped arrangements welcome in the study-visit plan
    # Intended partners (the legal path, recommender/legal.py): Indonesian regions (names or
    # codes, resolved when the proposal is answered), third parties, partners abroad.
    partners: list[str] = Field(default_factory=list, max_length=MAX_NAMED_PARTNERS,
                                description="partner regions (names or Kemendagri codes)")
    third_parties: list[ThirdParty] = Field(default_factory=list, max_length=MAX_NAMED_PARTNERS,
                                            description="companies, BUMN/BUMD, universities, NGOs: a name or "
                                                        "{name, kind}")
    foreign_partners: list[ForeignPartner] = Field(default_factory=list, max_length=MAX_NAMED_PARTNERS,
                                                   description="partners abroad: a name (its kind inferred from "
                                                               "generic words) or {name, kind}")
    # The proposer's answers for the DPRD condition (None: not answered yet).
    burdens_community: bool | None = Field(None, description="the plan burdens the community and the region")
    in_current_budget: bool | None = Field(None, description="its funding is in the current year's APBD")

    @field_validator("partners", mode="before")
    @classmethod
    def _partners(cls, v):
        return [x.strip() if isinstance(x, str) else x
                for x in _listed(v, "partners must be a list of region names or codes")]

    @field_validator("third_parties", "foreign_partners", mode="before")
    @classmethod
    def _named(cls, v):
        return [{"name": x} if isinstance(x, str) else x
                for x in _listed(v, "give a list of names or {name, kind} objects")]

    @field_validator("sectors", mode="before")
    @classmethod
    def _sectors(cls, v):
        if isinstance(v, str):
            v = [x for x in v.replace(";", ",").split(",") if x.strip()]
        if v is None:
            return []
        if not isinstance(v, list):
            raise ValueError("sectors must be a list of sector keys")
        return sector_keys(v)

    @field_validator("language")
    @classmethod
    def _lang(cls, v):
        if v not in (None, "", "id", "en"):
            raise ValueError("language must be id or en")
        return v or None


def parse_proposal(data: dict) -> ProposalIn:
    """Validate a proposal; problems raise :class:`Invalid` naming the field."""
    if not isinstance(data, dict):
        raise Invalid([RecordProblem("proposal", None, None, "a proposal must be a JSON object")])
    try:
        return ProposalIn.model_validate(data)
    except ValidationError as e:
        raise Invalid([RecordProblem("proposal", None, ".".join(map(str, err["loc"])) or None,
                                     err["msg"].removeprefix("Value error, ")) for err in e.errors()]) from e


def resolve_region(region: str | None) -> Region | None:
    """The proposer's region, or ``None``; an unknown or ambiguous name is a problem of ``region``."""
    if not region:
        return None
    try:
        return gazetteer().resolve(region)
    except RegionError as e:
        raise Invalid([RecordProblem("proposal", None, "region", str(e), code="region",
                                          values={"text": e.text, "candidates": e.candidates})]) from e

def resolve_partners(names: list[str]) -> list[Region]:
    """The partner regions a proposal names; every unknown or ambiguous name is a problem of
    ``partners`` naming the item, with the close official names."""
    out, problems = [], []
    for i, name in enumerate(names):
        try:
            region = gazetteer().resolve(name)
        except RegionError as e:
            problems.append(RecordProblem("proposal", None, f"partners.{i}", str(e), code="region",
                                          values={"text": e.text, "candidates": e.candidates}))
            continue
        if region.code not in {r.code for r in out}:
            out.append(region)
    if problems:
        raise Invalid(problems)
    return out
