"""Real St Petersburg portal posts (from ../shared/data) as batch input files."""
import csv
import gzip
import json

import pytest

from model.paths import SHARED_DATA_DIR

SPB = SHARED_DATA_DIR / "appeals" / "spb_nash_spb" / "spb_appeals_2020_10_to_2021_03.csv.gz"


def spb_posts(n: int, start: int = 0) -> list[dict]:
    posts = []
    with gzip.open(SPB, "rt", encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i < start:
                continue
            if len(posts) >= n:
                break
            post = {
                "id": f"spb-{row['id']}",
                "text": row["text"],
                "author_id": row["author_hash"],
                "created_at": row["petition_dt"] + "+03:00",
                "source": "other",
                "region": "spb",
                "geo": {"lat": float(row["latitude"]), "lon": float(row["longitude"])},
            }
            if row["full_address"]:
                post["address"] = row["full_address"]
            posts.append(post)
    return posts


@pytest.fixture(scope="session")
def real_posts():
    return spb_posts(400)


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path
