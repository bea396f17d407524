"""Domain errors of Sinergi; the CLI and the web app translate them at their edges."""

from __future__ import annotations

from dataclasses import dataclass, field


class SinergiError(Exception):
    """Base of every error Sinergi raises on purpose."""

    code = "error"


class RegionError(SinergiError, ValueError):
    """An unknown or ambiguous region name; ``candidates`` lists the closest official names."""

    code = "region"

    def __init__(self, message: str, text: str, candidates: list[str]):
        if candidates:
            message = f"{message}; did you mean: {', '.join(candidates)}?"
        super().__init__(message)
        self.text = text
        self.candidates = candidates


@dataclass
class RecordProblem:
    """One problem of one input record: where (file, line or record number, field) and what."""

    source: str
    line: int | None
    field: str | None
    message: str  # English, for the command line and the API
    # What a page words in its reader's language instead of ``message`` (None: shown as is).
    code: str | None = None
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


@dataclass
class Invalid(SinergiError, ValueError):
    """Input failed validation; ``problems`` says what and where. Nothing was written."""

    problems: list[RecordProblem] = field(default_factory=list)
    code = "invalid"

    def __str__(self) -> str:
        return f"{len(self.problems)} problem(s); nothing was written"


@dataclass
class ImportFailed(Invalid):
    """An import's validation found problems; nothing was imported."""

    def __str__(self) -> str:
        return f"{len(self.problems)} problem(s); nothing was imported"


class NotFound(SinergiError, LookupError):
    code = "not_found"


class Conflict(SinergiError):
    """A write based on a stale version, or a duplicate id."""

    code = "conflict"


class Forbidden(SinergiError):
    """The actor may not do this (a contributor publishing, changing a published record...)."""

    code = "forbidden"


class Unavailable(SinergiError):
    """The store or the index is busy for longer than a request may wait; nothing was written."""

    code = "unavailable"


class InstanceError(SinergiError):
    """The instance folder is missing or unusable."""

    code = "instance"
