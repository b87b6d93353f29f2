"""Multi-model serving memory (issue 21), on one Cairn server:

  - 1,000 deployments of small XGBoost models loaded at once: the server's
    resident memory growth against the bytes the models themselves hold
    (the sum of their `memory_bytes`; target: within 1.5x);
  - 10,000 unload/load cycles (Triton's repository extension) over those
    deployments: resident memory after them against before (target: under
    1% growth);
  - a memory budget (--serving-memory-mb) smaller than the models: requests
    to every deployment in turn still succeed, loading each on demand
    (evictions and reload latency reported).

    /usr/bin/python3 bench/serving_memory_bench.py [--models 1000] [--cycles 10000]

Model: XGBoost regression, 20 trees of depth 4 on 10 features, logged and
registered once with the MLflow 3.6 client; every deployment loads its own
copy (models:/small/1). Needs `scripts/build release`.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from rollout_bench import call  # noqa: E402
from serving_bench import FEATURES, start_cairn_with_models  # noqa: E402

SETUP = """
import json, mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
X = rng.normal(size=(2000, {features})).astype(np.float32)
y = X @ rng.normal(size={features})
b = xgb.train({{"max_depth": 4, "nthread": 2}}, xgb.DMatrix(X, label=y), 20)
with mlflow.start_run():
    mlflow.xgboost.log_model(b, name="model", registered_model_name="small")
print(json.dumps({{"ok": True}}))
"""


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def post(port, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=10000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="serving-memory-bench-")
    servers = []
    try:
        server, port, _ = start_cairn_with_models(work, SETUP.format(features=FEATURES))
        servers.append(server)
        time.sleep(1)
        before = rss_bytes(server.pid)
        model_bytes = 0
        started = time.perf_counter()
        for i in range(args.models):
            d = call(port, "POST", "/api/cairn/v1/deployments",
                     {"name": f"m{i}", "model_uri": "models:/small/1"})["deployment"]
            model_bytes += d["memory_bytes"]
        deploy_seconds = time.perf_counter() - started
        time.sleep(1)
        loaded = rss_bytes(server.pid)
        growth = loaded - before
        print(f"{args.models} deployments in {deploy_seconds:.1f} s: models hold {model_bytes / 1e6:.2f} MB "
              f"({model_bytes // args.models:,} bytes each); resident memory grew {growth / 1e6:.2f} MB "
              f"({growth / model_bytes:.2f}x the models' bytes; target within 1.5x)")

        # Unload/load cycles over the deployments, measured after as many
        # again to warm up (the store's page caches, the allocator's arenas
        # of the worker threads that run the loads fill up, then stay).
        body = json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                       "data": [0.1] * FEATURES}]}).encode()
        warm = rss_bytes(server.pid)
        for c in range(args.cycles):
            post(port, f"/v2/repository/models/m{c % args.models}/unload")
            post(port, f"/v2/repository/models/m{c % args.models}/load")
        time.sleep(1)
        steady = rss_bytes(server.pid)
        print(f"warm-up: {args.cycles:,} unload/load cycles took resident memory from {warm / 1e6:.1f} MB "
              f"to {steady / 1e6:.1f} MB")
        started = time.perf_counter()
        for c in range(args.cycles):
            name = f"m{c % args.models}"
            post(port, f"/v2/repository/models/{name}/unload")
            post(port, f"/v2/repository/models/{name}/load")
        cycle_seconds = time.perf_counter() - started
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/m0/infer", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200
        time.sleep(1)
        after = rss_bytes(server.pid)
        print(f"{args.cycles:,} unload/load cycles in {cycle_seconds:.1f} s: resident memory "
              f"{steady / 1e6:.1f} MB before, {after / 1e6:.1f} MB after "
              f"({(after - steady) / steady * 100:+.2f}%; target under 1% growth)")
        server.terminate()
        server.wait()

        # A budget of a quarter of the models' bytes: every deployment still answers.
        budget_mb = max(1, model_bytes // 4 >> 20)
        log = open(os.path.join(work, "cairn-budget.log"), "wb")
        import subprocess
        from tracking_bench import free_port, wait_health
        port = free_port()
        budgeted = subprocess.Popen([os.path.join(ROOT, "build", "release", "cairn"), "server", "--port", str(port),
                                     "--data-dir", f"{work}/data", "--log-level", "warn",
                                     "--serving-memory-mb", str(budget_mb)], stdout=log, stderr=subprocess.STDOUT)
        servers.append(budgeted)
        wait_health(port)
        latencies = []
        for i in range(args.models):
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/m{i}/infer", data=body, method="POST")
            t = time.perf_counter()
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 200
            latencies.append((time.perf_counter() - t) * 1000)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        evictions = next((line.split()[-1] for line in metrics.splitlines()
                          if line.startswith("cairn_serving_evictions_total")), "0")
        in_use = next((line.split()[-1] for line in metrics.splitlines()
                       if line.startswith("cairn_serving_memory_bytes")), "0")
        latencies.sort()
        print(f"budget {budget_mb} MiB for {model_bytes / 1e6:.1f} MB of models: {args.models} requests, one per "
              f"deployment, all answered; {evictions} evictions; loaded models now {float(in_use) / 1e6:.2f} MB; "
              f"latency p50 {latencies[len(latencies) // 2]:.2f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.2f} ms "
              f"(each loads its model on demand)")
    finally:
        for s in servers:
            if s.poll() is None:
                s.terminate()
                s.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
