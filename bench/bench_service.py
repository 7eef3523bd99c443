"""Load benchmark of the REST service: a second process sends real posts on 127.0.0.1 only.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_service.py [--rate 100] [--seconds 120] [--workers 1]
        [--history 30000 --mirror-posts 20000 --warmup-seconds 60] [--older-posts N] [--new-ids]

Measures: cold start to ready (new database, then a restart on the filled one), p50/p95/p99 latency at a fixed request rate (open loop), errors,
server RSS at start and end (all worker processes), and the batch endpoint's throughput.
With --history N, the service first takes N other real posts of the last --history-hours through its
batch endpoint and is restarted: the load then meets a service in its steady state, whose history
mirror is full (--mirror-posts sets OTKLIK_HISTORY_MIRROR_POSTS, --older-posts the incident keys
kept below it, OTKLIK_HISTORY_OLDER_POSTS; the defaults are the service's).
With --warmup-seconds, the same load runs that long on other posts before the measured run.
With --new-ids (a soak, e.g. --seconds 2700), the 20,000 load posts come again as new posts once
they are used up, so the history grows through the run and every bound below the mirror is reached.
Bounded: at most rate × seconds requests, and the server is stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psutil
from posts import ROOT, real_posts

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tree_rss_mb(proc: psutil.Process) -> dict[str, float]:
    procs = [proc, *proc.children(recursive=True)]
    rss = {str(p.pid): round(p.memory_info().rss / 2**20, 1) for p in procs if p.is_running()}
    return rss


def start_server(port: int, workers: int, db: Path, mirror_posts: int | None = None,
                 older_posts: int | None = None) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OTKLIK_DATABASE_URL": f"sqlite:///{db}",
           "OTKLIK_LOG_JSON": "true"}
    env.pop("OTKLIK_API_TOKENS", None)
    if mirror_posts is not None:
        env["OTKLIK_HISTORY_MIRROR_POSTS"] = str(mirror_posts)
    if older_posts is not None:
        env["OTKLIK_HISTORY_OLDER_POSTS"] = str(older_posts)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "otklik"), "serve", "--host", HOST, "--port", str(port),
         "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with httpx.Client() as client:
        while time.perf_counter() - started < 60:
            try:
                if client.get(f"http://{HOST}:{port}/readyz", timeout=1).status_code == 200:
                    return proc, time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("the service did not become ready within 60 s")


async def constant_rate(url: str, posts: list[dict], rate: float, seconds: float,
                        server: psutil.Process | None = None,
                        new_ids: bool = False) -> tuple[list[float], int, int, list, list]:
    """Open-loop load; with `server`, its RSS (all processes, MB) every 30 s: where memory grows.
    Past the end of `posts` it starts again: the same posts re-tagged, or with `new_ids` new posts
    of the same authors (the history grows, as in a soak)."""
    latencies: list[float] = []
    rss_marks: list[dict] = []
    timeline: list[tuple[float, float]] = []  # (seconds since the start when sent, latency)
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        async def one(post):
            nonlocal errors
            t = time.perf_counter()
            try:
                r = await client.post(url, json=live(post))
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - t)
            timeline.append((t - start, latencies[-1]))

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            target = start + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if server is not None and i % int(rate * 30) == 0:
                rss_marks.append({"at_s": int(i / rate), "posts": i, "rss_mb": round(sum(tree_rss_mb(server).values()), 1)})
            post = posts[i % len(posts)]
            if new_ids and i >= len(posts):
                post = {**post, "id": f"{post['id']}~{i // len(posts)}"}
            tasks.append(asyncio.create_task(one(post)))
            sent += 1
        await asyncio.gather(*tasks)
    return latencies, errors, sent, timeline, rss_marks


def by_window(timeline: list[tuple[float, float]], window: float = 30.0) -> list[dict]:
    """p50/p99 per `window` seconds of the run: shows whether latency drifts as the history grows."""
    out = []
    end = max((t for t, _ in timeline), default=0.0)
    w = 0.0
    while w <= end:
        lat = [x for t, x in timeline if w <= t < w + window]
        if lat:
            out.append({"from_s": int(w), "p50_ms": round(1000 * pct(lat, 0.5), 1), "p99_ms": round(1000 * pct(lat, 0.99), 1)})
        w += window
    return out


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def live(post: dict) -> dict:
    """The post as the monitoring system sends it: just published (the shared posts are from 2020–2022;
    replayed with their own dates in random order, every history lookup would miss the recent window)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {**post, "created_at": now}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def fill_history(url: str, posts: list[dict], hours: float, size: int = 200) -> float:
    """Tag `posts` as published evenly over the last `hours`, oldest first; returns the seconds taken."""
    start = time.perf_counter()
    now = datetime.now(timezone.utc)
    step = timedelta(hours=hours) / max(1, len(posts))
    with httpx.Client(timeout=300) as client:
        for i in range(0, len(posts), size):
            chunk = [{**p, "created_at": (now - timedelta(hours=hours) + (i + k) * step).isoformat(timespec="seconds")}
                     for k, p in enumerate(posts[i:i + size])]
            client.post(url, json={"posts": chunk}).raise_for_status()
    return time.perf_counter() - start


