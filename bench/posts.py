"""Real posts for benchmarks: St Petersburg portal and Kursk texts from ../shared/data."""
from __future__ import annotations

import csv
import gzip
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.paths import SHARED_DATA_DIR  # noqa: E402

SPB = SHARED_DATA_DIR / "appeals" / "spb_nash_spb" / "spb_appeals_2020_10_to_2021_03.csv.gz"
KURSK = SHARED_DATA_DIR / "appeals" / "kursk_cur_2022" / "train_dataset_train.csv"


def real_posts(limit: int | None = None) -> list[dict]:
    """SPb and Kursk posts interleaved (about 24 SPb : 1 Kursk, as in the data)."""
    spb, kursk = [], []
    with gzip.open(SPB, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            post = {"id": f"spb-{row['id']}", "text": row["text"], "author_id": row["author_hash"],
                    "created_at": row["petition_dt"] + "+03:00", "region": "spb", "source": "other",
                    "geo": {"lat": float(row["latitude"]), "lon": float(row["longitude"])}}
            if row["full_address"]:
                post["address"] = row["full_address"]
            if post["text"].strip():
                spb.append(post)
    with open(KURSK, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["Текст Сообщения"].strip():
                kursk.append({"id": f"kursk-{row['id']}", "text": row["Текст Сообщения"], "region": "kursk",
                              "created_at": "2022-06-01T10:00:00+03:00", "source": "other"})
    posts = []
    ki = iter(kursk)
    for i, post in enumerate(spb):
        posts.append(post)
        if i % 24 == 0:
            nxt = next(ki, None)
            if nxt is not None:
                posts.append(nxt)
    posts.extend(ki)
    return posts[:limit] if limit else posts


def repeated(posts: list[dict], n: int) -> list[dict]:
    """n posts, cycling through `posts` with unique ids."""
    out = []
    for i, post in enumerate(itertools.islice(itertools.cycle(posts), n)):
        out.append({**post, "id": f"{post['id']}-{i}"})
    return out
