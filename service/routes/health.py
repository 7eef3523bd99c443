"""Liveness, readiness and Prometheus metrics (open without a token)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the model is loaded and checked")
def readyz(request: Request):
    pipeline = request.app.state.pipeline
    if not request.app.state.ready or pipeline is None:
        return JSONResponse({"ready": False}, status_code=503)
    return {"ready": True, "model_version": pipeline.model_version, "steps": pipeline.steps}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
