"""Run the benchmarks one after another with their default sizes (`make bench`).

The long ones (bench_batch on 200,000 posts, bench_repeats on a 1,000,000-post history,
bench_service's 2-minute load) take ~25 minutes together; pass names to run a subset:

    .venv/bin/python bench/run_all.py pipeline sla location
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["pipeline", "topic_route", "location", "exclusions", "abuse", "importance", "sla", "repeats",
         "service", "batch"]


def main(names: list[str]) -> int:
    names = names or ORDER
    unknown = [n for n in names if not (HERE / f"bench_{n}.py").is_file()]
    if unknown:
        print(f"run_all: expected names from {', '.join(ORDER)}, got {', '.join(unknown)}", file=sys.stderr)
        return 2
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    failed = 0
    for name in names:
        print(f"=== bench_{name}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")], cwd=HERE.parent, env=env) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
