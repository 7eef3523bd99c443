"""create_app(): the REST service and the curator pages around the one pipeline."""
from __future__ import annotations

import gc
import ipaddress
import json
import logging
import sys
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Callable

from fastapi import FastAPI

from model.pipeline import Pipeline, PipelineOptions

from .errors import error_body, install_error_handlers
from .logs import request_id
from .metrics import ServiceMetrics
from .settings import Settings, get_settings

log = logging.getLogger(__name__)

PipelineFactory = Callable[[Settings, Any], Pipeline]
# buffered history / review writes per step between requests (~0.12 ms each plus ~1 ms a commit)
WRITE_STEP = 16


def default_pipeline_factory(settings: Settings, history: Any) -> Pipeline:
    options = PipelineOptions(
        artifact_path=settings.model_path, default_region=settings.default_region, history=history
    )
    return Pipeline.load(options)


def open_history(settings: Settings):
    """The history store for repeats/incidents/alerts, or None when switched off in the settings."""
    if not settings.history_enabled:
        return None
    from storage import open_store

    # the in-memory mirror of recent history is right only for a single writer process; it is read
    # on a thread (ready does not wait for weeks of history), and with it history writes go to the
    # database when the tagging thread is idle (see idle() and step() in create_app)
    single = settings.workers == 1
    store = open_store(settings.database_url, retention_days=settings.history_retention_days,
                       mirror_recent=single, write_behind=single, mirror_in_background=single,
                       hold_mirror=single, mirror_max_posts=settings.history_mirror_posts,
                       older_max_posts=settings.history_older_posts, author_rows_max=settings.history_author_rows)
    store.purge_expired()  # retention: at every start (and daily by the operator's cron, see README)
    return store


def start_checkpointer(settings: Settings):
    """The thread that checkpoints a SQLite database's log (storage/checkpoint.py), or None (another
    database, in-memory SQLite, or switched off)."""
    from storage.checkpoint import Checkpointer, sqlite_path

    path = sqlite_path(settings.database_url)
    if path is None or not settings.sqlite_checkpoint_seconds:
        return None
    return Checkpointer(path, settings.sqlite_checkpoint_seconds).start()


