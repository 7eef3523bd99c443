"""POST /v1/classify and /v1/classify/batch (CPU-bound: plain `def`, run in the thread pool)."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from model.errors import InputError
from model.pipeline import Pipeline

from ..auth import MonitoringRole
from ..errors import ApiError, error_body
from ..schemas import BatchIn, BatchOut, ErrorOut, PostIn, TaggingOut, post_from_mapping

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["classify"])

ERRORS = {
    401: {"model": ErrorOut, "description": "no or unknown token"},
    403: {"model": ErrorOut, "description": "the token's role may not call this"},
    413: {"model": ErrorOut, "description": "body larger than the limit"},
    422: {"model": ErrorOut, "description": "a field breaks the contract; `field` names it"},
    503: {"model": ErrorOut, "description": "the model is not loaded"},
}


def tag(pipeline: Pipeline, docs: list) -> list:
    """What the tagging thread runs for a batch of docs (service.batcher)."""
    pipeline.run(docs)
    return [doc.to_tagging(pipeline.model_version) for doc in docs]


def enqueue(review, docs: list, taggings: list) -> None:
    """Put tagged posts in the curators' review queue (one transaction per batch), on the tagging
    thread right after the answers are out; a queue failure never fails the answer. The batcher
    finishes this before the service stops."""
    if review is None or not docs:
        return
    try:
        review.enqueue_many([(d.post, t) for d, t in zip(docs, taggings)])
    except SQLAlchemyError:
        log.exception("review queue: could not enqueue %d posts", len(docs))


def _pipeline(request: Request) -> Pipeline:
    pipeline = request.app.state.pipeline
    if pipeline is None or not request.app.state.ready:
        raise ApiError(503, "model_unavailable", "the model is not loaded yet; retry when /readyz is ready")
    return pipeline


@router.post("/classify", response_model=TaggingOut, responses=ERRORS, summary="Tag one post")
def classify(post: PostIn, request: Request, role: MonitoringRole) -> dict[str, Any]:
    pipeline = _pipeline(request)
    doc = pipeline.make_doc(post.to_record())  # InputError (unknown region) → 422
    tagging = request.app.state.batcher.tag([doc])[0]
    request.app.state.metrics.posts.inc()
    return tagging.as_json()


@router.post("/classify/batch", response_model=BatchOut, responses=ERRORS,
             summary="Tag many posts; a bad post gives an error item in its place")
def classify_batch(batch: BatchIn, request: Request, role: MonitoringRole) -> dict[str, Any]:
    settings = request.app.state.settings
    if len(batch.posts) > settings.max_batch_posts:
        raise ApiError(413, "batch_too_large",
                       f"expected at most {settings.max_batch_posts} posts in a batch, got {len(batch.posts)}", "posts")
    pipeline = _pipeline(request)
    metrics = request.app.state.metrics
    results: list[dict[str, Any] | None] = [None] * len(batch.posts)
    docs, where = [], []
    for i, raw in enumerate(batch.posts):
        try:
            docs.append(pipeline.make_doc(post_from_mapping(raw)))
            where.append(i)
        except InputError as exc:
            field = f"posts[{i}].{exc.field}"
            results[i] = error_body("invalid_input", f"{field}: {exc.message}", field)
            metrics.post_errors.labels(exc.field).inc()
    taggings = request.app.state.batcher.tag(docs)
    for i, tagging in zip(where, taggings):
        results[i] = tagging.as_json()
    metrics.posts.inc(len(docs))
    return {"results": results}
