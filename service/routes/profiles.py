"""GET /v1/profiles and /v1/profiles/{id}: the regulation profiles the service applies."""
from __future__ import annotations

from fastapi import APIRouter, Request

from model.errors import UnknownRegionError

from ..auth import AnyRole
from ..errors import ApiError
from ..schemas import ErrorOut

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])

ERRORS = {
    401: {"model": ErrorOut, "description": "no or unknown token"},
    403: {"model": ErrorOut, "description": "the token's role may not call this"},
}


def _describe(profile) -> dict:
    if hasattr(profile, "describe"):
        return profile.describe()
    return {"id": profile.id, "name": profile.name, "timezone": profile.timezone,
            "exclusions": sorted(profile.exclusions)}


@router.get("", summary="All regulation profiles", responses=ERRORS)
def list_profiles(request: Request, role: AnyRole) -> dict:
    profiles = request.app.state.pipeline.profiles
    return {"default": profiles.default, "profiles": [_describe(p) for p in profiles]}


@router.get("/{profile_id}", summary="One regulation profile",
            responses={**ERRORS, 404: {"model": ErrorOut, "description": "no profile with this id"}})
def get_profile(profile_id: str, request: Request, role: AnyRole) -> dict:
    profiles = request.app.state.pipeline.profiles
    try:
        return _describe(profiles.get(profile_id))
    except UnknownRegionError as exc:
        raise ApiError(404, "not_found", str(exc).replace("region: ", ""), "profile_id") from None
