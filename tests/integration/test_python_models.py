"""python_function models (issue 21) served by Python worker processes: a
sklearn model and a custom pyfunc model logged and registered with MLflow
2.12's client answer over KServe v2, v1 and MLflow's /invocations exactly as
the same model answers in Python; bad input is a 400 naming the problem; a
worker killed under load costs at most 503s naming the cause, never a hang,
and the deployment recovers; batching joins requests for the workers; a
server that was not given --serving-python refuses such models naming it.
"""
import json
import os
import signal
import threading
import time

import pytest
import requests

from conftest import client_dir, run_client
from test_rollouts import deploy, status
from test_serving import serving_url

pytestmark = pytest.mark.usefixtures("backend")

LOG_MODELS = """
import json, mlflow, mlflow.pyfunc, mlflow.sklearn, numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import RandomForestRegressor
rng = np.random.default_rng(3)
X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
y = X.a * 2 - X.c + rng.normal(size=200) * 0.1
rf = RandomForestRegressor(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
rows = X.iloc[:8]
with mlflow.start_run():
    mlflow.sklearn.log_model(rf, "model", signature=infer_signature(X, rf.predict(X)),
                             registered_model_name="rf")

class Labeller(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        total = model_input["a"] + model_input["b"]
        return pd.DataFrame({"label": np.where(total > 0, "up", "down"), "total": total})

with mlflow.start_run():
    mlflow.pyfunc.log_model("model", python_model=Labeller(),
                            signature=infer_signature(X, pd.DataFrame({"label": ["up"], "total": [0.0]})),
                            registered_model_name="labeller")
labels = Labeller().predict(None, rows)
print(json.dumps({"rows": rows.values.tolist(), "rf": rf.predict(rows).tolist(),
                  "labels": labels["label"].tolist(), "totals": labels["total"].tolist()}))
"""


@pytest.fixture
def python_server(server_factory):
    server = server_factory.new(extra_args=[
        "--serving-port", "0", "--serving-python", "/usr/bin/python3",
        "--serving-python-path", str(client_dir("2.12"))]).start()
    logged = run_client("2.12", LOG_MODELS, server.url).json
    return server, serving_url(server), logged


def v2_body(rows):
    return json.dumps({"inputs": [{"name": "x", "shape": [len(rows), 3], "datatype": "FP64",
                                   "data": [v for row in rows for v in row]}]})


