"""Serving, from the feature store's training set to a canary rollout.

Trains two small XGBoost models on the point-in-time training set the demo
built (cairn-data/training_set.csv: driver features and a label), logs and
registers them as `driver-conversion` (predicting trip_completed) versions 1 and 2, points the alias
`champion` at version 1 and deploys the alias with feature enrichment (the
feature service `driver_activity`: requests carry only driver ids, the
server reads the driver's features from the online store itself), a canary
policy and the payload log on. Then it asks the model over KServe's v2 REST
protocol and MLflow's /invocations, checks the answers against the two-hop
path (Feast's /get-online-features, then python3-xgboost), moves the alias
to version 2 and watches the server roll it out (25% of the traffic, then
all of it) and promote it, and shows the deployment's status and the
payload log.

With MLflow's client importable (the demo puts ../shared/clients/mlflow-3.6
on PYTHONPATH when it is there) the models are logged with
mlflow.xgboost.log_model; otherwise the same MLflow model folders are written
through the tracking server's REST API with `requests`.

Usage: serve_model.py TRACKING_URL SERVING_URL DATA_DIR
"""
import glob
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import requests
import xgboost as xgb

base, serving, data_dir = sys.argv[1], sys.argv[2], sys.argv[3]
api = f"{base}/api/2.0/mlflow"
MODEL = "driver-conversion"
FEATURES = ["conv_rate", "acc_rate", "avg_daily_trips", "reliability"]


def call(method, url, **kwargs):
    r = requests.request(method, url, timeout=60, **kwargs)
    if r.status_code != 200:
        sys.exit(f"{method} {url}: {r.status_code} {r.text}")
    return r.json()


table = pd.read_csv(os.path.join(data_dir, "training_set.csv"))
X = table[FEATURES].astype("float32")
y = table["trip_completed"].astype(int)
print(f"training set: {len(table)} rows, features {FEATURES}")
boosters = [xgb.train({"max_depth": depth, "objective": "binary:logistic", "eta": 0.3},
                      xgb.DMatrix(X, label=y), rounds) for depth, rounds in ((2, 10), (4, 30))]


def log_with_mlflow(booster):
    import mlflow
    import mlflow.xgboost
    from mlflow.models import infer_signature
    mlflow.set_tracking_uri(base)
    mlflow.set_experiment(MODEL)
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", registered_model_name=MODEL,
                                        signature=infer_signature(X, booster.predict(xgb.DMatrix(X))),
                                        input_example=X.head(2))
    return info.registered_model_version


def log_with_rest(booster):
    """The same MLflow model folder, written through the REST API."""
    found = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": MODEL}, timeout=60)
    exp = found.json()["experiment"]["experiment_id"] if found.status_code == 200 else \
        call("POST", f"{api}/experiments/create", json={"name": MODEL})["experiment_id"]
    run = call("POST", f"{api}/runs/create", json={"experiment_id": exp})["run"]["info"]
    folder = f"{base}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run['run_id']}/artifacts/model"
    columns = [{"type": "float", "name": f, "required": True} for f in FEATURES]
    mlmodel = ("flavors:\n  xgboost:\n    data: model.json\n    model_format: json\n"
               "  python_function:\n    loader_module: mlflow.xgboost\n    data: model.json\n"
               f"signature:\n  inputs: '{json.dumps(columns)}'\n"
               "  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1]}}]'\n")
    for name, data in (("model.json", bytes(booster.save_raw("json"))), ("MLmodel", mlmodel.encode())):
        r = requests.put(f"{folder}/{name}", data=data, timeout=60)
        assert r.status_code == 200, r.text
    call("POST", f"{api}/runs/update", json={"run_id": run["run_id"], "status": "FINISHED"})
    if requests.get(f"{api}/registered-models/get", params={"name": MODEL}, timeout=60).status_code != 200:
        call("POST", f"{api}/registered-models/create", json={"name": MODEL})
    return int(call("POST", f"{api}/model-versions/create", json={
        "name": MODEL, "source": f"{run['artifact_uri']}/model", "run_id": run["run_id"]})["model_version"]["version"])


try:
    import mlflow  # noqa: F401
    log = log_with_mlflow
    print("logging with MLflow's client", mlflow.__version__)
