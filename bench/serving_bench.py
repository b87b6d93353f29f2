"""Model serving (issue 21): one XGBoost model answering 1-row requests over
HTTP keep-alive, Cairn beside a Flask + python3-xgboost server and MLflow
3.6's own scoring server (`mlflow models serve --env-manager local`,
FastAPI/uvicorn), in one run on the same cores.

    /usr/bin/python3 bench/serving_bench.py [--seconds 8] [--connections 16] [--workers 2]

Model: XGBoost regression, 100 trees of depth 6 on 10 numeric features,
trained here, logged and registered with the MLflow 3.6 client in Cairn,
deployed there as models:/bench/1 and served by the peers from the same
model folder. Requests: Cairn and Flask take the same KServe v2 JSON body
(one [1, 10] FP32 tensor); MLflow takes its dataframe_split form. Load:
bench/http_load (one epoll thread) at --connections connections.
Targets: at least 20x Flask's and 10x MLflow's throughput; end-to-end p99
under 1 ms at 16 connections.
Needs `scripts/build release` and Debian's gunicorn and uvicorn (scripts/bootstrap).
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
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
CAIRN = os.path.join(BUILD, "cairn")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import tracking_bench as tb  # noqa: E402  (free_port, wait_health, CLIENTS)

FEATURES = 10


def wait_http(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def start_cairn_with_models(work, setup_script, extra_args=()):
    """Starts `cairn server` in `work` and runs `setup_script` (Python with the
    MLflow 3.6 client pointed at it) to log and register models. Returns the
    server process and its port."""
    port = tb.free_port()
    log = open(os.path.join(work, "cairn.log"), "wb")
    server = subprocess.Popen([CAIRN, "server", "--port", str(port), "--data-dir", f"{work}/data",
                               "--log-level", "warn", *extra_args], stdout=log, stderr=subprocess.STDOUT)
    tb.wait_health(port)
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",
           "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": os.path.join(tb.CLIENTS, "mlflow-3.6"),
           "GIT_PYTHON_REFRESH": "quiet"}
    script = os.path.join(work, "setup.py")
    with open(script, "w") as f:
        f.write(setup_script)
    print("training, logging and registering with the MLflow 3.6 client ...", flush=True)
    subprocess.run(["/usr/bin/python3", script], env=env, check=True, capture_output=True, cwd=work)
    return server, port, env


def deploy(port, spec, timeout=300):
    """POSTs a deployment spec to Cairn and checks it is ready."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/cairn/v1/deployments", method="POST",
                                 data=json.dumps(spec).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        assert json.loads(r.read())["deployment"]["ready"]


