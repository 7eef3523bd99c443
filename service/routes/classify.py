"""POST /v1/classify and /v1/classify/batch.

The tagging itself runs on the batcher's thread (service/batcher.py), so these endpoints are `async`:
they validate, hand the docs over and await the result on the event loop. A plain `def` endpoint
would add two thread-pool hops per request (endpoint and response validation), and under load each
hop waits for the GIL: that cost more than the tagging of a single post.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from model.errors import InputError
from model.pipeline import Pipeline
from model.records import Post, Tagging

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


def tag(pipeline: Pipeline, posts: list) -> list[tuple[Tagging, dict[str, Any]]]:
    """What the tagging thread runs for a batch of checked posts (service.batcher): each post's
    Tagging and its JSON, made once for the answer and the review queue. Normalizing is CPU work
    too, so it happens here and not on the event loop."""
    docs = [pipeline.make_doc(post) for post in posts]
    try:
        pipeline.run(docs)
    except Exception:
        pipeline.drop_pending()  # the batcher re-runs the posts one by one; record only what succeeds
        raise
    taggings = [doc.to_tagging(pipeline.model_version) for doc in docs]
    return [(t, t.as_json()) for t in taggings]


class ReviewFeed:
    """Tagged posts on their way to the curators' review queue, written in one transaction per
    `flush` — when the tagging thread is idle, or once `max_buffer` wait — instead of one per
    request (~1 ms each under load). A queue failure never fails an answer: it is logged. The
    batcher flushes before the service stops, so nothing answered is left out of the queue."""

    def __init__(self, review, max_buffer: int = 256):
        self.review = review
        self.max_buffer = max_buffer
        self._buffer: list[tuple[Post, Tagging, dict[str, Any]]] = []

    def add(self, posts: list[Post], results: list[tuple[Tagging, dict[str, Any]]]) -> None:
        if self.review is None:
            return
        self._buffer.extend((post, tagging, body) for post, (tagging, body) in zip(posts, results))
        if len(self._buffer) >= self.max_buffer:
            self.flush()

    def __len__(self) -> int:
        return len(self._buffer)

    def flush(self, limit: int | None = None) -> None:
        """Enqueue the buffered posts (the oldest `limit` of them, or all)."""
        if not self._buffer:
            return
        if limit is None:
            items, self._buffer = self._buffer, []
        else:
            items, self._buffer = self._buffer[:limit], self._buffer[limit:]
        try:
            self.review.enqueue_many([(p, t) for p, t, _ in items], tag_jsons=[body for _, _, body in items])
        except SQLAlchemyError:
            log.exception("review queue: could not enqueue %d posts", len(items))


def _pipeline(request: Request) -> Pipeline:
    pipeline = request.app.state.pipeline
    if pipeline is None or not request.app.state.ready:
        raise ApiError(503, "model_unavailable", "the model is not loaded yet; retry when /readyz is ready")
    return pipeline


@router.post("/classify", response_model=TaggingOut, responses=ERRORS, summary="Tag one post")
async def classify(post: PostIn, request: Request, role: MonitoringRole) -> dict[str, Any]:
    pipeline = _pipeline(request)
    record = post.to_record()
    pipeline.region_of(record)  # InputError (unknown region) → 422, before anything is queued
    _, body = (await request.app.state.batcher.atag([record]))[0]
    request.app.state.metrics.posts.inc()
    return body


@router.post("/classify/batch", response_model=BatchOut, responses=ERRORS,
             summary="Tag many posts; a bad post gives an error item in its place")
async def classify_batch(batch: BatchIn, request: Request, role: MonitoringRole) -> dict[str, Any]:
    settings = request.app.state.settings
    if len(batch.posts) > settings.max_batch_posts:
        raise ApiError(413, "batch_too_large",
                       f"expected at most {settings.max_batch_posts} posts in a batch, got {len(batch.posts)}", "posts")
    pipeline = _pipeline(request)
    metrics = request.app.state.metrics
    results: list[dict[str, Any] | None] = [None] * len(batch.posts)
    records, where = [], []
    for i, raw in enumerate(batch.posts):
        try:
            record = post_from_mapping(raw)
            pipeline.region_of(record)
            records.append(record)
            where.append(i)
        except InputError as exc:
            field = f"posts[{i}].{exc.field}"
            results[i] = error_body("invalid_input", f"{field}: {exc.message}", field)
            metrics.post_errors.labels(exc.field).inc()
    tagged = await request.app.state.batcher.atag(records)
    for i, (_, body) in zip(where, tagged):
        results[i] = body
    metrics.posts.inc(len(records))
    return {"results": results}