except ImportError:
    log = log_with_rest
    print("MLflow's client is not importable: writing the MLflow model folders over REST")
versions = [log(b) for b in boosters]
print(f"registered {MODEL} versions {versions}")


def set_champion(version):
    call("POST", f"{api}/registered-models/alias", json={"name": MODEL, "alias": "champion", "version": str(version)})


set_champion(versions[0])
deployment = call("POST", f"{base}/api/cairn/v1/deployments", json={
    "name": MODEL, "follow": f"models:/{MODEL}@champion", "log_percent": 100,
    "features": {"service": "driver_activity", "missing": "default"},
    "rollout": {"steps": [25, 100], "min_samples": 50}})["deployment"]
print(f"deployed {MODEL}: serving {deployment['variants'][0]['model_uri']} ({deployment['platform']}), "
      f"{deployment['memory_bytes']} bytes, features from service driver_activity")

drivers = [1001, 1002, 1003]
# KServe v2 with only the entity key: the server adds the driver's features.
v2 = {"inputs": [{"name": "driver_id", "shape": [len(drivers)], "datatype": "INT64", "data": drivers}]}
s = requests.Session()
answer = s.post(f"{serving}/v2/models/{MODEL}/infer", json=v2, headers={"x-request-id": "demo-1"}, timeout=60)
if answer.status_code != 200:
    sys.exit(f"v2 infer: {answer.status_code} {answer.text}")
print(f"v2 infer, drivers {drivers} -> {answer.json()['outputs'][0]['data']} "
      f"(variant {answer.headers['x-cairn-variant']}, version {answer.json()['model_version']})")
# The two-hop path a client without enrichment takes, for comparison.
online = call("POST", f"{base}/get-online-features",
              json={"feature_service": "driver_activity", "entities": {"driver_id": drivers}})
by_name = dict(zip(online["metadata"]["feature_names"], online["results"]))
rows = pd.DataFrame({f: [np.nan if v is None else v for v in by_name[f]["values"]] for f in FEATURES},
                    dtype="float32")
print(f"two hops (features, then python3-xgboost) -> {boosters[0].predict(xgb.DMatrix(rows)).tolist()}")
mlflow_answer = s.post(f"{serving}/deployments/{MODEL}/invocations",
                       json={"dataframe_records": [{"driver_id": d} for d in drivers]}, timeout=60)
if mlflow_answer.status_code == 200:
    print(f"/invocations -> {mlflow_answer.json()}")
else:
    print(f"/invocations is on the serving port ({mlflow_answer.status_code}); start the server with --serving-port")

print(f"moving alias champion to version {versions[1]}: the server rolls it out as a canary")
set_champion(versions[1])
seen, phase, shown = {}, None, set()
deadline = time.time() + 120
while time.time() < deadline:
    for _ in range(25):
        r = s.post(f"{serving}/v2/models/{MODEL}/infer", json=v2, timeout=60)
        seen[r.json()["model_version"]] = seen.get(r.json()["model_version"], 0) + 1
    status = call("GET", f"{base}/api/cairn/v1/deployments/{MODEL}")["deployment"]
    rollout = status.get("rollout", {})
    state = (rollout.get("phase"), rollout.get("canary_percent"))
    if state not in shown:
        shown.add(state)
        print(f"  rollout {rollout.get('phase')}: " +
              ", ".join(f"{v['name']} {v['model_uri']} weight {v['weight']}" for v in status["variants"]))
    if rollout.get("phase") in ("promoted", "rolled_back"):
        break
print(f"answers by version during the rollout: {seen}")
status = call("GET", f"{base}/api/cairn/v1/deployments/{MODEL}")["deployment"]
print(json.dumps({k: status[k] for k in ("name", "follow", "version", "ready", "rollout")}, indent=2))
for v in status["variants"]:
    print(f"  variant {v['name']}: {v['traffic']}")

time.sleep(0.5)  # the payload log is written off the request path
files = sorted(glob.glob(os.path.join(data_dir, "payloads", "payloads-*.jsonl")))
records = [json.loads(line) for f in files for line in open(f)]
print(f"payload log: {len(records)} records in {len(files)} file(s) under {data_dir}/payloads; the first:")
print(json.dumps(next(r for r in records if r["request_id"] == "demo-1")))
