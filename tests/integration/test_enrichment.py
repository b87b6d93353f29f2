"""Feature enrichment in process (issue 21): a deployment with a feature
service takes entity keys and request fields, reads the online store and
computes on-demand features itself, and answers exactly what the two-hop
path (Feast's /get-online-features, then infer with the assembled columns)
answers; missing features fail naming the feature and the entity, or take
the deployment's defaults; bad references are refused at deploy time.
"""
import json
import math
import time
import uuid

import pytest
import requests

from conftest import cairn_cli, run_client
from test_rollouts import deploy, status
from test_serving import serving_url

pytestmark = pytest.mark.usefixtures("backend")

DEFINITIONS = """
entities:
  - {name: driver, join_keys: [driver_id], value_type: Int64}
sources:
  - name: stats_src
    path: data/stats.csv
    timestamp_field: event_timestamp
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 0
    source: stats_src
    schema: [{name: conv_rate, type: Float64}, {name: trips, type: Int64}]
on_demand_feature_views:
  - name: derived
    sources: [driver_stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: trips_plus, type: Float64, expression: trips + bonus}
feature_services:
  - name: eta_inputs
    features:
      - {view: driver_stats, features: [conv_rate, trips]}
      - {view: derived, features: [trips_plus]}
"""

STATS = """driver_id,event_timestamp,conv_rate,trips
1001,2026-01-01 10:00:00,0.5,10
1001,2026-01-01 11:00:00,0.75,11
1002,2026-01-01 09:00:00,0.25,3
"""

COLUMNS = ["conv_rate", "trips", "trips_plus", "bonus"]

LOG_MODEL = """
import json, mlflow, mlflow.xgboost, numpy as np, pandas as pd, xgboost as xgb
from mlflow.models import infer_signature
rng = np.random.default_rng(4)
X = pd.DataFrame(rng.normal(size=(400, 4)) * [0.3, 5, 5, 1] + [0.5, 8, 9, 1],
                 columns=["conv_rate", "trips", "trips_plus", "bonus"])
y = X.conv_rate * 10 + X.trips_plus * 0.3 - X.bonus + rng.normal(size=400) * 0.1
b = xgb.train({"max_depth": 4}, xgb.DMatrix(X, label=y), 20)
with mlflow.start_run():
    mlflow.xgboost.log_model(b, "model", signature=infer_signature(X, b.predict(xgb.DMatrix(X))),
                             registered_model_name="eta")
print(json.dumps({"ok": True}))
"""


