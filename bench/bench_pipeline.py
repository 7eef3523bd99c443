"""Tagging throughput of the whole pipeline and of each step, single posts and batches.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_pipeline.py [--posts 5000] [--batch 500]
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from collections import defaultdict

from posts import real_posts

import model  # noqa: F401
from model.pipeline import Pipeline, PipelineOptions
from service.schemas import post_from_mapping


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--steps", default=None, help="comma-separated subset, e.g. topic,route")
    args = ap.parse_args()

    started = time.perf_counter()
    pipeline = Pipeline.load(PipelineOptions(steps=args.steps.split(",") if args.steps else None))
    load_s = time.perf_counter() - started
    posts = [post_from_mapping(p) for p in real_posts(args.posts)]
    pipeline.tag(posts[:50])  # warm caches

    per_step: dict[str, float] = defaultdict(float)
    pipeline.timer = lambda step, s, n: per_step.__setitem__(step, per_step[step] + s)
    t = time.perf_counter()
    for i in range(0, len(posts), args.batch):
        pipeline.tag(posts[i:i + args.batch])
    batch_s = time.perf_counter() - t
    batch_steps = dict(per_step)

    per_step.clear()
    single = posts[: min(len(posts), 1000)]
    t = time.perf_counter()
    for post in single:
        pipeline.tag_one(post)
    single_s = time.perf_counter() - t

    report = {
        "steps": pipeline.steps,
        "posts": len(posts),
        "load_s": round(load_s, 2),
        "batch_posts_per_s": round(len(posts) / batch_s, 1),
        "single_posts_per_s": round(len(single) / single_s, 1),
        "single_ms_per_post": round(1000 * single_s / len(single), 3),
        "batch_ms_per_post_by_step": {k: round(1000 * v / len(posts), 4) for k, v in batch_steps.items()},
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
