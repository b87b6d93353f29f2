"""Logs a few runs to a Cairn server over MLflow's REST API, the way the MLflow
client does: an experiment, three runs with params, metric curves, a training
dataset and an artifact; then logs the best run's model as an MLflow 3 logged
model (files, a model-linked metric, finalized READY), finds it by searching,
registers it, and promotes it to Production and the `champion` alias under
the promotion policy scripts/demo writes (a worse version is refused), then
prints its lineage. Uses only `requests`, so it runs anywhere; the MLflow
client itself works the same way (MLFLOW_TRACKING_URI=http://127.0.0.1:5000).

    python3 examples/track_runs.py [http://127.0.0.1:5000]
"""
import math
import sys
import time

import requests

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
api = base + "/api/2.0/mlflow"
session = requests.Session()


def call(method, path, **kwargs):
    response = session.request(method, api + path, timeout=30, **kwargs)
    if response.status_code != 200:
        raise SystemExit(f"{method} {path} failed: {response.status_code} {response.text}")
    return response.json()


name = "cairn-example"
got = session.get(api + "/experiments/get-by-name", params={"experiment_name": name}, timeout=30)
if got.status_code == 200:
    experiment_id = got.json()["experiment"]["experiment_id"]
else:
    experiment_id = call("POST", "/experiments/create", json={"name": name})["experiment_id"]

now = int(time.time() * 1000)
for i, lr in enumerate([0.3, 0.1, 0.03]):
    run = call("POST", "/runs/create", json={
        "experiment_id": experiment_id, "run_name": f"lr-{lr}", "start_time": now,
        "tags": [{"key": "example", "value": "track_runs"}]})["run"]
    run_id = run["info"]["run_id"]
    metrics = [{"key": "loss", "value": math.exp(-lr * step) + 0.01 * i, "timestamp": now + step,
                "step": step} for step in range(100)]
    call("POST", "/runs/log-batch", json={
        "run_id": run_id, "metrics": metrics,
        "params": [{"key": "learning_rate", "value": str(lr)}, {"key": "epochs", "value": "100"}]})
    # Artifacts go through the proxied artifact endpoint under the run's artifact_uri.
    artifact_root = run["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    report = f"learning rate {lr}: final loss {metrics[-1]['value']:.3g}\n"
    put = session.put(f"{base}/api/2.0/mlflow-artifacts/artifacts/{artifact_root}/report.txt",
                      data=report.encode(), timeout=30)
    put.raise_for_status()
    call("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": [{
        "dataset": {"name": "synthetic-curves", "digest": "c0ffee01", "source_type": "code",
                    "source": "examples/track_runs.py"},
        "tags": [{"key": "mlflow.data.context", "value": "training"}]}]})
    call("POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED",
                                       "end_time": now + 100})
    print(f"logged run {run_id} (lr={lr})")

best = call("POST", "/runs/search", json={
    "experiment_ids": [experiment_id], "filter": "params.epochs = '100'",
    "order_by": ["metrics.loss ASC"], "max_results": 1})["runs"][0]
loss = next(m["value"] for m in best["data"]["metrics"] if m["key"] == "loss")
print(f"best run: {best['info']['run_name']} with loss {loss:.3g}")
# The best run's model, as MLflow 3's log_model records it: a logged model
# linked to the run, its files under the model's artifact_uri, a metric that
# measures it, and READY once uploaded.
best_id = best["info"]["run_id"]
model = call("POST", "/logged-models", json={
    "experiment_id": experiment_id, "name": "model", "source_run_id": best_id,
    "params": best["data"]["params"]})["model"]["info"]
model_root = model["artifact_uri"].removeprefix("mlflow-artifacts:/")
put = session.put(f"{base}/api/2.0/mlflow-artifacts/artifacts/{model_root}/weights.txt",
                  data=f"loss {loss:.6g}\n".encode(), timeout=30)
put.raise_for_status()
call("POST", "/runs/outputs",
     json={"run_id": best_id, "models": [{"model_id": model["model_id"], "step": 0}]})
call("POST", "/runs/log-metric", json={"run_id": best_id, "key": "final_loss", "value": loss,
                                       "timestamp": now + 100, "model_id": model["model_id"]})
call("PATCH", f"/logged-models/{model['model_id']}",
     json={"model_id": model["model_id"], "status": "LOGGED_MODEL_READY"})
found = call("POST", "/logged-models/search", json={
    "experiment_ids": [experiment_id], "filter": f"metrics.final_loss <= {loss}",
    "order_by": [{"field_name": "metrics.final_loss", "ascending": True}], "max_results": 1})["models"][0]
print(f"logged model {found['info']['model_id']} ({found['info']['status']}) from run "
      f"{found['info']['source_run_id']}")

# Register the logged model, then promote it. The policy (cairn-data/policies/)
# lets a version into Production only if its run's loss beats Production's.
registered = "cairn-example-model"
created = session.post(api + "/registered-models/create", json={"name": registered}, timeout=30)
if created.status_code != 200 and created.json().get("error_code") != "RESOURCE_ALREADY_EXISTS":
    raise SystemExit(f"registered-models/create failed: {created.text}")
version = call("POST", "/model-versions/create", json={
    "name": registered, "source": f"models:/{model['model_id']}", "model_id": model["model_id"]})
number = version["model_version"]["version"]
print(f"registered {registered} version {number} (run {version['model_version']['run_id']})")
promoted = session.post(api + "/model-versions/transition-stage", timeout=30, json={
    "name": registered, "version": number, "stage": "Production", "archive_existing_versions": True})
if promoted.status_code == 200:
    call("POST", "/registered-models/alias", json={"name": registered, "alias": "champion",
                                                   "version": number})
    print(f"promoted version {number} to Production and alias champion")
else:
    print(f"promotion refused: {promoted.json()['message']}")
# A worse run's model is held back by the policy's gate.
worst = call("POST", "/runs/search", json={
    "experiment_ids": [experiment_id], "order_by": ["metrics.loss DESC"], "max_results": 1})["runs"][0]
worse = call("POST", "/model-versions/create", json={
    "name": registered, "source": worst["info"]["artifact_uri"], "run_id": worst["info"]["run_id"]})
refused = session.post(api + "/model-versions/transition-stage", timeout=30, json={
    "name": registered, "version": worse["model_version"]["version"], "stage": "Production"})
print(f"version {worse['model_version']['version']} (a worse run) to Production: "
      f"{refused.status_code} {refused.json().get('error_code', 'OK')}")
lineage = session.get(f"{base}/api/cairn/v1/lineage",
                      params={"uri": f"models:/{registered}@champion"}, timeout=30).json()
if "nodes" in lineage:
    print("lineage of the champion: " + "; ".join(n["label"] for n in lineage["nodes"]))

print()
print(f"Look at:  {api}/runs/search  (POST {{\"experiment_ids\": [\"{experiment_id}\"]}})")
print(f"          {api}/runs/get?run_id={best['info']['run_id']}")
print(f"          {api}/logged-models/{found['info']['model_id']}")
print(f"          {base}/api/cairn/v1/lineage?uri=models:/{registered}@champion")
print(f"          {base}/metrics  (Prometheus)")
print(f"And:      build/release/cairn lineage models:/{registered}@champion; "
      "build/release/cairn audit verify; build/release/cairn models verify "
      f"models:/{registered}@champion")
print(f"Or point the MLflow client at it: MLFLOW_TRACKING_URI={base}")
