"""Model registry benchmarks (issue 3): cairn server beside MLflow 2.12's own server
(SQLite, 4 gunicorn workers), over loopback HTTP, in one run.

    /usr/bin/python3 bench/registry_bench.py [--models N] [--versions V] [--no-mlflow]

Workloads (target: search over 10,000 models x 20 versions with a LIKE filter
under 20 ms):
  registered-models/search  name LIKE 'model-12%'  (a selective prefix)
  registered-models/search  name LIKE '%7%'        (a broad infix, first page of 100)
  model-versions/search     name LIKE 'model-12%'  (its versions)
  model-versions/search     no filter, newest first, page of 1000
  registered-models/get, model-versions/get-download-uri  (what loading a model calls)
MLflow is seeded with a tenth of the models: its seeding runs at ~100 writes/s.
"""
import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracking_bench as tb  # noqa: E402


def seed(port, models, versions, workers=8):
    def work(chunk):
        c = tb.Client(port)
        for i in chunk:
            name = f"model-{i}"
            c.call("POST", "registered-models/create", {"name": name, "tags": [{"key": "team", "value": f"t{i % 7}"}]})
            for v in range(versions):
                c.call("POST", "model-versions/create", {"name": name, "source": f"s3://bucket/{name}/{v}"})
    chunks = [range(w, models, workers) for w in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, chunks))


def measure(server, models, versions):
    client = tb.Client(server.port)
    start = time.time()
    seed(server.port, models, versions)
    print(f"  [{server.name}] seeded {models:,} models x {versions} versions in {time.time() - start:.1f}s",
          flush=True)
    q = urllib.parse.urlencode
    results = {}
    ms, page = client.timed("GET", "registered-models/search?" + q({"filter": "name LIKE 'model-12%'",
                                                                    "max_results": 100}))
    results["search models, LIKE 'model-12%' ms"] = ms
    assert page.get("registered_models"), page
    ms, page = client.timed("GET", "registered-models/search?" + q({"filter": "name LIKE '%7%'",
                                                                    "max_results": 100}))
    results["search models, LIKE '%7%', page of 100 ms"] = ms
    ms, page = client.timed("GET", "model-versions/search?" + q({"filter": "name LIKE 'model-12%'",
                                                                 "max_results": 1000}))
    results["search versions, LIKE 'model-12%' ms"] = ms
    ms, page = client.timed("GET", "model-versions/search?" + q({"max_results": 1000}))
    results["search versions, no filter, page of 1000 ms"] = ms
    assert len(page.get("model_versions", [])) == 1000
    ms, _ = client.timed("GET", "registered-models/get?" + q({"name": "model-42"}))
    results["registered-models/get ms"] = ms
    ms, _ = client.timed("GET", "model-versions/get-download-uri?" + q({"name": "model-42", "version": "3"}))
    results["get-download-uri ms"] = ms
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cairn-registry-bench-")
    columns = {}
    try:
        plans = [("cairn sqlite", lambda: tb.start_cairn(tmp), args.models)]
        if not args.no_mlflow:
            plans.append(("mlflow 2.12 (4 gunicorn)", lambda: tb.start_mlflow(tmp), max(100, args.models // 10)))
        for name, start, models in plans:
            print(f"benchmarking {name} ...", flush=True)
            server = start()
            try:
                columns[name] = measure(server, models, args.versions)
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    names = list(columns)
    print(f"\n{'workload':44}" + "".join(f"{n:>26}" for n in names) + ("   ratio" if len(names) > 1 else ""))
    for key in columns[names[0]]:
        values = [columns[n][key] for n in names]
        row = f"{key:44}" + "".join(f"{v:>26,.2f}" for v in values)
        if len(values) > 1:
            row += f"   {values[1] / values[0]:6.1f}x"
        print(row)
    print(f"\ncairn: {args.models:,} models x {args.versions} versions; MLflow: "
          f"{max(100, args.models // 10):,} x {args.versions} (its seeding is slow). Times are medians "
          "of 7, to the response's last byte.")


if __name__ == "__main__":
    main()
