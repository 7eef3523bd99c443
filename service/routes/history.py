"""The history area: the monitoring system reports answers; curators read surge alerts.

- `POST /v1/posts/{id}/answered` sets answered_at of a post already tagged (the repeat rule of
  Omsk §16 counts answers).
- `GET /v1/alerts` lists surges of posts on one issue (Altai §21, Zelenchuk §21, Omsk §19).

The store is `request.app.state.store` (a `model.history.HistoryStore`), the pipeline
`request.app.state.pipeline` (its profiles validate `region`; an optional `surge` attribute gives
the detector's settings). Plain `def`: the store is synchronous.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from model.history import UTC
from model.surge import MAX_SPAN, SurgeDetector

from ..auth import AnyRole
from ..errors import ApiError
from ..schemas import AwareDatetime, ErrorOut

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["history"])

ERRORS = {
    401: {"model": ErrorOut, "description": "no or unknown token"},
    403: {"model": ErrorOut, "description": "the token's role may not call this"},
    422: {"model": ErrorOut, "description": "a field breaks the contract; `field` names it"},
    503: {"model": ErrorOut, "description": "the history store is not configured"},
}


class AnsweredIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    answered_at: AwareDatetime


class AnsweredOut(BaseModel):
    id: str
    answered_at: datetime


class AlertOut(BaseModel):
    region: str
    group: str | None
    place: str | None
    window_start: datetime
    window_end: datetime
    count: int
    expected: float
    ratio: float
    p_value: float
    post_ids: list[str]
    incident_ids: list[str]


class AlertsOut(BaseModel):
    alerts: list[AlertOut]
    window_hours: float
    since: datetime
    until: datetime


def _store(request: Request):
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise ApiError(503, "history_unavailable", "the history store is not configured (history is off)")
    return store


@router.post(
    "/posts/{post_id}/answered",
    response_model=AnsweredOut,
    responses={**ERRORS, 404: {"model": ErrorOut, "description": "no post with this id in the history"}},
    summary="Record when the administration answered a post",
)
def post_answered(post_id: str, body: AnsweredIn, request: Request, role: AnyRole) -> dict[str, Any]:
    store = _store(request)
    if not store.record_answer(post_id, body.answered_at):
        raise ApiError(404, "not_found", f"expected the id of a post already tagged, got unknown {post_id!r}", "id")
    return {"id": post_id, "answered_at": body.answered_at}


ALERT_PARAMS = {"region", "since", "window", "until"}


def span_hours(window: float | None, detector: SurgeDetector) -> float:
    return window if window is not None else detector.window / timedelta(hours=1)


@router.get("/alerts", response_model=AlertsOut, responses=ERRORS,
            summary="Surges of posts on one issue (per region, topic group and place)")
def alerts(
    request: Request,
    role: AnyRole,
    region: Annotated[str | None, Query(description="profile id; all regions when absent")] = None,
    since: Annotated[AwareDatetime | None, Query(description="report surges in windows ending after this time "
                                                       "(at most 7 days back); default: the last window only")] = None,
    window: Annotated[float | None, Query(ge=0.25, le=168, description="sliding window, hours, 0.25..168 (default 6)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="end of the scan (default now)")] = None,
) -> dict[str, Any]:
    unknown = sorted(set(request.query_params) - ALERT_PARAMS)
    if unknown:
        raise ApiError(422, "invalid_input",
                       f"expected query parameters from {', '.join(sorted(ALERT_PARAMS))}, got {', '.join(unknown)}",
                       unknown[0])
    store = _store(request)
    pipeline = getattr(request.app.state, "pipeline", None)
    profiles = getattr(pipeline, "profiles", None)
    if region is not None and profiles is not None and region not in profiles:
        raise ApiError(422, "invalid_input", f"region: expected one of {', '.join(profiles.ids())}, got {region!r}",
                       "region")
    detector = getattr(pipeline, "surge", None) or SurgeDetector()
    span = timedelta(hours=span_hours(window, detector))
    end = until or datetime.now(UTC)
    if since is not None and since >= end:
        # an empty interval has no surges (not an error: callers page through time with since/until)
        return {"alerts": [], "window_hours": span_hours(window, detector), "since": since, "until": end}
    start = max(since, end - MAX_SPAN) if since is not None else end - span
    if since is None:
        found = detector.detect(store, until=end, region=region, window=span)
    else:
        found = detector.scan(store, since=start, until=end, region=region, window=span)
    return {
        "alerts": [a.as_json() for a in found],
        "window_hours": span / timedelta(hours=1),
        "since": start,
        "until": end,
    }
