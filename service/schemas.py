"""API models: validate input exactly as CONTRACT.md says, and describe output for OpenAPI.

The same `PostIn` validates REST bodies and batch rows, so both give the same reasons.
Records (model.records) are built from these; no pydantic type goes past this module.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    WithJsonSchema,
    ValidationError,
    field_validator,
)

from model.errors import InputError
from model.records import SOURCES, Engagement, Geo, Post

MAX_TEXT_CHARS = 20_000


def _not_a_number(value: Any) -> Any:
    # pydantic would read a number as a Unix time; the contract says ISO 8601 with an offset
    if isinstance(value, (int, float)) and not isinstance(value, datetime):
        raise ValueError(f"expected an ISO 8601 datetime with an offset, got a number ({value!r})")
    return value


# Posts of social networks exist from the 2000s; far-off years are typos and break time-zone math
MIN_YEAR, MAX_YEAR = 2000, 2099


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return value
    if value.tzinfo is None:
        raise ValueError("expected an ISO 8601 datetime with an offset (e.g. 2026-11-23T10:00:00+03:00), got one without")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"expected a datetime in the years {MIN_YEAR}..{MAX_YEAR}, got the year {value.year}")
    return value


AwareDatetime = Annotated[
    datetime,
    BeforeValidator(_not_a_number),
    AfterValidator(_aware),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "^20[0-9]{2}-",
                    "description": f"ISO 8601 with an offset, years {MIN_YEAR}..{MAX_YEAR}"}),
]
def _json_integer(value: Any) -> Any:
    # JSON has one number type: 5.0 is the integer 5, "5" and true are not numbers
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a non-negative integer, got {type(value).__name__}")
    return value


NonNegative = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_json_integer)]


class EngagementIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    likes: NonNegative | None = None
    comments: NonNegative | None = None
    reposts: NonNegative | None = None
    views: NonNegative | None = None


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return value


class GeoIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), BeforeValidator(_json_number)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), BeforeValidator(_json_number)]


# characters a text may not consist of only (see PostIn.text)
BLANK = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
         "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
_NOT_BLANK = r"[^\s\u001c-\u001f\u0085\ufeff]"


class PostIn(BaseModel):
    """A post as CONTRACT.md defines it. Unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "id": "vk-1",
                    "text": "Третий день нет горячей воды на ул. Ленина 5, управляйка трубку не берёт",
                    "created_at": "2026-11-23T09:15:00+06:00",
                    "source": "vk",
                    "region": "omsk",
                }
            ]
        },
    )

    id: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    # at least one non-blank character; at most 20000 characters after trimming (checked below)
    # (the pattern is documented for callers; the validator below gives the clearer message).
    # "Blank" is the same set in the pattern and the validator: Python's whitespace (str.strip also
    # strips \x1c-\x1f and NEL \x85, which JSON Schema's ECMA \s does not) plus the BOM (which
    # ECMA \s has and Python's does not) — a fuzzer found "\u0085" valid by one, empty by the other.
    text: Annotated[StrictStr, Field(min_length=1, description="the post as published; 1..20000 characters "
                                     "after trimming", json_schema_extra={"pattern": _NOT_BLANK})]
    author_id: Annotated[StrictStr, Field(max_length=256)] | None = None
    created_at: AwareDatetime | None = None
    detected_at: AwareDatetime | None = None
    source: Literal[SOURCES] | None = None  # type: ignore[valid-type]
    url: Annotated[StrictStr, Field(max_length=4096)] | None = None
    region: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    engagement: EngagementIn | None = None
    geo: GeoIn | None = None
    address: Annotated[StrictStr, Field(max_length=2000)] | None = None
    answered_at: AwareDatetime | None = None

    @field_validator("text")
    @classmethod
    def _text_length(cls, value: str) -> str:
        trimmed = value.strip(BLANK)
        if not trimmed:
            raise ValueError("expected 1..20000 characters after trimming, got an empty text")
        if len(trimmed) > MAX_TEXT_CHARS:
            raise ValueError(f"expected 1..{MAX_TEXT_CHARS} characters after trimming, got {len(trimmed)}")
        return value

    def to_record(self) -> Post:
        return Post(
            id=self.id,
            text=self.text,
            author_id=self.author_id,
            created_at=self.created_at,
            detected_at=self.detected_at,
            source=self.source,
            url=self.url,
            region=self.region,
            engagement=Engagement(**self.engagement.model_dump()) if self.engagement else None,
            geo=Geo(float(self.geo.lat), float(self.geo.lon)) if self.geo else None,
            address=self.address,
            answered_at=self.answered_at,
        )


def post_from_mapping(raw: Any) -> Post:
    """Validate one post given as a mapping (a batch row, a REST batch item).

    Raises InputError naming the first offending field and the reason.
    """
    if not isinstance(raw, dict):
        raise InputError("post", f"expected a JSON object, got {type(raw).__name__}")
    try:
        return PostIn.model_validate(raw).to_record()
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ())]
        field = ".".join(loc) or "post"
        msg = "field required" if err.get("type") == "missing" else err.get("msg", "invalid value")
        msg = msg.removeprefix("Value error, ")
        raise InputError(field, msg) from None


class BatchIn(BaseModel):
    # items are validated one by one in the route, so one bad post gives an error item, not a 422
    posts: list[Any] = Field(
        ...,
        description=(
            "posts as in POST /v1/classify (schema PostIn), at most OTKLIK_MAX_BATCH_POSTS; each item is "
            "validated on its own, so a bad item gives an error item in its place, not a failed batch"
        ),
    )


# ---------------------------------------------------------------- output (OpenAPI description)


class SpanOut(BaseModel):
    start: int
    end: int
    text: str


class TopicAlternativeOut(BaseModel):
    name: str
    group: str
    score: float


class TopicOut(BaseModel):
    name: str
    group: str
    score: float
    alternatives: list[TopicAlternativeOut] = []
    group_score: float | None = None
    urgent: bool = False


class LocationOut(BaseModel):
    municipality: str | None = None
    district: str | None = None
    settlement: str | None = None
    street: str | None = None
    house: str | None = None
    mentions: list[SpanOut] = []
    source: str | None = None


class ImportanceOut(BaseModel):
    level: Literal["normal", "high"]
    score: float
    reasons: list[str] = []


class ExclusionOut(BaseModel):
    reason: str
    score: float
    applies: bool
    evidence: list[SpanOut] = []


class ExecutorOut(BaseModel):
    name: str
    role: str
    score: float


class RouteOut(BaseModel):
    executors: list[ExecutorOut] = []
    needs_review: bool


class SlaOut(BaseModel):
    profile: str
    shortened: bool
    priority: bool
    detected_at: datetime
    deadline: datetime
    milestones: dict[str, datetime] = {}
    notes: list[str] = []


class TaggingOut(BaseModel):
    id: str
    topic: TopicOut | None = None
    location: LocationOut | None = None
    importance: ImportanceOut | None = None
    exclusions: list[ExclusionOut] = []
    actionable: bool
    repeat_of: list[str] = []
    new_arguments: bool | None = None
    route: RouteOut | None = None
    sla: SlaOut | None = None
    model_version: str
    region: str | None = None
    incident_id: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class BatchOut(BaseModel):
    results: list[TaggingOut | ErrorOut]