def open_review(settings: Settings):
    """The curators' review queue (storage/review.py)."""
    from .web.store import open_review as _open

    return _open(settings)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestMiddleware:
    """Request id, body-size limit, metrics and one access log line per request (pure ASGI: cheap)."""

    def __init__(self, app, metrics: ServiceMetrics, max_body_bytes: int):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if scope["path"].startswith("/v1/") and _form_or_missing(headers.get(b"content-type")):
            # the API speaks JSON only; `curl -d '{...}'` labels its JSON as a form: read it as JSON
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                     + [(b"content-type", b"application/json")]}
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 500}
        length = headers.get(b"content-length")
        try:
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                await self._too_large(send, status)
                return
            received = 0

            async def limited_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise _BodyTooLarge()
                return message

            async def send_with_id(message):
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                await self._too_large(send, status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, path, str(status["code"])).inc()
            self.metrics.latency.labels(method, path).observe(elapsed)
            log.info(
                "%s %s %s", method, path, status["code"],
                extra={"method": method, "path": path, "status": status["code"],
                       "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id.reset(token)

    async def _too_large(self, send, status) -> None:
        status["code"] = 413
        body = json.dumps(error_body(
            "payload_too_large", f"expected a body of at most {self.max_body_bytes} bytes, got more"
        )).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


def _form_or_missing(content_type: bytes | None) -> bool:
    if content_type is None:
        return True
    return content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"


class GcKeeper:
    """Keeps the cyclic garbage collector's full passes short in a long-running worker.

    What survives in a worker is long-lived and acyclic (the model, the history mirror, caches);
    a full collection walks all of it: ~0.1 s after the model is loaded, 0.25 s once 12,000 posts
    are mirrored — the service's p99. Every `freeze_every` seconds, from the tagging thread when
    it is idle, the survivors are frozen (moved out of the collector's reach, `gc.freeze`). Frozen
    objects are still freed by reference counting; only garbage *cycles* among them would wait,
    so once every `refresh_every` seconds everything is unfrozen and collected in one pass.
    """

    def __init__(self, freeze_every: float = 10.0, refresh_every: float = 3600.0, clock=time.monotonic):
        self.freeze_every = freeze_every
        self.refresh_every = refresh_every
        self.clock = clock
        self._frozen_at = self._refreshed_at = clock()

    def refresh(self) -> None:
        """Unfreeze, collect everything once, freeze the survivors (at start and hourly)."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._refreshed_at = self._frozen_at = self.clock()

    def tick(self) -> None:
        now = self.clock()
        if now - self._refreshed_at >= self.refresh_every:
            self.refresh()
        elif now - self._frozen_at >= self.freeze_every:
            gc.freeze()
            self._frozen_at = now


def create_app(
    settings: Settings | None = None,
    pipeline_factory: PipelineFactory = default_pipeline_factory,
) -> FastAPI:
    settings = settings or get_settings()
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.perf_counter()
        sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
        app.state.store = open_history(settings)
        app.state.review = open_review(settings)
        pipeline = pipeline_factory(settings, app.state.store)
        pipeline.timer = metrics.step_timer
        # the loaded model is ~200k long-lived objects: a full collection walked them all in ~0.1 s,
        # which was the service's p99; frozen, the collector skips them
        gc_keeper = GcKeeper()
        gc_keeper.refresh()
        app.state.pipeline = pipeline
        from .batcher import Batcher
        from .routes.classify import ReviewFeed, tag

        # history writes wait until the batch's answers are out (same thread, before the next
        # batch, so the next batch still sees these posts); review-queue writes wait until the
        # thread is idle and go in one transaction
        pipeline.defer_writes(True)
        feed = ReviewFeed(app.state.review, max_buffer=settings.tagging_batch)

        def after(posts, results):
            try:
                pipeline.flush()
            finally:
                feed.add(posts, results)  # answered posts reach the curators even if history failed

        store = app.state.store
        save_history = getattr(store, "save", None)

        def idle():
            try:
                if save_history is not None:
                    save_history()
            finally:
                try:
                    feed.flush()
                finally:
                    gc_keeper.tick()

        def step() -> bool:
            # one piece of the buffered writes (~2 ms), in a gap between requests; what is left
            # below a piece waits for the full idle pass (at most every 0.5 s)
            if save_history is not None and store.unsaved >= WRITE_STEP:
                save_history(WRITE_STEP)
            elif len(feed) >= WRITE_STEP:
                feed.flush(WRITE_STEP)
            else:
                return False
            return True

        app.state.batcher = Batcher(lambda posts: tag(pipeline, posts), max_batch=settings.tagging_batch,
                                    on_batch=metrics.tagging_batch.observe, after=after, idle=idle, step=step)
        if hasattr(store, "start_mirror"):
            store.start_mirror()  # after the model: the two would share the GIL
        checkpointer = start_checkpointer(settings)  # last: nothing after it can fail the start
        metrics.model_info.labels(pipeline.model_version).set(1)
        metrics.ready.set(1)
        app.state.ready = True
        log.info("model %s loaded in %.2f s; steps: %s", pipeline.model_version,
                 time.perf_counter() - started, " → ".join(pipeline.steps))
        try:
            yield
        finally:
            app.state.ready = False
            metrics.ready.set(0)
            if getattr(app.state, "batcher", None) is not None:
                app.state.batcher.close()  # finish what was accepted before closing the stores
            store = app.state.store
            if store is not None and hasattr(store, "close"):
                store.close()
            if app.state.review is not None:
                app.state.review.close()
            if checkpointer is not None:
                checkpointer.close()
            log.info("service stopped")

    app = FastAPI(
        title="otklik",
        version=__import__("otklik").__version__,
        description=(
            "Tagging of citizens' posts for the regional incident workflow: topic, location, importance, "
            "exclusions, repeats, route and SLA deadline. Errors are JSON {\"error\": {code, message, field}}."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tokens = settings.tokens()
    app.state.metrics = metrics
    app.state.ready = False
    app.state.pipeline = None
    app.state.batcher = None
    app.state.store = None
    app.state.review = None
    install_error_handlers(app)

    from . import web
    from .routes import classify, health, history, profiles

    app.include_router(health.router)
    app.include_router(classify.router)
    app.include_router(profiles.router)
    app.include_router(history.router)
    app.include_router(web.router)
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    _document_regions(app, settings)
    return app


def _document_regions(app: FastAPI, settings: Settings) -> None:
    """Put the known profile ids into the OpenAPI description of every `region` field, so callers
    (and schemathesis) see which values are valid; the list comes from the profile data files."""
    from model.profiles import Profiles

    ids = Profiles.load(default=settings.default_region).ids()
    region_schema = {"anyOf": [{"type": "string", "enum": ids}, {"type": "null"}],
                     "description": f"regulation profile id (default {settings.default_region})"}
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        post = schema.get("components", {}).get("schemas", {}).get("PostIn", {})
        if "region" in post.get("properties", {}):
            post["properties"]["region"] = dict(region_schema)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                    if param.get("name") == "region":
                        param["schema"] = dict(region_schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi

