"""Rollouts and payload logging (issue 21), on one Cairn server:

  - payload logging at 100% sampling against none, same model, same run:
    throughput at 16 connections (target: at most 10% lower);
  - an alias move: the time from the registry call that moves the alias
    (answered) to the first answer from the new version (target: 50 ms);
  - 100 traffic switches (blue/green weight flips) under load at 16
    connections: failed requests (target: 0).

    /usr/bin/python3 bench/rollout_bench.py [--seconds 6] [--moves 20]

Model: XGBoost regression, 100 trees of depth 6 on 10 features, logged and
registered twice (versions 1 and 2) with the MLflow 3.6 client. Load:
bench/http_load. Needs `scripts/build release`.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from serving_bench import FEATURES, http_load, start_cairn_with_models  # noqa: E402

SETUP = """
import json, mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
X = rng.normal(size=(20000, {features})).astype(np.float32)
for seed in (1, 2):
    y = X @ np.random.default_rng(seed).normal(size={features}) + np.sin(X[:, 0] * 3)
    b = xgb.train({{"max_depth": 6, "nthread": 2}}, xgb.DMatrix(X, label=y), 100)
    with mlflow.start_run():
        mlflow.xgboost.log_model(b, name="model", registered_model_name="bench")
print(json.dumps({{"ok": True}}))
"""


def call(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="rollout-bench-")
    server = None
    try:
        server, port, _ = start_cairn_with_models(work, SETUP.format(features=FEATURES))
        call(port, "POST", "/api/cairn/v1/deployments", {"name": "plain", "model_uri": "models:/bench/1"})
        call(port, "POST", "/api/cairn/v1/deployments",
             {"name": "logged", "model_uri": "models:/bench/1", "log_percent": 100})
        rng = random.Random(7)
        bodies = os.path.join(work, "v2.jsonl")
        rows = []
        with open(bodies, "w") as f:
            for _ in range(2048):
                row = [round(rng.gauss(0, 1), 6) for _ in range(FEATURES)]
                rows.append(row)
                f.write(json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                                "data": row}]}) + "\n")

        # Payload logging: alternate the two deployments, best of two each.
        rates = {"plain": [], "logged": []}
        for _ in range(2):
            for name in ("plain", "logged"):
                r = http_load(port, f"/v2/models/{name}/infer", bodies, 16, args.seconds)
                rates[name].append(r["requests_per_second"])
        plain, logged = max(rates["plain"]), max(rates["logged"])
        payload_files = os.listdir(os.path.join(work, "data", "payloads"))
        logged_bytes = sum(os.path.getsize(os.path.join(work, "data", "payloads", f)) for f in payload_files)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        dropped = next((line.split()[-1] for line in metrics.splitlines()
                        if line.startswith("cairn_serving_payloads_dropped_total")), "0")

        # Alias moves: time from the answered registry call to the first answer of the new version.
        call(port, "POST", "/api/2.0/mlflow/registered-models/alias",
             {"name": "bench", "alias": "champion", "version": "1"})
        call(port, "POST", "/api/cairn/v1/deployments", {"name": "champ", "model_uri": "models:/bench@champion"})
        infer = json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                        "data": rows[0]}]}).encode()

        def served():
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/champ/infer", data=infer,
                                         method="POST", headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())["model_version"]

        delays = []
        for i in range(args.moves):
            target = "2" if i % 2 == 0 else "1"
            call(port, "POST", "/api/2.0/mlflow/registered-models/alias",
                 {"name": "bench", "alias": "champion", "version": target})
            moved = time.perf_counter()
            while served() != target:
                pass
            delays.append((time.perf_counter() - moved) * 1000)

        # 100 blue/green switches while http_load runs.
        call(port, "POST", "/api/cairn/v1/deployments", {"name": "ab", "variants": [
            {"name": "blue", "model_uri": "models:/bench/1", "weight": 100},
            {"name": "green", "model_uri": "models:/bench/2", "weight": 0}]})
        seconds = max(args.seconds, 4)
        load = subprocess.Popen([os.path.join(BUILD, "bench", "http_load"), "--port", str(port), "--path",
                                 "/v2/models/ab/infer", "--bodies", bodies, "--connections", "16",
                                 "--seconds", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(0.5)
        switch_started = time.perf_counter()
        for i in range(100):
            weights = {"blue": 0, "green": 100} if i % 2 == 0 else {"blue": 100, "green": 0}
            call(port, "POST", "/api/cairn/v1/deployments/ab/traffic", {"weights": weights})
        switch_seconds = time.perf_counter() - switch_started
        out, err = load.communicate()
        under_switches = json.loads(out)

        print(f"\npayload logging (16 connections, {args.seconds}s x 2 each, best):")
        print(f"  log_percent 0    {plain:9,.0f} req/s")
        print(f"  log_percent 100  {logged:9,.0f} req/s   {100 * (1 - logged / plain):5.1f}% lower; "
              f"{logged_bytes / 1e6:.1f} MB in {len(payload_files)} file(s), {dropped} dropped")
        print(f"alias moves ({args.moves}): first answer from the new version after "
              f"median {statistics.median(delays):.1f} ms, max {max(delays):.1f} ms")
        print(f"100 blue/green switches in {switch_seconds:.2f}s under 16 connections: "
              f"{under_switches['requests']:,} requests, {under_switches['errors']} failed, "
              f"p99 {under_switches['p99_ms']:.3f} ms")
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
