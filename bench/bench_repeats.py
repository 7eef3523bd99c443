"""Repeats + incidents against a large history: latency of one post, cost per post in batches.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_repeats.py [--history 1000000] [--store memory|sqlite|both]
                                                          [--posts 2000] [--batch 500] [--pipeline]

The history is synthetic but built from real posts: 20,000 SPb/Kursk posts are fingerprinted and
their fingerprints, places and regions reused for 1,000,000 entries over two years; authors follow
the SPb portal's skew (a Zipf law: a few authors with thousands of posts, most with one). The new
posts are other real posts; half of them are given authors drawn from the history by post volume,
so per-author lookups meet real histories, heavy posters included. Docs are tokenized before the
clock starts, as the topic step has done in the pipeline; the fingerprint cost is in the numbers.

Reports: build time and memory, mean/p50/p95 ms to check (and record) one post, ms per post in
batches against an empty history and against the full one, and what that costs the ~1,000 posts/s
pipeline budget. `--pipeline` also times the project's pipeline without and with the history.
"""
from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from posts import real_posts

import model  # noqa: F401  (natasha first)
from model.doc import Doc
from model.fingerprint import Fingerprinter, coarse_place, location_key
from model.history import HistoryEntry, MemoryHistoryStore
from model.incidents import IncidentTagger
from model.profiles import Profile, Profiles
from model.records import Geo, Post
from model.repeats import RepeatTagger

T_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
GROUPS = [f"group-{i}" for i in range(26)]
PIPELINE_BUDGET_MS = 1.0  # ~1,000 posts/s for the whole pipeline


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def to_doc(p: dict, author: str | None = None, created: datetime | None = None) -> Doc:
    geo = p.get("geo")
    post = Post(id=p["id"], text=p["text"], author_id=author if author is not None else p.get("author_id"),
                created_at=created or datetime.fromisoformat(p["created_at"]), region=p["region"],
                source=p.get("source"), geo=Geo(geo["lat"], geo["lon"]) if geo else None)
    d = Doc.from_post(post, p["region"])
    d.text.tokens  # the pipeline's earlier steps have tokenized the text already
    return d


def build_templates(posts: list[dict], fpr: Fingerprinter) -> tuple[list[dict], float]:
    docs = [to_doc(p) for p in posts]
    started = time.perf_counter()
    fps = fpr.fingerprint_many(docs)
    per_post_ms = (time.perf_counter() - started) * 1000 / len(docs)
    templates = []
    for d, fp in zip(docs, fps):
        geo = d.post.geo
        templates.append({
            "region": d.region,
            "signature": fp.signature.astype("<u4").tobytes(),
            "terms": fp.terms,
            "facts": fp.facts,
            "location_key": location_key(None, geo.lat if geo else None, geo.lon if geo else None, fp.address),
            "place": coarse_place(d.location),
        })
    return templates, per_post_ms


def author_column(n: int, posts: list[dict], rng: np.random.Generator) -> np.ndarray:
    """An author id per history entry, with the per-author post counts of the SPb portal
    (most authors write once, the top one 1,176 times in five months)."""
    counts = np.array(list(Counter(p["author_id"] for p in posts if p.get("author_id")).values()))
    draws = rng.choice(counts, size=int(n / counts.mean() * 1.3) + 10)
    draws = draws[: int(np.searchsorted(np.cumsum(draws), n)) + 1]
    column = np.repeat(np.arange(len(draws)), draws)[:n]
    rng.shuffle(column)  # an author's posts spread over the two years
    return column


def synthetic_entries(n: int, templates: list[dict], authors: np.ndarray, seed: int = 13):
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(templates), size=n)
    seconds = np.sort(rng.uniform(0, 730 * 86400, size=n))
    groups = rng.integers(0, len(GROUPS), size=n)
    start = T_END - timedelta(days=730)
    for i in range(n):
        t = templates[which[i]]
        yield HistoryEntry(
            post_id=f"h-{i}", author_id=f"author-{authors[i]}", region=t["region"],
            created_at=start + timedelta(seconds=float(seconds[i])), group=GROUPS[groups[i]],
            topic=None, location_key=t["location_key"], place=t["place"], source="vk",
            signature=t["signature"], terms=t["terms"], facts=t["facts"], incident_id=f"inc-h-{i}",
        )


