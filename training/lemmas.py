"""Train the "lemmas" component: pymorphy's lemmas for the training vocabulary, looked up before pymorphy.

    python -m training.lemmas        # build and report coverage (does not write the artifact)

pymorphy2 needs ~50-100 µs to analyse a word it has not seen in this process, so a fresh process
(a service worker, a batch worker) spends most of its first minutes in it. The table holds the
answers of `model.text.analyze_lemma` for every Cyrillic word that occurs (at least `min_count` times)
in the shared corpora (appeals, toxicity, spam) and the project's own examples: the
lemmas are exactly pymorphy's, so no other component changes.

Coverage is measured honestly: a table built from the St Petersburg posts before the time split
point (plus the other corpora) is scored on the word tokens of the later posts.
"""
from __future__ import annotations

import csv
import gzip
import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from razdel import tokenize as razdel_tokenize

from model.paths import DATA_DIR
from model.text import LemmaTable, analyze_lemma, normalize

from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

SPB_FILE = Path("appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz")
KURSK_FILE = Path("appeals/kursk_cur_2022/train_dataset_train.csv")
PIKABU_FILE = Path("toxicity/toxic_2ch_pikabu/labeled.csv")
RUSSE_FILE = Path("toxicity/russe_detox_2022/train.tsv")
SPAM_FILES = [Path("spam/ham-samples.txt"), Path("spam/spam-samples.txt")]
OWN_GLOBS = ["examples/*.jsonl"]

_CYRILLIC = re.compile(r"[а-я]")
# the two tokenizations that call lemmatize: razdel tokens (Text.tokens) and model.linear's words
_LINEAR_WORD = re.compile(r"[а-яa-z0-9]+")
SPLIT_FRACTION = 0.8  # of the SPb posts by time, for the coverage check


def words_of(text: str) -> Iterator[str]:
    """Each word occurrence once: the razdel token, and model.linear's pieces when they differ."""
    for token in razdel_tokenize(normalize(text).lower):
        yield token.text
        pieces = _LINEAR_WORD.findall(token.text)
        if pieces != [token.text]:
            yield from pieces


def _spb_texts(shared: Path) -> list[tuple[str, str]]:
    with gzip.open(shared / SPB_FILE, "rt", encoding="utf-8", newline="") as f:
        return sorted(((row["petition_dt"], row["text"]) for row in csv.DictReader(f)), key=lambda r: r[0])


def _other_texts(shared: Path) -> Iterator[str]:
    with open(shared / KURSK_FILE, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["Текст Сообщения"]
    with open(shared / PIKABU_FILE, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["comment"]
    with open(shared / RUSSE_FILE, encoding="utf-8", newline="") as f:
        # the texts contain quotes that are not CSV quoting
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield from (v for k, v in row.items() if k and k != "index" and v)
    for name in SPAM_FILES:
        yield from (shared / name).read_text(encoding="utf-8", errors="replace").splitlines()
    for pattern in OWN_GLOBS:
        for path in sorted(DATA_DIR.glob(pattern)):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield str(json.loads(line).get("text", ""))


def count_words(texts: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w in words_of(text) if _CYRILLIC.search(w))
    return counts


def build_table(counts: Counter, min_count: int = 1) -> dict[str, str]:
    return {w: analyze_lemma(w) for w, n in counts.items() if n >= min_count}


def token_coverage(table: dict[str, str], texts: Iterable[str]) -> dict[str, float]:
    tokens = hits = 0
    distinct, distinct_hits = set(), 0
    for text in texts:
        for w in words_of(text):
            if not _CYRILLIC.search(w):
                continue
            tokens += 1
            hits += w in table
            if w not in distinct:
                distinct.add(w)
                distinct_hits += w in table
    return {"token_coverage": round(hits / max(tokens, 1), 4),
            "distinct_word_coverage": round(distinct_hits / max(len(distinct), 1), 4),
            "tokens": tokens, "distinct_words": len(distinct)}


def train(shared_data_dir: Path, seed: int = 13, min_count: int = 1) -> TrainedComponent:
    shared = Path(shared_data_dir)
    spb = _spb_texts(shared)
    cut = int(len(spb) * SPLIT_FRACTION)
    other = count_words(_other_texts(shared))
    early = count_words(text for _, text in spb[:cut])
    # coverage of a table that never saw the later posts, on those posts
    held_out = token_coverage(build_table(early + other, min_count), (text for _, text in spb[cut:]))
    log.info("lemma table coverage on later SPb posts: %s", held_out)
    counts = early + other + count_words(text for _, text in spb[cut:])
    table = build_table(counts, min_count)
    log.info("lemma table: %d words (min_count %d)", len(table), min_count)
    files = [shared / SPB_FILE, shared / KURSK_FILE, shared / PIKABU_FILE, shared / RUSSE_FILE,
             *(shared / f for f in SPAM_FILES)]
    own = [p for pattern in OWN_GLOBS for p in sorted(DATA_DIR.glob(pattern))]
    meta = {
        "words": len(table),
        "min_count": min_count,
        "metrics": {"held_out_spb_later_posts": held_out},
        "data": {**data_hashes(files, shared), **data_hashes(own, DATA_DIR)},
    }
    return TrainedComponent("lemmas", LemmaTable.from_mapping(table), meta)


def main() -> None:  # pragma: no cover - convenience entry point
    import argparse

    from model.paths import SHARED_DATA_DIR

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared-data", type=Path, default=SHARED_DATA_DIR)
    args = ap.parse_args()
    trained = train(args.shared_data)
    log.info("%s", json.dumps(trained.meta["metrics"], ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    main()
