"""Milliseconds per post of the exclusion step (мат, advertising, off-topic) over real posts.

    python bench/bench_exclusions.py [--spb N] [--with-abuse [--artifact PATH]] [--repeat R]

Posts: N St Petersburg portal messages (a seeded sample, short texts) and all 2,000 Kursk appeals
(long, HTML) from the shared data. Normalization (`Doc.from_post`) is the pipeline's own step and
is not timed here; `ExclusionTagger.__call__` is, in batches of 256, as CPU time of the process
(the machine is shared: wall time would also count other people's work). With --with-abuse the insult /
threat detector from the default artifact runs too (it is someone else's component; the goal of
≤ 0.3 ms/post is for the three detectors of this step written here). One core: OMP_NUM_THREADS=1.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from model.cues import word_keys  # noqa: E402
from model.doc import Doc  # noqa: E402
from model.exclusions import ExclusionTagger  # noqa: E402
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR  # noqa: E402
from model.profiles import Profiles  # noqa: E402
from model.records import Post  # noqa: E402


def posts(n_spb: int) -> dict[str, list[str]]:
    spb = pd.read_csv(SHARED_DATA_DIR / "appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz", usecols=["text"])
    spb = spb.text.dropna().sample(n=n_spb, random_state=13).tolist()
    kursk = pd.read_csv(SHARED_DATA_DIR / "appeals/kursk_cur_2022/train_dataset_train.csv").iloc[:, 1].dropna().tolist()
    return {"spb": spb, "kursk": kursk}


def time_step(tagger: ExclusionTagger, texts: list[str], repeat: int) -> list[float]:
    docs = [Doc.from_post(Post(id=str(i), text=t), "omsk") for i, t in enumerate(texts)]
    runs = []
    for _ in range(repeat):
        word_keys.cache_clear()  # no help from an earlier run: each run sees the texts anew
        # CPU time of this process: the machine is shared, wall time would count others' work
        started = time.process_time()
        for k in range(0, len(docs), 256):
            tagger(docs[k : k + 256])
        runs.append(1000 * (time.process_time() - started) / len(docs))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spb", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-abuse", action="store_true")
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT, help="artifact for --with-abuse")
    args = parser.parse_args()

    profiles = Profiles.load(DATA_DIR / "profiles")
    taggers = {"profanity+ads+off_topic": ExclusionTagger.from_data(DATA_DIR, profiles)}
    if args.with_abuse:
        from model.artifact import load_artifact
        from model.toxicity import AbuseDetector

        artifact = load_artifact(args.artifact)
        abuse = AbuseDetector.from_data(DATA_DIR, artifact.get("toxicity"), threat_model=artifact.get("threat"))
        taggers["+ insult/threat"] = ExclusionTagger.from_data(DATA_DIR, profiles, abuse_detector=abuse)
    data = posts(args.spb)
    print(f"{'posts':<8} {'n':>6} {'avg chars':>9}  {'detectors':<26} {'CPU ms/post (best of runs)':>26}")
    for name, texts in data.items():
        avg = statistics.mean(len(t) for t in texts)
        for label, tagger in taggers.items():
            runs = time_step(tagger, texts, args.repeat)
            print(f"{name:<8} {len(texts):>6} {avg:>9.0f}  {label:<26} {min(runs):>10.3f} (median {statistics.median(runs):.3f})")
    all_texts = data["spb"] + data["kursk"]
    for label, tagger in taggers.items():
        runs = time_step(tagger, all_texts, args.repeat)
        print(f"{'all':<8} {len(all_texts):>6} {statistics.mean(len(t) for t in all_texts):>9.0f}  {label:<26} "
              f"{min(runs):>10.3f} (median {statistics.median(runs):.3f})")


if __name__ == "__main__":
    main()
