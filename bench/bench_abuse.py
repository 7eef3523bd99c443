"""Abuse detector cost per post (insults, threats, calls, harm) on real SPb and Kursk appeals.

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_abuse.py [N]
Docs are normalized before timing (the pipeline does that once for all components). A first pass
warms the lemma caches, as a running service has them; then `AbuseDetector.predict` runs over
batches of 256 docs, best of 3 runs, wall clock and process CPU time (the machine is shared).
Goal: the whole exclusion step (all detectors) ≤ 0.3 ms per post, so this part should stay well
under it. Also prints how often each reason fires (moderated portal posts: nearly all false alarms).
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from posts import real_posts  # noqa: E402

from model.artifact import load_artifact  # noqa: E402
from model.doc import Doc  # noqa: E402
from model.paths import DATA_DIR, DEFAULT_ARTIFACT  # noqa: E402
from model.records import Post  # noqa: E402
from model.toxicity import AbuseDetector  # noqa: E402

BATCH = 256


def run(detector: AbuseDetector, docs: list[Doc]) -> tuple[float, float, Counter]:
    fired: Counter = Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(docs), BATCH):
        for findings in detector.predict(docs[i : i + BATCH]):
            fired.update(f.reason for f in findings)
    return time.perf_counter() - wall, time.process_time() - cpu, fired


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else None
    posts = real_posts(n)
    docs = [Doc.from_post(Post(id=p["id"], text=p["text"]), p["region"]) for p in posts]
    spb = [d for d in docs if d.post.id.startswith("spb-")]
    kursk = [d for d in docs if d.post.id.startswith("kursk-")]
    artifact = load_artifact(DEFAULT_ARTIFACT)
    detector = AbuseDetector.from_data(DATA_DIR, artifact.get("toxicity"))
    run(detector, docs)  # warm the lemma and grammeme caches
    print(f"AbuseDetector.predict, batches of {BATCH}, best of 3 (ms per post):")
    for name, part in (("all", docs), ("spb", spb), ("kursk", kursk)):
        if not part:
            continue
        best_wall = best_cpu = float("inf")
        fired: Counter = Counter()
        for _ in range(3):
            wall, cpu, fired = run(detector, part)
            best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        chars = sum(len(d.post.text) for d in part) / len(part)
        print(f"  {name:<6} {len(part):>6} posts, mean {chars:>5.0f} chars: "
              f"{1000 * best_wall / len(part):.4f} wall, {1000 * best_cpu / len(part):.4f} cpu; fired {dict(fired)}")
    tokenized = sum(1 for d in docs if d.text._tokens is not None)
    print(f"  posts that needed tokenizing: {tokenized} of {len(docs)} ({100 * tokenized / len(docs):.2f}%)")


if __name__ == "__main__":
    main()