@pytest.fixture
def enriched(server_factory, tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "cairn_features.yaml").write_text(f"project: en{uuid.uuid4().hex[:8]}\n")
    (repo / "defs.yaml").write_text(DEFINITIONS)
    (repo / "data" / "stats.csv").write_text(STATS)
    server = server_factory.new(extra_args=["--serving-port", "0"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    applied = cairn_cli(server, "features", "apply", "--repo", str(repo))
    assert applied.returncode == 0, applied.stderr
    done = cairn_cli(server, "features", "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00")
    assert done.returncode == 0, done.stderr
    server.start()
    run_client("2.12", LOG_MODEL, server.url)
    deploy(server, {"name": "eta", "model_uri": "models:/eta/1",
                    "features": {"service": "eta_inputs"}})
    deploy(server, {"name": "eta-plain", "model_uri": "models:/eta/1"})
    return server, serving_url(server)


def entity_body(drivers, bonuses):
    return json.dumps({"inputs": [
        {"name": "driver_id", "shape": [len(drivers)], "datatype": "INT64", "data": drivers},
        {"name": "bonus", "shape": [len(bonuses)], "datatype": "FP64", "data": bonuses}]})


def two_hop(server, base, drivers, bonuses):
    """What a client without enrichment does: Feast's API, then infer."""
    r = requests.post(f"{server.url}/get-online-features", timeout=30, json={
        "feature_service": "eta_inputs", "entities": {"driver_id": drivers, "bonus": bonuses}})
    assert r.status_code == 200, r.text
    body = r.json()
    by_name = dict(zip(body["metadata"]["feature_names"], body["results"]))
    rows = [[by_name[c]["values"][i] for c in COLUMNS] for i in range(len(drivers))]
    r = requests.post(f"{base}/v2/models/eta-plain/infer", timeout=30, data=json.dumps({"inputs": [
        {"name": "x", "shape": [len(rows), 4], "datatype": "FP64",
         "data": [v for row in rows for v in row]}]}))
    assert r.status_code == 200, r.text
    return r.json()["outputs"][0]["data"], rows


def test_enriched_answers_equal_the_two_hop_path(enriched):
    server, base = enriched
    assert status(server, "eta")["features"] == {"service": "eta_inputs", "missing": "fail"}
    r = requests.post(f"{base}/v2/models/eta/infer", data=entity_body([1001, 1002], [0.5, 2.0]),
                      timeout=30)
    assert r.status_code == 200, r.text
    expected, rows = two_hop(server, base, [1001, 1002], [0.5, 2.0])
    # The newest record, the on-demand feature and the request field, in the model's order.
    assert rows == [[0.75, 11, 11.5, 0.5], [0.25, 3, 5.0, 2.0]]
    assert r.json()["outputs"][0]["data"] == expected
    # MLflow's scoring protocol, records naming the entity and the request field.
    r = requests.post(f"{base}/deployments/eta/invocations", timeout=30, json={
        "dataframe_records": [{"driver_id": 1001, "bonus": 0.5}, {"driver_id": 1002, "bonus": 2.0}]})
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(got, expected)), (got, expected)


def test_missing_features_fail_naming_them_or_take_the_defaults(enriched):
    server, base = enriched
    r = requests.post(f"{base}/v2/models/eta/infer", data=entity_body([1001, 9999], [0.5, 1.0]),
                      timeout=30)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert "conv_rate" in error and "driver_id=9999" in error and "NOT_FOUND" in error, error
    deploy(server, {"name": "eta", "model_uri": "models:/eta/1", "features": {
        "service": "eta_inputs", "missing": "default", "defaults": {"conv_rate": 0.6}}})
    r = requests.post(f"{base}/v2/models/eta/infer", data=entity_body([9999], [1.0]), timeout=30)
    assert r.status_code == 200, r.text
    # trips and trips_plus have no default: NaN, a missing value to the trees.
    value = r.json()["outputs"][0]["data"][0]
    assert isinstance(value, float) and math.isfinite(value)
    # A request field the on-demand feature needs is named when absent.
    r = requests.post(f"{base}/v2/models/eta/infer", timeout=30, data=json.dumps({"inputs": [
        {"name": "driver_id", "shape": [1], "datatype": "INT64", "data": [1001]}]}))
    assert r.status_code == 400 and "bonus" in r.json()["error"], r.text
    # An entity key given as rows of two values is refused naming the input.
    r = requests.post(f"{base}/v2/models/eta/infer", timeout=30, data=json.dumps({"inputs": [
        {"name": "driver_id", "shape": [1, 2], "datatype": "INT64", "data": [1001, 1002]}]}))
    assert r.status_code == 400 and "driver_id" in r.json()["error"], r.text


def test_bad_enrichment_is_refused_at_deploy_time(enriched):
    server, _ = enriched
    for features, status_code, needle in (
            ({"service": "nope"}, 404, "no feature service named 'nope'"),
            ({"service": "eta_inputs", "missing": "maybe"}, 400, "features.missing"),
            ({}, 400, "features.service is required")):
        r = requests.post(f"{server.url}/api/cairn/v1/deployments", timeout=30, json={
            "name": "bad", "model_uri": "models:/eta/1", "features": features})
        assert r.status_code == status_code, r.text
        assert needle in r.json()["message"], r.text


def test_the_payload_log_holds_the_entity_keys_beside_the_model_s_inputs(enriched):
    server, base = enriched
    deploy(server, {"name": "eta", "model_uri": "models:/eta/1", "log_percent": 100,
                    "features": {"service": "eta_inputs"}})
    r = requests.post(f"{base}/v2/models/eta/infer", data=entity_body([1002], [2.0]),
                      headers={"x-request-id": "enriched-1"}, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.time() + 10
    record = None
    while record is None and time.time() < deadline:
        for f in sorted((server.data_dir / "payloads").glob("payloads-*.jsonl")):
            for line in f.read_text().splitlines():
                if json.loads(line)["request_id"] == "enriched-1":
                    record = json.loads(line)
        time.sleep(0.05)
    assert record is not None
    assert [t["name"] for t in record["inputs"]] == COLUMNS
    assert [t["data"] for t in record["inputs"]] == [[0.25], [3], [5.0], [2.0]]
    assert {t["name"]: t["data"] for t in record["entities"]} == {"driver_id": [1002], "bonus": [2.0]}
