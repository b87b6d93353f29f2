"""XGBoost prediction (issue 21): Cairn's native tree evaluator beside
libxgboost's C API and python3-xgboost, on the same model, in one run.

    /usr/bin/python3 bench/tree_predict_bench.py [--trees 100] [--depth 6] [--features 10] [--seconds 1]

Model: XGBoost regression, --trees trees of depth --depth on --features numeric
features (trained here on 20,000 random rows). Batches of 1 and 1,000 dense rows,
and 1,000 rows with 5% of the values missing.
Targets: native at least 10x the C API on 1 row and 2.5x on 1,000 rows, and
30x python3-xgboost's inplace_predict on 1 row.
Needs `scripts/build release` (build/release/bench/tree_predict_bench).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "release", "bench", "tree_predict_bench")


def micros_per_call(seconds, fn):
    for _ in range(100):
        fn()
    calls, batch, start = 0, 1, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(batch):
            fn()
        calls += batch
        batch = min(batch * 2, 4096)
    return (time.perf_counter() - start) * 1e6 / calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, args.features)).astype(np.float32)
    y = x @ rng.normal(size=args.features) + np.sin(x[:, 0] * 3) + rng.normal(scale=0.1, size=len(x))
    booster = xgb.train({"max_depth": args.depth, "nthread": 2, "objective": "reg:squarederror"},
                        xgb.DMatrix(x, label=y), args.trees)
    work = tempfile.mkdtemp(prefix="tree-bench-")
    model_path = os.path.join(work, "model.json")
    booster.save_model(model_path)
    print(f"model: {args.trees} trees, depth {args.depth}, {args.features} features; xgboost "
          f"{xgb.__version__}; 2 threads for XGBoost (its default on this machine)", flush=True)

    out = subprocess.run([BENCH, model_path, "--features", str(args.features), "--seconds", str(args.seconds)],
                         check=True, capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    q = rng.normal(size=(1000, args.features)).astype(np.float32)
    q_missing = q.copy()
    q_missing[rng.random(q.shape) < 0.05] = np.nan
    cases = [(1, 0.0), (1000, 0.0), (1000, 0.05)]
    for rows, missing in cases:
        batch = (q_missing if missing else q)[:rows]
        results.append({"engine": "python3-xgboost inplace_predict", "rows": rows, "missing": missing,
                        "us_per_call": micros_per_call(args.seconds, lambda: booster.inplace_predict(batch))})
        results.append({"engine": "python3-xgboost predict(DMatrix)", "rows": rows, "missing": missing,
                        "us_per_call": micros_per_call(args.seconds,
                                                       lambda: booster.predict(xgb.DMatrix(batch)))})

    for rows, missing in cases:
        mine = [r for r in results if r["rows"] == rows and r["missing"] == missing]
        one = next(r["us_per_call"] for r in mine if r["engine"] == "cairn native")
        two = next(r["us_per_call"] for r in mine if r["engine"] == "cairn native, 2 threads")
        print(f"\n{rows} row(s) per call, {missing:.0%} missing; the last columns: how many times "
              f"Cairn's time each engine takes")
        print(f"  {'engine':42} {'us/call':>10} {'rows/s':>12} {'vs 1 thread':>12} {'vs 2 threads':>13}")
        for r in mine:
            us = r["us_per_call"]
            print(f"  {r['engine']:42} {us:10.3f} {rows / us * 1e6:12,.0f} {us / one:11.1f}x {us / two:12.1f}x")

if __name__ == "__main__":
    main()
