"""What `cairn features plan` pays to check a repo against its data (issue 20): the checks
read each source's schema, not its rows, so they should cost milliseconds however large the
files are. Side by side in one run, on one large Parquet source:

  plan --skip-source-checks      the plan alone
  plan                           the plan with the checks
  historical                     the training set the checks protect: 1,000 entity rows joined
                                 point in time against the source (it reads the rows)

  /usr/bin/python3 bench/source_checks_bench.py [--rows 20000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAIRN = str(REPO / "build" / "release" / "cairn")
HISTORICAL_BENCH = str(REPO / "build" / "release" / "bench" / "historical_bench")

DEFINITIONS = """entities:
  - {name: driver, join_keys: [driver_id], value_type: String}
sources:
  - {name: src, path: ../features.parquet, timestamp_field: event_timestamp, created_timestamp_field: created}
feature_views:
  - name: stats
    entities: [driver]
    source: src
    schema: [{name: f1, type: Float64}, {name: f2, type: Float64}, {name: f3, type: Int64}]
"""


def timed(args: list[str], repeat: int) -> float:
    """The fastest of `repeat` runs, in seconds; the command must succeed."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    o = parser.parse_args()
    for binary in (CAIRN, HISTORICAL_BENCH):
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} is missing: run scripts/build release first")
    work = Path(tempfile.mkdtemp(prefix="cairn-checks-bench-"))
    try:
        print(f"generating {o.rows:,} feature rows (historical_bench's generator)", flush=True)
        subprocess.run([HISTORICAL_BENCH, "--dir", str(work), "--feature-rows", str(o.rows),
                        "--entities", "1000", "--repeat", "1"], check=True, capture_output=True)
        size_mb = (work / "features.parquet").stat().st_size / 1e6
        repo = work / "repo"
        repo.mkdir()
        (repo / "cairn_features.yaml").write_text("project: checks\n")
        (repo / "defs.yaml").write_text(DEFINITIONS)
        data = work / "data"
        base = [CAIRN, "features", "plan", "--repo", str(repo), "--data-dir", str(data)]
        plain = timed(base + ["--skip-source-checks"], o.repeat)
        checked = timed(base, o.repeat)
        # The anchor: the training set the checks protect, which reads the source's rows.
        subprocess.run([CAIRN, "features", "apply", "--repo", str(repo), "--data-dir", str(data)],
                       check=True, capture_output=True)
        historical = timed([CAIRN, "features", "historical", "--repo", str(repo), "--data-dir", str(data),
                            "--entities", str(work / "entities.parquet"), "--features", "stats",
                            "--out", str(work / "train.parquet")], o.repeat)
        print(f"source: {o.rows:,} rows, {size_mb:.0f} MB Parquet")
        print(f"plan --skip-source-checks: {plain * 1000:8.1f} ms")
        print(f"plan (with the checks):    {checked * 1000:8.1f} ms  (checks cost "
              f"{(checked - plain) * 1000:.1f} ms)")
        print(f"historical (1,000 entity rows): {historical * 1000:8.1f} ms  "
              f"({historical / max(checked - plain, 1e-6):.0f}x the checks)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
