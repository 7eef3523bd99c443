"""Throughput of the topic + route components in batch (posts/s), on the bundled artifact.

Posts: the informal eval posts plus St Petersburg portal messages from the LAST 20 % by time (the
posts the lemma table below did not see), half of them routed as `spb` with a district (learned
executor model), half as `omsk` (profile table). Normalization (Doc construction) is timed apart:
the pipeline does it once for all components.

Three passes over the same posts:
- "cold, no lemma table": a fresh process without the artifact's lemma table (every new word goes
  through pymorphy, ~50-100 µs);
- "cold, held-out lemma table": a fresh process with a lemma table built like the shipped one but
  only from the corpora and the SPb posts BEFORE the time split (so the benchmarked posts' words
  are covered only as well as a new day's posts would be: ~98 % of tokens);
- "warm": every word already seen.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_topic_route.py [N] [BATCH]
"""
from __future__ import annotations

import json
import random
import sys
import time

import model  # noqa: F401  (natasha first)
from model.artifact import load_artifact
from model.doc import Doc
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.records import Location, Post
from model.route import RouteTagger
from model.rubricator import load_rubricator
from model.text import analyze_lemma, clear_preloaded_lemmas, preload_lemmas
from model.topic import TopicTagger, artifact_priors
from model import linear
from training.lemmas import SPLIT_FRACTION, _other_texts, _spb_texts, count_words


def later_spb_texts(n: int = 3000) -> tuple[list[str], list[str]]:
    """(earlier posts, a sample of n later posts) of the SPb data, split at 80 % by time."""
    spb = _spb_texts(SHARED_DATA_DIR)
    cut = int(len(spb) * SPLIT_FRACTION)
    later = [text for _, text in spb[cut:] if text.strip()]
    return [text for _, text in spb[:cut]], random.Random(1).sample(later, min(n, len(later)))


def held_out_table(earlier: list[str]) -> dict[str, str]:
    """The shipped lemma table restricted to what the corpora before the split point would give."""
    stored = load_artifact(DEFAULT_ARTIFACT).get("lemmas")
    shipped = stored.as_dict() if stored is not None else {}
    counts = count_words(earlier) + count_words(_other_texts(SHARED_DATA_DIR))
    return {w: shipped[w] if w in shipped else analyze_lemma(w) for w, c in counts.items() if c >= 2}


def clear_word_caches() -> None:
    """What a fresh process has: no lemma table, no cached words."""
    clear_preloaded_lemmas()
    linear._word_features.cache_clear()


def main(n: int = 6000, batch: int = 256) -> None:
    artifact = load_artifact(DEFAULT_ARTIFACT)
    rubricator = load_rubricator()
    # as the pipeline builds it: St Petersburg posts (half of these) get the portal prior
    topic = TopicTagger(artifact.get("topic"), rubricator, priors=artifact_priors(artifact, rubricator))
    route = RouteTagger(artifact.get("route"))
    informal = DATA_DIR / "eval/topics_informal.jsonl"
    earlier, pool = later_spb_texts()
    pool += [json.loads(line)["text"] for line in informal.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = held_out_table(earlier)
    clear_word_caches()
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
    print(f"held-out lemma table: {len(table):,} words")
    clear_word_caches()
    run("cold, no lemma table")
    clear_word_caches()
    preload_lemmas(table)
    run("cold, held-out lemma table")
    run("warm")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