def batch_throughput(url: str, posts: list[dict], size: int, seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        i = 0
        while time.perf_counter() - start < seconds:
            chunk = [live(p) for p in (posts[i:i + size] or posts[:size])]
            i = (i + size) % len(posts)
            r = client.post(url, json={"posts": chunk})
            r.raise_for_status()
            done += len(chunk)
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--batch-seconds", type=float, default=20)
    ap.add_argument("--history", type=int, default=0, help="posts tagged before the load (then a restart)")
    ap.add_argument("--history-hours", type=float, default=72)
    ap.add_argument("--mirror-posts", type=int, default=None, help="OTKLIK_HISTORY_MIRROR_POSTS")
    ap.add_argument("--older-posts", type=int, default=None, help="OTKLIK_HISTORY_OLDER_POSTS")
    ap.add_argument("--warmup-seconds", type=float, default=0, help="the same load before the measured one")
    ap.add_argument("--new-ids", action="store_true",
                    help="past the 20,000 load posts, send them again as new posts (new ids), not as re-tags: "
                         "the history grows through the run (a soak)")
    args = ap.parse_args()

    every = real_posts()
    posts = every[:20000]  # the load's posts, as in earlier runs; the history is the other ones
    random.Random(1).shuffle(posts)
    earlier = every[20000:20000 + args.history]
    if len(earlier) < args.history:
        raise SystemExit(f"--history: expected at most {len(every) - 20000} posts, got {args.history}")
    random.Random(2).shuffle(earlier)
    port = free_port()
    filled = None
    with tempfile.TemporaryDirectory() as tmp:
        proc, cold = start_server(port, args.workers, Path(tmp) / "bench.db", args.mirror_posts, args.older_posts)
        if earlier:
            try:
                filled = fill_history(f"http://{HOST}:{port}/v1/classify/batch", earlier, args.history_hours)
            finally:
                stop(proc)
            proc, _ = start_server(port, args.workers, Path(tmp) / "bench.db", args.mirror_posts, args.older_posts)
            time.sleep(10)  # the history mirror is read in the background after ready
        ps = psutil.Process(proc.pid)
        try:
            base = f"http://{HOST}:{port}"
            with httpx.Client() as c:  # warm-up
                for p in posts[:50]:
                    c.post(f"{base}/v1/classify", json=live(p))
            warmup = None
            if args.warmup_seconds:
                # the same load first (other posts), unmeasured but for its RSS: the per-word caches
                # fill and a capped history mirror turns over, as in a service that has run for a while
                rest = posts[int(args.rate * args.seconds):] or posts
                w_lat, w_errors, _, _, w_rss = asyncio.run(
                    constant_rate(f"{base}/v1/classify", rest, args.rate, args.warmup_seconds, server=ps))
                warmup = {"seconds": args.warmup_seconds, "errors": w_errors, "p50_ms": round(1000 * pct(w_lat, 0.5), 2),
                          "p99_ms": round(1000 * pct(w_lat, 0.99), 2), "rss_by_30s": w_rss}
            rss_start = tree_rss_mb(ps)
            lat, errors, sent, timeline, rss_marks = asyncio.run(
                constant_rate(f"{base}/v1/classify", posts, args.rate, args.seconds, server=ps, new_ids=args.new_ids))
            rss_end = tree_rss_mb(ps)
            batch_rate = batch_throughput(f"{base}/v1/classify/batch", posts, args.batch_size, args.batch_seconds)
            rss_after_batch = tree_rss_mb(ps)
        finally:
            stop(proc)
        # a restart on the database the run filled (migrated, ~20,000 posts of history): what an
        # operator's restart or a worker's replacement costs
        proc, restart = start_server(port, args.workers, Path(tmp) / "bench.db", args.mirror_posts, args.older_posts)
        stop(proc)
    report = {
        "workers": args.workers,
        "history_posts": args.history,
        "history_fill_s": round(filled, 1) if filled is not None else None,
        "mirror_posts": args.mirror_posts,
        "older_posts": args.older_posts,
        "cold_start_to_ready_s": round(cold, 2),
        "restart_to_ready_s": round(restart, 2),
        "rate_rps": args.rate,
        "new_ids": args.new_ids,
        "seconds": args.seconds,
        "requests": sent,
        "errors": errors,
        "p50_ms": round(1000 * pct(lat, 0.50), 2),
        "p95_ms": round(1000 * pct(lat, 0.95), 2),
        "p99_ms": round(1000 * pct(lat, 0.99), 2),
        "mean_ms": round(1000 * statistics.fmean(lat), 2),
        "by_30s": by_window(timeline),
        "rss_mb_start": rss_start,
        "rss_mb_end": rss_end,
        "rss_by_30s": rss_marks,
        "warmup": warmup,
        "batch_size": args.batch_size,
        "batch_posts_per_s": round(batch_rate, 1),
        "rss_mb_after_batch": rss_after_batch,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
