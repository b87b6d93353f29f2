"""Logged-model benchmarks (issue 6): cairn server over loopback HTTP, from
separate processes, with the same harness as tracking_bench.py.

    /usr/bin/python3 bench/logged_models_bench.py [--models N] [--postgres URI]

Workloads (targets from issue 6, SQLite, 2 cores):
  search-logged-models  N models (default 100,000) with 3 metrics each, filter
                        on a metric + order_by a metric, first page (50): < 20 ms
  log-batch             1000 model-linked points/request, 8 connections:
                        >= 500,000 points/s
MLflow's own server is not run here: its 3.x server needs packages Debian
does not ship (the 2.x comparison is in tracking_bench.py).
"""
import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracking_bench as tb  # noqa: E402


def seed_models(client, experiment_id, run_id, count, workers=4):
    """count models, each with acc/loss/f1 logged through its run, 100 models per log-batch."""
    def work(chunk):
        c = tb.Client(client.port)
        batch = []
        for i in chunk:
            mid = c.call("POST", "logged-models", {"experiment_id": experiment_id, "name": f"m{i % 50}",
                                                   "source_run_id": run_id})["model"]["info"]["model_id"]
            for k, key in enumerate(("acc", "loss", "f1")):
                # A different multiplier per key keeps the metrics independent; one
                # multiplier made f1 a shifted copy of acc, anti-correlated with it
                # at the top, which is the worst case for an ordered walk.
                value = ((i * (7919, 6151, 3571)[k] + k * 104729) % 10007) / 10007.0
                batch.append({"key": key, "value": value,
                              "timestamp": 1700000000000 + i, "step": 0, "model_id": mid,
                              "dataset_name": "val", "dataset_digest": "d1"})
            if len(batch) >= 300:
                c.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": batch})
                batch = []
        if batch:
            c.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": batch})
    chunks = [range(w, count, workers) for w in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, chunks))


def measure(server, models, seconds):
    client = tb.Client(server.port)
    exp, (run_id,) = tb.new_runs(client, 1, "logged-models-bench")
    results = {}
    # Model-linked log-batch first, on 8 (run, model) pairs.
    pairs = []
    for i in range(8):
        _, (rid,) = tb.new_runs(client, 1, "logged-models-write")
        mid = client.call("POST", "logged-models", {"experiment_id": exp})["model"]["info"]["model_id"]
        pairs.append(f"{rid}:{mid}")
    # A fresh server's first seconds, then the steady state a running server
    # is in: its first tens of MB of WAL and of SQLite page cache are new
    # file blocks and first-touched memory, which this VM makes slow.
    cold, _, _ = tb.log_batch_load(server.port, 8, 3, pairs, warmup=0)
    results["log-batch model-linked points/s, first 3 s of a fresh server"] = cold * 1000
    rps, p50, _ = tb.log_batch_load(server.port, 8, seconds, pairs, warmup=7)
    results["log-batch model-linked points/s (8 conn)"] = rps * 1000
    results["log-batch p50 ms"] = p50
    start = time.time()
    seed_models(client, exp, run_id, models)
    print(f"  seeded {models:,} models in {time.time() - start:.1f}s", flush=True)
    body = {"experiment_ids": [exp], "filter": "metrics.acc > 0.5 AND name != 'm7'",
            "order_by": [{"field_name": "metrics.f1", "ascending": False}], "max_results": 50}
    results["search-logged-models first page ms"], page = client.timed("POST", "logged-models/search", body)
    assert len(page.get("models", [])) == 50, len(page.get("models", []))
    body = {"experiment_ids": [exp], "max_results": 50}
    results["search-logged-models unfiltered ms"], _ = client.timed("POST", "logged-models/search", body)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URI (a throwaway database)")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cairn-lm-bench-")
    columns = {}
    try:
        backends = [("cairn sqlite", None)] + ([("cairn postgres", args.postgres)] if args.postgres else [])
        for name, store in backends:
            print(f"benchmarking {name} ...", flush=True)
            server = tb.start_cairn(os.path.join(tmp, name.replace(" ", "-")), store)
            try:
                columns[name] = measure(server, args.models, args.seconds)
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    names = list(columns)
    print()
    print(f"{'workload':44}" + "".join(f"{n:>20}" for n in names))
    for key in columns[names[0]]:
        print(f"{key:44}" + "".join(f"{columns[n][key]:>20,.2f}" for n in names))
    print(f"\n{args.models:,} logged models x 3 metrics in one experiment; the search filters on one "
          "metric and a name, orders by another metric, and returns a page of 50 (MLflow's default).")


if __name__ == "__main__":
    main()