def write_v2_bodies(path, count=2048, seed=7):
    """`count` 1-row v2 infer bodies of FEATURES random FP32 values, one per line."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(count):
            row = [round(rng.gauss(0, 1), 6) for _ in range(FEATURES)]
            f.write(json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                            "data": row}]}) + "\n")
    return path


def stop_processes(procs):
    """SIGTERM, then SIGKILL after 10 s, for every process still running."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def http_load(port, path, bodies, connections, seconds):
    out = subprocess.run([os.path.join(BUILD, "bench", "http_load"), "--port", str(port), "--path", path,
                          "--bodies", bodies, "--connections", str(connections), "--seconds", str(seconds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"http_load on {path} failed: {out.stderr[:500]} {out.stdout[:300]}")
    return json.loads(out.stdout)


SETUP = """
import json, mlflow, mlflow.xgboost, numpy as np, xgboost as xgb
from mlflow.models import infer_signature
rng = np.random.default_rng(0)
X = rng.normal(size=(20000, {features})).astype(np.float32)
y = X @ rng.normal(size={features}) + np.sin(X[:, 0] * 3)
b = xgb.train({{"max_depth": 6, "nthread": 2}}, xgb.DMatrix(X, label=y), 100)
sig = infer_signature(X[:5], b.predict(xgb.DMatrix(X[:5])))
mlflow.xgboost.save_model(b, "{work}/model", signature=sig)
with mlflow.start_run():
    mlflow.xgboost.log_model(b, "model", signature=sig, registered_model_name="bench")
print(json.dumps({{"ok": True}}))
"""

FLASK_APP = """
import numpy as np, xgboost as xgb
from flask import Flask, jsonify, request
booster = xgb.Booster()
booster.load_model("{model}")
booster.set_param({{"nthread": 1}})
app = Flask(__name__)

@app.post("/v2/models/bench/infer")
def infer():
    body = request.get_json()
    t = body["inputs"][0]
    x = np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])
    y = booster.inplace_predict(x)
    return jsonify({{"model_name": "bench", "outputs": [
        {{"name": "predict", "datatype": "FP32", "shape": [len(y)], "data": y.tolist()}}]}})

@app.get("/health")
def health():
    return "ok"
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="worker processes for Flask and MLflow")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="serving-bench-")
    procs = []
    try:
        server, port, env = start_cairn_with_models(work, SETUP.format(features=FEATURES, work=work))
        procs.append(server)
        deploy(port, {"name": "bench", "model_uri": "models:/bench/1"})

        rng = random.Random(7)
        v2_bodies = os.path.join(work, "v2.jsonl")
        mlflow_bodies = os.path.join(work, "mlflow.jsonl")
        columns = json.dumps([f"f{i}" for i in range(FEATURES)])
        with open(v2_bodies, "w") as v2, open(mlflow_bodies, "w") as ml:
            for _ in range(2048):
                row = [round(rng.gauss(0, 1), 6) for _ in range(FEATURES)]
                v2.write(json.dumps({"inputs": [{"name": "x", "shape": [1, FEATURES], "datatype": "FP32",
                                                 "data": row}]}) + "\n")
                ml.write('{"dataframe_split": {"columns": %s, "data": [%s]}}\n' % (columns, json.dumps(row)))

        results = []

        def measure(label, load_port, path, bodies, connections):
            print(f"  {label}: {connections} connections, {args.seconds}s ...", flush=True)
            r = http_load(load_port, path, bodies, connections, args.seconds)
            r["label"] = label
            r["connections"] = connections
            results.append(r)

        measure("cairn v2 REST", port, "/v2/models/bench/infer", v2_bodies, args.connections)
        measure("cairn v2 REST", port, "/v2/models/bench/infer", v2_bodies, 1)

        flask_port = tb.free_port()
        with open(os.path.join(work, "flask_app.py"), "w") as f:
            f.write(FLASK_APP.format(model=os.path.join(work, "model", "model.ubj")))
        flog = open(os.path.join(work, "flask.log"), "wb")
        # gthread workers keep connections alive (sync workers close each one).
        procs.append(subprocess.Popen(["/usr/bin/python3", "-m", "gunicorn", "-w", str(args.workers), "-k",
                                       "gthread", "--threads", "8", "-b",
                                       f"127.0.0.1:{flask_port}", "flask_app:app"], cwd=work, stdout=flog,
                                      stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin"}))
        wait_http(f"http://127.0.0.1:{flask_port}/health")
        measure(f"Flask + python3-xgboost (gunicorn, {args.workers} workers x 8 threads)", flask_port,
                "/v2/models/bench/infer", v2_bodies, args.connections)
        procs[-1].send_signal(signal.SIGTERM)
        procs[-1].wait()

        mlflow_port = tb.free_port()
        mlog = open(os.path.join(work, "mlflow.log"), "wb")
        serve_env = dict(env, PYTHONPATH=os.path.join(tb.CLIENTS, "mlflow-3.6") + ":" +
                         os.path.join(tb.CLIENTS, "mlflow-3.6-serving"))
        procs.append(subprocess.Popen(["/usr/bin/python3", "-m", "mlflow", "models", "serve", "-m",
                                       os.path.join(work, "model"), "--env-manager", "local", "-p",
                                       str(mlflow_port), "-w", str(args.workers)], cwd=work, stdout=mlog,
                                      stderr=subprocess.STDOUT, env=serve_env, start_new_session=True))
        wait_http(f"http://127.0.0.1:{mlflow_port}/ping")
        measure(f"MLflow 3.6 scoring server ({args.workers} workers)", mlflow_port, "/invocations",
                mlflow_bodies, args.connections)
        os.killpg(procs[-1].pid, signal.SIGTERM)
        procs[-1].wait()

        cairn = results[0]["requests_per_second"]
        print(f"\n1-row requests, {args.seconds}s each")
        print(f"  {'server':48} {'conn':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cairn is':>9}")
        for r in results:
            ratio = cairn / r["requests_per_second"]
            print(f"  {r['label']:48} {r['connections']:4} {r['requests_per_second']:9,.0f} {r['p50_ms']:8.3f} "
                  f"{r['p99_ms']:8.3f} {ratio:8.1f}x")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
