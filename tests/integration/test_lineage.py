"""Lineage end to end, on SQLite and PostgreSQL: a model logged and registered by the
unmodified MLflow client from a run that read a dataset; /api/cairn/v1/lineage and
`cairn lineage` show the version, its run and experiment, the dataset with its digest,
the logged model (MLflow 3), and a version registered from it downstream.
"""

from __future__ import annotations

import uuid

import requests

from conftest import cairn_cli, run_client

CLIENT = r'''
import json
import numpy as np
import pandas as pd
import mlflow
from sklearn.linear_model import LinearRegression
mlflow.set_experiment(NAME)
df = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0]})
dataset = mlflow.data.from_pandas(df, source="/data/train.parquet", name="train")
with mlflow.start_run(run_name="fit") as run:
    mlflow.log_input(dataset, context="training")
    model = LinearRegression().fit(df[["x"]], df["y"])
    if mlflow.__version__.startswith("2."):
        info = mlflow.sklearn.log_model(model, "model", registered_model_name=NAME)
    else:
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=NAME)
print(json.dumps({"run_id": run.info.run_id, "digest": dataset.digest,
                  "model_id": getattr(info, "model_id", None)}))
'''


def test_lineage_of_a_registered_model(server, mlflow_version):
    name = f"lineage-{uuid.uuid4().hex[:8]}"
    made = run_client(mlflow_version, f"NAME = {name!r}\n" + CLIENT, server.url).json
    api = server.url + "/api/2.0/mlflow"
    requests.post(api + "/registered-models/create", json={"name": name + "-copy"})
    assert requests.post(api + "/model-versions/create",
                         json={"name": name + "-copy", "source": f"models:/{name}/1"}).status_code == 200

    graph = requests.get(server.url + "/api/cairn/v1/lineage", params={"uri": f"models:/{name}/1"}).json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    edges = {(e["from"], e["relation"], e["to"]) for e in graph["edges"]}
    root = f"models:/{name}/1"
    assert graph["root"] == root
    run = f"run:{made['run_id']}"
    assert (run, "produced", root) in edges
    dataset = f"dataset:train@{made['digest']}"
    assert nodes[dataset]["attributes"]["digest"] == made["digest"]
    assert nodes[dataset]["attributes"]["context"] == "training"
    assert (dataset, "read", run) in edges
    assert any(e[0] == run and e[1] == "in" for e in edges), "the run's experiment"
    assert (root, "registered as", f"models:/{name}-copy/1") in edges
    if mlflow_version == "3.6":
        assert (f"logged_model:{made['model_id']}", "registered from", root) in edges

    missing = requests.get(server.url + "/api/cairn/v1/lineage", params={"uri": f"models:/{name}/9"})
    assert missing.status_code == 404
    tree = cairn_cli(server, "lineage", f"models:/{name}/1")
    assert tree.returncode == 0, tree.stderr
    assert f"produced by run fit ({made['run_id']})" in tree.stdout
    assert f"read dataset train, digest {made['digest']}" in tree.stdout
    assert f"downstream: registered as {name}-copy version 1" in tree.stdout

    if mlflow_version == "3.6":
        # From the logged model itself (models:/m-<id>): its run upstream, and
        # a version registered from models:/m-<id> downstream.
        model_uri = f"models:/{made['model_id']}"
        requests.post(api + "/registered-models/create", json={"name": name + "-from-model"})
        assert requests.post(api + "/model-versions/create",
                             json={"name": name + "-from-model", "source": model_uri,
                                   "model_id": made["model_id"]}).status_code == 200
        graph = requests.get(server.url + "/api/cairn/v1/lineage", params={"uri": model_uri}).json()
        edges = {(e["from"], e["relation"], e["to"]) for e in graph["edges"]}
        model_node = f"logged_model:{made['model_id']}"
        assert graph["root"] == model_node, graph
        assert (run, "produced", model_node) in edges
        assert (dataset, "read", run) in edges
        assert (model_node, "registered as", f"models:/{name}-from-model/1") in edges
        tree = cairn_cli(server, "lineage", model_uri)
        assert tree.returncode == 0, tree.stderr
        assert f"produced by run fit ({made['run_id']})" in tree.stdout
    bad = requests.get(server.url + "/api/cairn/v1/lineage", params={"uri": f"runs:/{made['run_id']}/model"})
    assert bad.status_code == 400 and "models:/m-<id>" in bad.json()["message"], bad.text
