"""python_function models through Cairn's Python workers (issue 21), beside
MLflow 3.6's own scoring server (`mlflow models serve --env-manager local`)
with the same number of worker processes, in one run on the same cores:

  - Cairn's workers answering request by request (target: 2x MLflow);
  - the same with dynamic batching on (target: 5x MLflow);
  - MLflow's scoring server;
  - batching's own targets on these workers: at 64 connections 2x the
    throughput without; at 1 connection p50 at most 5% higher.

    /usr/bin/python3 bench/python_serving_bench.py [--seconds 8] [--connections 16] [--workers 2]

Model: scikit-learn RandomForestRegressor, 100 trees of depth 8 on 10 numeric
features, logged and registered with the MLflow 3.6 client; every server
loads it with MLflow 3.6. Requests: one row each in MLflow's dataframe_split
form to /invocations, the same bodies for every server. Load: bench/http_load.
Needs `scripts/build release` and Debian's uvicorn (scripts/bootstrap).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import tracking_bench as tb  # noqa: E402
from serving_bench import FEATURES, deploy, http_load, start_cairn_with_models, wait_http  # noqa: E402

SETUP = """
import json, mlflow, mlflow.sklearn, numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import RandomForestRegressor
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(5000, {features})), columns=[f"f{{i}}" for i in range({features})])
y = X.values @ rng.normal(size={features}) + np.sin(X.f0 * 3)
rf = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0).fit(X, y)
sig = infer_signature(X[:5], rf.predict(X[:5]))
mlflow.sklearn.save_model(rf, "{work}/model", signature=sig)
with mlflow.start_run():
    mlflow.sklearn.log_model(rf, name="model", signature=sig, registered_model_name="rf")
print(json.dumps({{"ok": True}}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="python-serving-bench-")
    procs = []
    try:
        mlflow_path = os.path.join(tb.CLIENTS, "mlflow-3.6")
        serving_port = tb.free_port()  # /invocations is answered on the serving port
        server, port, env = start_cairn_with_models(
            work, SETUP.format(features=FEATURES, work=work),
            extra_args=["--serving-port", str(serving_port), "--serving-python", "/usr/bin/python3",
                        "--serving-python-path", mlflow_path])
        procs.append(server)
        python = {"workers": args.workers}
        deploy(port, {"name": "plain", "model_uri": "models:/rf/1", "python": python})
        deploy(port, {"name": "batched", "model_uri": "models:/rf/1", "python": python,
                      "batching": {"max_batch_rows": 64, "max_queue_delay_us": 0}})
        rng = random.Random(7)
        bodies = os.path.join(work, "mlflow.jsonl")
        columns = json.dumps([f"f{i}" for i in range(FEATURES)])
        with open(bodies, "w") as f:
            for _ in range(2048):
                row = [round(rng.gauss(0, 1), 6) for _ in range(FEATURES)]
                f.write('{"dataframe_split": {"columns": %s, "data": [%s]}}\n' % (columns, json.dumps(row)))

        results = []

        def measure(label, load_port, path, connections=args.connections):
            print(f"  {label}: {connections} connections, {args.seconds}s ...", flush=True)
            r = http_load(load_port, path, bodies, connections, args.seconds)
            r["label"] = label
            r["connections"] = connections
            results.append(r)
            return r

        plain = measure(f"cairn, {args.workers} python workers", serving_port,
                        "/deployments/plain/invocations")
        batched = measure(f"cairn, {args.workers} python workers, batching", serving_port,
                          "/deployments/batched/invocations")
        # Batching's own targets: 2x at 64 connections, p50 at most 5% higher at 1.
        batching = {}
        for connections in (64, 1):
            for name in ("plain", "batched"):
                batching[(name, connections)] = measure(
                    f"cairn, {args.workers} python workers{', batching' if name == 'batched' else ''}",
                    serving_port, f"/deployments/{name}/invocations", connections)
        server.send_signal(signal.SIGTERM)
        server.wait()

        mlflow_port = tb.free_port()
        mlog = open(os.path.join(work, "mlflow.log"), "wb")
        serve_env = dict(env, PYTHONPATH=mlflow_path + ":" + os.path.join(tb.CLIENTS, "mlflow-3.6-serving"))
        procs.append(subprocess.Popen(["/usr/bin/python3", "-m", "mlflow", "models", "serve", "-m",
                                       os.path.join(work, "model"), "--env-manager", "local", "-p",
                                       str(mlflow_port), "-w", str(args.workers)], cwd=work, stdout=mlog,
                                      stderr=subprocess.STDOUT, env=serve_env, start_new_session=True))
        wait_http(f"http://127.0.0.1:{mlflow_port}/ping")
        mlflow = measure(f"MLflow 3.6 scoring server ({args.workers} workers)", mlflow_port, "/invocations")
        os.killpg(procs[-1].pid, signal.SIGTERM)
        procs[-1].wait()

        print(f"\nsklearn RandomForest (100 trees), 1-row requests, {args.seconds}s each")
        print(f"  {'server':48} {'conn':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>6} {'vs MLflow':>9}")
        for r in results:
            print(f"  {r['label']:48} {r['connections']:4} {r['requests_per_second']:9,.0f} {r['p50_ms']:8.2f} "
                  f"{r['p99_ms']:8.2f} {r.get('failed', 0):6} "
                  f"{r['requests_per_second'] / mlflow['requests_per_second']:8.1f}x")
        print(f"  targets: 2x MLflow without batching ({plain['requests_per_second'] / mlflow['requests_per_second']:.1f}x), "
              f"5x with ({batched['requests_per_second'] / mlflow['requests_per_second']:.1f}x)")
        gain = batching[("batched", 64)]["requests_per_second"] / batching[("plain", 64)]["requests_per_second"]
        rise = batching[("batched", 1)]["p50_ms"] / batching[("plain", 1)]["p50_ms"] - 1
        print(f"  batching at 64 connections: {gain:.1f}x the throughput without (target 2x); "
              f"p50 at 1 connection {rise * 100:+.1f}% (target at most +5%)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