def worker_pids(server):
    """Process ids of the server's Python workers (their command line names the model copy)."""
    folder = str(server.data_dir / "serving")
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if folder.encode() in f.read():
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def test_sklearn_and_custom_models_answer_as_they_do_in_python(python_server):
    server, base, logged = python_server
    d = deploy(server, {"name": "rf", "model_uri": "models:/rf/1", "python": {"workers": 2}})
    assert d["ready"] and d["flavor"] == "python_function" and d["platform"] == "cairn_python", d
    assert len(worker_pids(server)) == 2
    rows = logged["rows"]
    r = requests.post(f"{base}/v2/models/rf/infer", data=v2_body(rows), timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["datatype"] == "FP64" and out["shape"] == [8]
    assert out["data"] == logged["rf"]
    # MLflow's scoring conventions, through the signature's columns.
    r = requests.post(f"{base}/deployments/rf/invocations", timeout=60, json={
        "dataframe_split": {"columns": ["a", "b", "c"], "data": rows}})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == logged["rf"]
    r = requests.post(f"{base}/v1/models/rf:predict", json={"instances": rows[:2]}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == logged["rf"][:2]

    deploy(server, {"name": "labeller", "model_uri": "models:/labeller/1"})
    r = requests.post(f"{base}/v2/models/labeller/infer", data=v2_body(rows), timeout=60)
    assert r.status_code == 200, r.text
    outputs = {o["name"]: o for o in r.json()["outputs"]}
    assert outputs["label"]["datatype"] == "BYTES"
    assert outputs["label"]["data"] == logged["labels"]
    assert outputs["total"]["data"] == logged["totals"]


def test_bad_input_is_a_400_naming_it_and_the_workers_keep_serving(python_server):
    server, base, logged = python_server
    deploy(server, {"name": "rf", "model_uri": "models:/rf/1", "python": {"workers": 1}})
    wide = json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                   "data": [1, 2, 3, 4]}]})
    r = requests.post(f"{base}/v2/models/rf/infer", data=wide, timeout=60)
    assert r.status_code == 400, r.text
    assert "ValueError" in r.json()["error"] or "4" in r.json()["error"], r.text
    r = requests.post(f"{base}/deployments/rf/invocations", timeout=60,
                      json={"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}})
    assert r.status_code == 400, r.text
    r = requests.post(f"{base}/v2/models/rf/infer", data=v2_body(logged["rows"][:1]), timeout=60)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == logged["rf"][:1], r.text


def test_a_worker_killed_under_load_costs_503s_never_a_hang_and_recovers(python_server):
    server, base, logged = python_server
    deploy(server, {"name": "rf", "model_uri": "models:/rf/1", "python": {"workers": 2}})
    before = worker_pids(server)
    assert len(before) == 2
    body = v2_body(logged["rows"][:1])
    codes, errors = [], []
    stop = time.time() + 6

    def load():
        s = requests.Session()
        while time.time() < stop:
            try:
                r = s.post(f"{base}/v2/models/rf/infer", data=body, timeout=30)
            except requests.RequestException as e:  # a hang would end here
                errors.append(repr(e))
                return
            codes.append(r.status_code)
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    os.kill(before[0], signal.SIGKILL)
    for t in threads:
        t.join()
    assert codes.count(200) > 20, codes[:50]
    assert set(codes) <= {200, 503}, errors[:5]
    for e in errors:
        assert "python worker" in e and "started again" in e, e
    # Recovered: answers again, with a new worker in place of the killed one.
    r = requests.post(f"{base}/v2/models/rf/infer", data=body, timeout=60)
    assert r.status_code == 200, r.text
    after = worker_pids(server)
    assert before[0] not in after and len(after) == 2, (before, after)


def test_batching_joins_requests_for_the_workers(python_server):
    server, base, logged = python_server
    deploy(server, {"name": "rf", "model_uri": "models:/rf/1", "python": {"workers": 1},
                    "batching": {"max_batch_rows": 32, "max_queue_delay_us": 20000}})
    rows = logged["rows"]
    results = [None] * 16
    barrier = threading.Barrier(16)

    def one(i):
        barrier.wait()
        results[i] = requests.post(f"{base}/v2/models/rf/infer", data=v2_body([rows[i % 8]]),
                                   timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["data"] == [logged["rf"][i % 8]]
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    line = next(x for x in text.splitlines()
                if x.startswith('cairn_serving_batch_rows_count{deployment="rf"'))
    assert float(line.split()[-1]) < 16, line


def test_a_server_without_serving_python_refuses_python_models_naming_the_option(server_factory):
    server = server_factory.new().start()
    run_client("2.12", LOG_MODELS, server.url)
    r = requests.post(f"{server.url}/api/cairn/v1/deployments",
                      json={"name": "rf", "model_uri": "models:/rf/1"}, timeout=60)
    assert r.status_code == 400, r.text
    assert "--serving-python" in r.json()["message"], r.text
    # An interpreter the server does not allow is refused too.
    server.stop()
    server.extra_args += ["--serving-python", "/usr/bin/python3"]
    server.start()
    r = requests.post(f"{server.url}/api/cairn/v1/deployments", timeout=60, json={
        "name": "rf", "model_uri": "models:/rf/1", "python": {"interpreter": "/bin/sh"}})
    assert r.status_code == 400, r.text
    assert "not one this server allows" in r.json()["message"], r.text
