"""Throughput of the topic + route components in batch (posts/s), on the bundled artifact.

Posts: the hand-written examples and informal eval posts plus SPb portal messages from the shared
data (when present), half of them routed as `spb` with a district (learned executor model), half as
`omsk` (profile table). Normalization (Doc construction) is timed apart: the pipeline does it once
for all components.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_topic_route.py [N] [BATCH]
"""
from __future__ import annotations

import json
import sys
import time

import model  # noqa: F401  (natasha first)
from model.artifact import load_artifact
from model.doc import Doc
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.records import Location, Post
from model.route import RouteTagger
from model.rubricator import load_rubricator
from model.topic import TopicTagger


def texts() -> list[str]:
    out = []
    for name in ("examples/topics.jsonl", "eval/topics_informal.jsonl"):
        path = DATA_DIR / name
        if path.is_file():
            out += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    spb = SHARED_DATA_DIR / "appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz"
    if spb.is_file():
        import pandas as pd

        out += pd.read_csv(spb, usecols=["text"])["text"].dropna().sample(3000, random_state=1).tolist()
    return out


def main(n: int = 6000, batch: int = 256) -> None:
    artifact = load_artifact(DEFAULT_ARTIFACT)
    topic = TopicTagger(artifact.get("topic"), load_rubricator())
    route = RouteTagger(artifact.get("route"))
    pool = texts()
    posts = [pool[i % len(pool)] for i in range(n)]
    started = time.perf_counter()
    docs = []
    for i, t in enumerate(posts):
        doc = Doc.from_post(Post(id=str(i), text=t), "spb" if i % 2 else "omsk")
        if i % 2:
            doc.location = Location(district="Невский")
        docs.append(doc)
    t_norm = time.perf_counter() - started

    def run(label: str) -> None:
        t_topic = t_route = 0.0
        for k in range(0, n, batch):
            chunk = docs[k:k + batch]
            s = time.perf_counter()
            topic(chunk)
            t_topic += time.perf_counter() - s
            s = time.perf_counter()
            route(chunk)
            t_route += time.perf_counter() - s
        print(f"{label}: topic {n / t_topic:,.0f} posts/s, route {n / t_route:,.0f} posts/s, "
              f"topic+route {n / (t_topic + t_route):,.0f} posts/s "
              f"(+ normalize: {n / (t_topic + t_route + t_norm):,.0f} posts/s)")

    print(f"{n} posts ({len(pool)} distinct texts), batch {batch}; normalize {n / t_norm:,.0f} posts/s")
    run("cold lemma cache")
    run("warm")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
