"""Prometheus metrics: requests by route and status, latency, tagging latency by step, model version.

Each app gets its own registry so several apps (tests, workers) never clash."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "otklik_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "otklik_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.step_latency = Histogram(
            "otklik_pipeline_step_duration_seconds", "Pipeline step latency per call (a batch is one call)",
            ["step"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.posts = Counter("otklik_posts_tagged_total", "Posts tagged", registry=self.registry)
        self.tagging_batch = Histogram(
            "otklik_tagging_batch_posts", "Posts per pipeline call of the tagging thread (grows under load)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=self.registry,
        )
        self.post_errors = Counter(
            "otklik_posts_rejected_total", "Posts rejected as invalid", ["field"], registry=self.registry
        )
        self.model_info = Gauge(
            "otklik_model_info", "The loaded model (value 1)", ["model_version"], registry=self.registry
        )
        self.ready = Gauge("otklik_ready", "1 when the model is loaded and checked", registry=self.registry)

    def step_timer(self, step: str, seconds: float, n: int) -> None:
        self.step_latency.labels(step).observe(seconds)
