"""Archive re-tagging throughput: 200,000 real posts (SPb + Kursk texts repeated), 1 and 2 workers,
and the Dask LocalCluster engine.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_batch.py [--rows 200000] [--engines local1,local2,dask2]

Each run is a fresh `otklik tag` process (the way users run it); peak RSS per process is sampled.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from posts import ROOT, real_posts, repeated


def write_input(path: Path, rows: int) -> None:
    posts = repeated(real_posts(), rows)
    with open(path, "w", encoding="utf-8") as f:
        for post in posts:
            f.write(json.dumps(post, ensure_ascii=False) + "\n")


def run(cmd: list[str]) -> dict:
    peak: dict[int, float] = {}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    ps = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                for p in [ps, *ps.children(recursive=True)]:
                    peak[p.pid] = max(peak.get(p.pid, 0), p.memory_info().rss / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.5)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    started = time.perf_counter()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    t.join()
    summary = {}
    for line in err.splitlines():
        if line.startswith('{"summary"'):
            summary = json.loads(line)["summary"]
    if proc.returncode != 0:
        raise RuntimeError(err[-2000:])
    return {"wall_s": round(elapsed, 1), "rows": summary.get("rows"), "bad_rows": summary.get("bad_rows"),
            "rows_per_s_wall": round(summary.get("rows", 0) / elapsed, 1),
            "rows_per_s_job": summary.get("rate_per_s"),
            "peak_rss_mb_per_process": sorted(round(v, 1) for v in peak.values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--engines", default="local1,local2,dask2")
    args = ap.parse_args()
    otklik = str(Path(sys.executable).parent / "otklik")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "posts.jsonl"
        write_input(src, args.rows)
        for engine in args.engines.split(","):
            out = Path(tmp) / f"{engine}.jsonl"
            workers = engine[-1]
            cmd = [otklik, "tag", str(src), "--out", str(out), "--workers", workers, "--chunk-size", "2000"]
            if engine.startswith("dask"):
                cmd += ["--engine", "dask"]
            results[engine] = run(cmd)
            print(engine, results[engine], flush=True)
    print(json.dumps({"rows": args.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