def fill(store, entries, chunk: int = 20_000) -> float:
    started = time.perf_counter()
    buf = []
    for e in entries:
        buf.append(e)
        if len(buf) >= chunk:
            store.add_many(buf)
            buf = []
    if buf:
        store.add_many(buf)
    return time.perf_counter() - started


def new_docs(posts: list[dict], history_authors: list[str], start: datetime, seed: int) -> list[Doc]:
    rng = random.Random(seed)
    docs = []
    for k, p in enumerate(posts):
        author = rng.choice(history_authors) if rng.random() < 0.5 else f"new-{seed}-{k}"
        d = to_doc({**p, "id": f"new-{seed}-{k}"}, author=author, created=start + timedelta(seconds=20 * k))
        d.topic = None
        docs.append(d)
    return docs


def profiles() -> Profiles:
    ids = ("spb", "kursk", "omsk")
    return Profiles({i: Profile(i, i, "Europe/Moscow", frozenset({"repeat_no_new_arguments"}), {}, {}) for i in ids},
                    "omsk")


def single_latency(store, fpr, docs) -> tuple[list[float], list[float]]:
    """(ms to check each post: fingerprint, incident and repeat lookups; ms to record it)."""
    incidents, repeats = IncidentTagger(store, fingerprinter=fpr), RepeatTagger(store, profiles(), fingerprinter=fpr)
    check, record = [], []
    cpu0 = time.process_time()
    for d in docs:
        t0 = time.perf_counter()
        incidents([d])
        preds = repeats.predict([d])
        t1 = time.perf_counter()
        repeats.set_annotations([d], preds)
        t2 = time.perf_counter()
        check.append((t1 - t0) * 1000)
        record.append((t2 - t1) * 1000)
    single_latency.cpu_ms = (time.process_time() - cpu0) * 1000 / max(1, len(docs))
    return check, record


def batch_cost(store, fpr, docs, batch: int) -> float:
    incidents, repeats = IncidentTagger(store, fingerprinter=fpr), RepeatTagger(store, profiles(), fingerprinter=fpr)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        incidents(chunk)
        repeats(chunk)
    batch_cost.cpu_ms = (time.process_time() - cpu0) * 1000 / len(docs)
    return (time.perf_counter() - t0) * 1000 / len(docs)


