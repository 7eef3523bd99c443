"""The two real labelled appeal sets (St Petersburg portal, Kursk ЦУР) and the hand-written examples.

Loads the shared data (never copied into the repo), maps the sources' own labels to the rubricator
with `data/mappings/*.yaml`, and makes the honest held-out splits:
- SPb: the last `test_frac` of messages by `petition_dt` are the test period; test rows whose
  author also posted in the training period are dropped (heavy repeat posters would leak).
- Kursk has no time or author: the last `test_frac` by id is the test part, and test rows whose
  normalized text also occurs in the training part are dropped.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from model.errors import DataError
from model.mappings import MAPPINGS_DIR, Mapping, load_mapping  # noqa: F401 (re-exported for training)

from .jsonl import read_jsonl
from model.paths import DATA_DIR
from model.rubricator import Rubricator, load_rubricator
from model.text import normalize
from model.topic import model_text

log = logging.getLogger(__name__)

SPB_FILE = Path("appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz")
KURSK_FILE = Path("appeals/kursk_cur_2022/train_dataset_train.csv")
EXAMPLES_FILE = DATA_DIR / "examples" / "topics.jsonl"
INFORMAL_EVAL_FILE = DATA_DIR / "eval" / "topics_informal.jsonl"

COLUMNS = ["id", "source", "text", "clean", "topic", "group", "executor", "district", "municipality",
           "author", "order", "label"]


def clean_text(text: str) -> str:
    """The model's view of a post: normalized, lower-cased (ё → е), capped."""
    return model_text(normalize(text).lower)


def _with_topics(df: pd.DataFrame, topics: list[str], rubricator: Rubricator) -> pd.DataFrame:
    df["topic"] = topics
    df["group"] = [rubricator.topic(t).group for t in topics]
    return df


def load_spb(shared_dir: Path, rubricator: Rubricator | None = None) -> pd.DataFrame:
    rubricator = rubricator or load_rubricator()
    path = Path(shared_dir) / SPB_FILE
    if not path.is_file():
        raise DataError(f"expected the SPb appeals at {path}, found none")
    raw = pd.read_csv(path, dtype={"author_hash": str})
    mapping = load_mapping("spb", rubricator)
    raw = raw[raw["text"].notna()]
    out = pd.DataFrame({
        "id": raw["id"].astype(str).values,
        "source": "spb",
        "text": raw["text"].values,
        "executor": raw["executor_org"].values,
        "district": raw["district"].values,
        "municipality": raw["municipality"].values,
        "author": raw["author_hash"].values,
        "order": pd.to_datetime(raw["petition_dt"]).values,
        "label": (raw["category"] + " | " + raw["reason"]).values,
    })
    topics = [mapping.topic_of(c, r) for c, r in zip(raw["category"], raw["reason"])]
    out = _with_topics(out, topics, rubricator)
    out["clean"] = [clean_text(t) for t in out["text"]]
    return out[COLUMNS].reset_index(drop=True)


def load_kursk(shared_dir: Path, rubricator: Rubricator | None = None) -> pd.DataFrame:
    rubricator = rubricator or load_rubricator()
    path = Path(shared_dir) / KURSK_FILE
    if not path.is_file():
        raise DataError(f"expected the Kursk appeals at {path}, found none")
    raw = pd.read_csv(path)
    mapping = load_mapping("kursk", rubricator)
    raw = raw[raw["Текст Сообщения"].notna() & ~raw["Тематика"].isin(mapping.drop)]
    out = pd.DataFrame({
        "id": raw["id"].astype(str).values,
        "source": "kursk",
        "text": raw["Текст Сообщения"].values,
        "executor": raw["Ответственное лицо"].values,
        "district": None,
        "municipality": None,
        "author": None,
        "order": raw["id"].astype(int).values,
        "label": raw["Тематика"].values,
    })
    out = _with_topics(out, [mapping.topic_of(t) for t in raw["Тематика"]], rubricator)
    out["clean"] = [clean_text(t) for t in out["text"]]
    return out[COLUMNS].reset_index(drop=True)


def load_jsonl_posts(path: Path, rubricator: Rubricator | None = None, source: str = "examples") -> pd.DataFrame:
    """Posts with gold labels, one JSON object a line: {"text", "topic"?, "group"?, "executor"?, "region"?}.

    A `topic` must be a rubricator topic and its group must agree with `group` when both are given.
    """
    rubricator = rubricator or load_rubricator()
    path = Path(path)
    rows = []
    for n, obj in read_jsonl(path):
        if not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise DataError(f"{path}:{n}: text: expected a non-empty string")
        topic, group = obj.get("topic"), obj.get("group")
        if topic is not None:
            if not rubricator.has_topic(topic):
                raise DataError(f"{path}:{n}: topic: expected a rubricator topic name, got {topic!r}")
            if group is not None and rubricator.topic(topic).group != group:
                raise DataError(f"{path}:{n}: group: expected {rubricator.topic(topic).group!r} for topic {topic!r}, got {group!r}")
            group = rubricator.topic(topic).group
        elif group is not None and group not in rubricator.groups:
            raise DataError(f"{path}:{n}: group: expected a rubricator group, got {group!r}")
        rows.append({
            "id": str(obj.get("id", f"{path.stem}-{n}")), "source": source, "text": obj["text"],
            "topic": topic, "group": group, "executor": obj.get("executor"),
            "district": obj.get("district"), "municipality": obj.get("municipality"),
            "author": obj.get("author_id"), "order": n, "label": topic, "region": obj.get("region"),
        })
    df = pd.DataFrame(rows, columns=COLUMNS[:3] + COLUMNS[4:] + ["region"])
    df["clean"] = [clean_text(t) for t in df["text"]]
    return df


def load_examples(path: Path = EXAMPLES_FILE, rubricator: Rubricator | None = None) -> pd.DataFrame:
    """Hand-written training examples; an absent file is an empty set (logged)."""
    if not Path(path).is_file():
        log.warning("no hand-written topic examples at %s; training on the appeal sets only", path)
        return pd.DataFrame(columns=COLUMNS)
    df = load_jsonl_posts(path, rubricator, source="examples")
    return df[df["topic"].notna()][COLUMNS].reset_index(drop=True)


def split_by_time_and_author(df: pd.DataFrame, test_frac: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train = the earliest (1 - test_frac) rows by `order`; test = the rest minus leaks.

    Leaks dropped from the test part: rows whose author posted in the train part, and rows whose
    clean text occurs in the train part.
    """
    df = df.sort_values("order", kind="stable").reset_index(drop=True)
    cut = int(round(len(df) * (1 - test_frac)))
    train, test = df.iloc[:cut], df.iloc[cut:]
    keep = ~test["clean"].isin(set(train["clean"]))
    authors = set(train["author"].dropna())
    if authors:
        keep &= ~test["author"].isin(authors)
    return train.reset_index(drop=True), test[keep].reset_index(drop=True)


def dedupe(df: pd.DataFrame, columns: tuple[str, ...] = ("clean", "topic")) -> pd.DataFrame:
    """Drop exact repeats of (text, label); the portal's template messages would otherwise dominate."""
    return df.drop_duplicates(list(columns)).reset_index(drop=True)