def report_latency(name: str, what: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100)
    print(f"  {name}: one post, {what}: mean {statistics.mean(times):.3f} ms, p50 {q[49]:.3f}, "
          f"p95 {q[94]:.3f}, p99 {q[98]:.3f}, max {max(times):.2f} ms  (n={len(times)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=1_000_000)
    ap.add_argument("--store", choices=("memory", "sqlite", "both"), default="both")
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--templates", type=int, default=20_000)
    ap.add_argument("--pipeline", action="store_true")
    args = ap.parse_args()

    posts = real_posts()
    random.Random(1).shuffle(posts)
    fpr = Fingerprinter()
    templates, fp_ms = build_templates(posts[: args.templates], fpr)
    rest = posts[args.templates :]
    single_posts, batch_posts = rest[: args.posts], rest[args.posts : args.posts + 5 * args.posts]
    print(f"fingerprint: {fp_ms:.3f} ms/post over {len(templates)} real posts (tokenized beforehand)")

    authors = author_column(args.history, posts, np.random.default_rng(3))
    # new posts by the history's authors, weighted by their number of posts (heavy posters included)
    author_sample = [f"author-{a}" for a in np.random.default_rng(4).choice(authors, size=20_000)]
    print(f"history authors: {len(np.unique(authors)):,}; the busiest has {np.bincount(authors).max():,} posts")

    # the baseline: the same posts against an empty history
    empty = MemoryHistoryStore()
    batch_empty = batch_cost(empty, fpr, new_docs(batch_posts, author_sample, T_END, 7), args.batch)
    print(f"empty history: batches of {args.batch}: {batch_empty:.3f} ms/post (CPU {batch_cost.cpu_ms:.3f})")

    stores = ["memory", "sqlite"] if args.store == "both" else [args.store]
    for kind in stores:
        gc.collect()
        if kind == "memory":
            store = MemoryHistoryStore(lsh_days=14)
            before = rss_mb()
            build_s = fill(store, synthetic_entries(args.history, templates, authors))
            # a batch job that loads a large history freezes it out of the cyclic GC: else every full
            # collection walks the million entries (a ~1 s pause now and then)
            gc.collect()
            gc.freeze()
            print(f"\nmemory store: {len(store):,} entries built in {build_s:.1f} s; "
                  f"peak RSS {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB)")
        else:
            from storage import open_store

            tmp = Path(tempfile.mkdtemp()) / "bench_history.db"
            store = open_store(tmp, lsh_days=14)
            started = time.perf_counter()
            store.bulk_load(synthetic_entries(args.history, templates, authors), bucket_since=T_END - timedelta(days=14))
            build_s = time.perf_counter() - started
            print(f"\nsqlite store: {len(store):,} entries built in {build_s:.1f} s; "
                  f"file {tmp.stat().st_size / 1e6:.0f} MB")
        docs = new_docs(single_posts, author_sample, T_END + timedelta(hours=1), 11)
        single_latency(store, fpr, docs[:50])  # warm up caches
        check, record = single_latency(store, fpr, docs[50:])
        report_latency(kind, "check", check)
        report_latency(kind, "record", record)
        report_latency(kind, "check + record", [a + b for a, b in zip(check, record)])
        print(f"  {kind}: one post, check + record, process CPU time: {single_latency.cpu_ms:.3f} ms "
              f"(the machine is shared: wall times include waiting for a core)")
        per_post = batch_cost(store, fpr, new_docs(batch_posts, author_sample, T_END + timedelta(days=1), 13),
                              args.batch)
        extra = per_post - batch_empty
        print(f"  {kind}: batches of {args.batch}: {per_post:.3f} ms/post (CPU {batch_cost.cpu_ms:.3f}) "
              f"({'+' if extra >= 0 else ''}{extra:.3f} ms/post against the empty history)")
        rate_drop = per_post / (PIPELINE_BUDGET_MS + per_post)
        print(f"  {kind}: against a {PIPELINE_BUDGET_MS:.0f} ms/post pipeline, repeats+incidents cut the batch rate by "
              f"{rate_drop:.1%} (1000 → {1000 / (PIPELINE_BUDGET_MS + per_post):.0f} posts/s)")
        if args.pipeline and kind == "memory":
            pipeline_rates(store, batch_posts, args.batch)
        if kind == "sqlite":
            store.close()
        del store
        gc.collect()


def pipeline_rates(store, batch_posts: list[dict], batch: int) -> None:
    """The project's pipeline without history, then with this history (as batch jobs run it),
    with the time of each step."""
    from collections import defaultdict

    from model.pipeline import Pipeline, PipelineOptions

    posts = [to_doc({**p, "id": f"pl-{k}"}).post for k, p in enumerate(batch_posts)]
    rates = {}
    for name, history in (("without history", None), ("with the history", store)):
        steps: dict[str, float] = defaultdict(float)
        pipeline = Pipeline.load(PipelineOptions(history=history))
        if history is not None and "incidents" not in pipeline.steps:
            # the incidents step goes before importance (it reads the incident size)
            names = [c.name for c in pipeline.components]
            at = names.index("importance") if "importance" in names else len(names)
            pipeline.components.insert(at, IncidentTagger(history))
        pipeline.tag(posts[:batch])  # warm up
        pipeline.timer = lambda step, seconds, n: steps.__setitem__(step, steps[step] + seconds)
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(0, len(posts), batch):
            pipeline.tag(posts[i : i + batch])
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        rates[name] = len(posts) / cpu
        per_step = ", ".join(f"{k} {v * 1000 / len(posts):.3f}" for k, v in steps.items())
        print(f"  pipeline {name} ({len(store):,} posts in the history): {len(posts) / wall:.0f} posts/s wall, "
              f"{len(posts) / cpu:.0f} posts/s of CPU; ms/post by step (wall): {per_step}")
    drop = 1 - rates["with the history"] / rates["without history"]
    print(f"  pipeline rate drop with the history (CPU): {drop:.1%}")


if __name__ == "__main__":
    main()
