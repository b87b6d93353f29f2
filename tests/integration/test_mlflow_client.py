"""The unmodified MLflow Python client (2.12 and 3.6) against `cairn server`.

Each area (tracking, artifacts, search, models) is one client script run in a
subprocess per client version: importing MLflow costs seconds, so a script runs
several user flows, each wrapped so that one failing flow does not hide the others.
Every flow returns plain data; the tests below assert on it.
"""

from __future__ import annotations

import pytest

from conftest import run_client


PRELUDE = r'''
import hashlib, json, math, os, sys, tempfile, time, traceback, uuid
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

RESULTS = {}
client = MlflowClient()
UNIQ = uuid.uuid4().hex[:10]
V2 = mlflow.__version__.startswith("2.")


def flow(fn):
    """Runs fn now; records its return value or the exception it raised."""
    try:
        RESULTS[fn.__name__] = {"ok": True, "data": fn()}
    except BaseException as e:  # noqa: BLE001 - report everything to pytest
        RESULTS[fn.__name__] = {"ok": False, "error": f"{type(e).__name__}: {e}",
                                "traceback": traceback.format_exc()}
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
    return fn


def num(x):
    """A float as a JSON-safe string: 'nan', 'inf', '-inf' or repr."""
    return repr(float(x))


def mlflow_error(call):
    try:
        call()
    except MlflowException as e:
        return {"error_code": e.error_code, "message": str(e)}
    return None


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
'''

EPILOGUE = r'''
print(json.dumps(RESULTS, default=str))
'''

TRACKING = r'''
@flow
def set_experiment():
    name = f"it-client-exp-{UNIQ}"
    before = client.get_experiment_by_name(name)
    first = mlflow.set_experiment(name)
    again = mlflow.set_experiment(name)
    by_name = client.get_experiment_by_name(name)
    return {"existed_before": before is not None, "first": first.experiment_id,
            "again": again.experiment_id, "by_name": by_name.experiment_id,
            "name": by_name.name, "lifecycle_stage": by_name.lifecycle_stage,
            "n_experiments_with_name": len(client.search_experiments(
                filter_string=f"name = '{name}'"))}


EXP = mlflow.set_experiment(f"it-client-track-{UNIQ}")


@flow
def run_basics():
    t0 = 1700000000000
    with mlflow.start_run(run_name="basic-run", tags={"team": "vision", "priority": "high"}) as run:
        rid = run.info.run_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"batch_size": 32, "optimizer": "adam"})
        for i in range(5):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i, timestamp=t0 + i * 1000)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.75}, step=7)
        mlflow.set_tag("temp", "to-be-deleted")
        mlflow.set_tag("keep", "yes")
        mlflow.delete_tag("temp")
        during = client.get_run(rid)
    r = client.get_run(rid)
    hist = client.get_metric_history(rid, "loss")
    acc_hist = client.get_metric_history(rid, "acc")
    return {
        "run_id": rid, "experiment_id": r.info.experiment_id, "expected_experiment_id": EXP.experiment_id,
        "run_name": r.info.run_name, "status_during": during.info.status, "status": r.info.status,
        "start_time": r.info.start_time, "end_time": r.info.end_time,
        "artifact_uri": r.info.artifact_uri, "lifecycle_stage": r.info.lifecycle_stage,
        "tags": dict(r.data.tags), "params": dict(r.data.params),
        "metrics": {k: num(v) for k, v in r.data.metrics.items()},
        "loss_history": [[num(m.value), m.step, m.timestamp] for m in hist],
        "acc_history": [[num(m.value), m.step] for m in acc_hist],
    }


@flow
def log_batch_1000():
    run = client.create_run(EXP.experiment_id, run_name="batch-run")
    rid = run.info.run_id
    ts = 1700000000000
    metrics = [Metric(f"m{i % 10}", float(i), ts + i, i // 10) for i in range(1000)]
    client.log_batch(rid, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "v")])
    client.set_terminated(rid)
    r = client.get_run(rid)
    hist = {f"m{k}": [[m.value, m.step, m.timestamp] for m in client.get_metric_history(rid, f"m{k}")]
            for k in range(10)}
    return {"metrics": dict(r.data.metrics), "params": dict(r.data.params),
            "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
            "history": hist}


@flow
def nan_inf():
    with mlflow.start_run(run_name="nan-inf") as run:
        rid = run.info.run_id
        mlflow.log_metric("nan_m", float("nan"), step=0)
        mlflow.log_metric("pinf", float("inf"), step=0)
        mlflow.log_metric("ninf", float("-inf"), step=0)
        mlflow.log_metric("mixed", 1.5, step=0)
        mlflow.log_metric("mixed", float("nan"), step=1)
        mlflow.log_metric("mixed", float("-inf"), step=2)
    r = client.get_run(rid)
    return {"metrics": {k: num(v) for k, v in r.data.metrics.items()},
            "mixed_history": [[num(m.value), m.step] for m in client.get_metric_history(rid, "mixed")]}


@flow
def end_and_terminate():
    run = mlflow.start_run(run_name="ended")
    rid = run.info.run_id
    mlflow.end_run()
    finished = client.get_run(rid)
    other = client.create_run(EXP.experiment_id, run_name="failing")
    before = client.get_run(other.info.run_id)
    client.set_terminated(other.info.run_id, "FAILED")
    failed = client.get_run(other.info.run_id)
    return {"finished_status": finished.info.status, "finished_end_time": finished.info.end_time,
            "finished_start_time": finished.info.start_time,
            "before_status": before.info.status, "before_end_time": before.info.end_time,
            "failed_status": failed.info.status, "failed_end_time": failed.info.end_time}


@flow
def param_conflict():
    with mlflow.start_run(run_name="params") as run:
        rid = run.info.run_id
        mlflow.log_param("alpha", 0.5)
        same = mlflow_error(lambda: mlflow.log_param("alpha", 0.5))
        changed = mlflow_error(lambda: mlflow.log_param("alpha", 0.7))
    return {"same_value_error": same, "changed_value_error": changed,
            "params": dict(client.get_run(rid).data.params)}


@flow
def log_input():
    import pandas as pd
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    ds = mlflow.data.from_pandas(df, source="/tmp/it-data.csv", name="train-ds", targets="y")
    with mlflow.start_run(run_name="with-input") as run:
        rid = run.info.run_id
        mlflow.log_input(ds, context="training")
    r = client.get_run(rid)
    inputs = [{"name": di.dataset.name, "digest": di.dataset.digest,
               "source_type": di.dataset.source_type, "source": di.dataset.source,
               "schema": di.dataset.schema, "profile": di.dataset.profile,
               "tags": {t.key: t.value for t in di.tags}}
              for di in r.inputs.dataset_inputs]
    return {"inputs": inputs, "expected_digest": ds.digest}
'''

ARTIFACTS = r'''
EXP = mlflow.set_experiment(f"it-client-art-{UNIQ}")
SRC = tempfile.mkdtemp()
STATE = {}


@flow
def log_artifacts():
    hello = os.path.join(SRC, "hello.txt")
    with open(hello, "w") as f:
        f.write("hello cairn\n")
    tree = os.path.join(SRC, "tree")
    os.makedirs(os.path.join(tree, "sub", "deeper"))
    files = {"a.txt": b"alpha\n", "sub/b.json": b'{"b": 1}\n', "sub/deeper/c.bin": bytes(range(256)) * 40}
    for rel, content in files.items():
        with open(os.path.join(tree, rel), "wb") as f:
            f.write(content)
    big = os.path.join(SRC, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(5 * 1024 * 1024))
    with mlflow.start_run(run_name="artifacts") as run:
        rid = run.info.run_id
        mlflow.log_artifact(hello)
        mlflow.log_artifact(hello, artifact_path="docs")
        mlflow.log_artifacts(tree, artifact_path="tree")
        mlflow.log_artifact(big, artifact_path="blobs")
    STATE["rid"] = rid
    STATE["tree_sha"] = {rel: hashlib.sha256(c).hexdigest() for rel, c in files.items()}
    STATE["big_sha"] = sha(big)
    return {"run_id": rid, "artifact_uri": client.get_run(rid).info.artifact_uri}


@flow
def list_root():
    return sorted([f.path, f.is_dir, f.file_size] for f in client.list_artifacts(STATE["rid"]))


@flow
def list_subfolder():
    return {"tree": sorted([f.path, f.is_dir, f.file_size] for f in client.list_artifacts(STATE["rid"], "tree")),
            "tree/sub": sorted([f.path, f.is_dir, f.file_size]
                               for f in client.list_artifacts(STATE["rid"], "tree/sub"))}


@flow
def download_big_file():
    dst = tempfile.mkdtemp()
    p = client.download_artifacts(STATE["rid"], "blobs/big.bin", dst)
    return {"sha": sha(p), "expected_sha": STATE["big_sha"], "size": os.path.getsize(p)}


@flow
def download_dir():
    dst = tempfile.mkdtemp()
    p = mlflow.artifacts.download_artifacts(run_id=STATE["rid"], artifact_path="tree", dst_path=dst)
    got = {}
    for root, _dirs, names in os.walk(p):
        for n in names:
            full = os.path.join(root, n)
            got[os.path.relpath(full, p)] = sha(full)
    return {"got": got, "expected": STATE["tree_sha"]}


@flow
def load_text():
    return mlflow.artifacts.load_text(f"runs:/{STATE['rid']}/hello.txt")
'''

SEARCH = r'''
EXP_ID = client.create_experiment(f"it-client-search-{UNIQ}")
SPECS = [  # name, acc (None: not logged), model, team, final status (None: still running)
    ("a", 0.9, "rf", "alpha-1", "FINISHED"),
    ("b", 0.4, "lr", "alpha-2", "FAILED"),
    ("c", 0.7, "rf", "beta", None),
    ("d", None, "lr", "gamma", "FINISHED"),
    ("e", 0.1, "svm", "ALPHA-3", "FINISHED"),
]
IDS = {}
for name, acc, model, team, status in SPECS:
    r = client.create_run(EXP_ID, run_name=name, tags={"team": team})
    IDS[name] = r.info.run_id
    client.log_param(r.info.run_id, "model", model)
    client.log_metric(r.info.run_id, "loss", 1.0, step=0)
    if acc is not None:
        client.log_metric(r.info.run_id, "acc", 0.0, step=0)
        client.log_metric(r.info.run_id, "acc", acc, step=1)  # latest value wins
    if status:
        client.set_terminated(r.info.run_id, status)
NAME_OF = {v: k for k, v in IDS.items()}


def names(runs):
    return [NAME_OF.get(r.info.run_id, r.info.run_id) for r in runs]


@flow
def search_filters():
    q = {
        "metric_lt": "metrics.acc < 0.5",
        "param_eq": "params.model = 'rf'",
        "tag_like": "tags.team LIKE 'alpha%'",
        "tag_ilike": "tags.team ILIKE 'alpha%'",
        "status": "attributes.status = 'FAILED'",
        "running": "attributes.status = 'RUNNING'",
        "run_name": "attributes.run_name = 'c'",
        "run_id_in": f"attributes.run_id IN ('{IDS['a']}', '{IDS['d']}')",
        "and": "metrics.acc > 0.3 AND params.model = 'rf'",
        "backticks": "metrics.`acc` >= 0.7 and tags.`team` != 'beta'",
    }
    return {k: sorted(names(client.search_runs([EXP_ID], f))) for k, f in q.items()}


@flow
def search_order():
    return {"acc_desc": names(client.search_runs([EXP_ID], order_by=["metrics.acc DESC"])),
            "acc_asc": names(client.search_runs([EXP_ID], order_by=["metrics.acc ASC"]))}


@flow
def search_syntax_error():
    return mlflow_error(lambda: client.search_runs([EXP_ID], "metrics.acc >>> 0.5"))


@flow
def search_paging():
    eid = client.create_experiment(f"it-client-paging-{UNIQ}")
    created = [client.create_run(eid, run_name=f"p{i}").info.run_id for i in range(25)]
    pages, seen, token = [], [], None
    while True:
        page = client.search_runs([eid], max_results=10, page_token=token)
        pages.append(len(page))
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token or len(pages) > 10:
            break
    everything = [r.info.run_id for r in client.search_runs([eid], max_results=1000)]
    return {"pages": pages, "seen": seen, "created": created, "everything": everything,
            "last_token": token}


@flow
def search_experiments():
    prefix = f"it-client-se-{UNIQ}"
    ids = [client.create_experiment(f"{prefix}-{i}") for i in range(3)]
    client.delete_experiment(ids[1])
    f = f"name LIKE '{prefix}%'"
    def n(exps):
        return sorted(e.name[len(prefix) + 1:] for e in exps)
    return {"active": n(client.search_experiments(filter_string=f)),
            "deleted": n(client.search_experiments(filter_string=f, view_type=ViewType.DELETED_ONLY)),
            "all": n(client.search_experiments(filter_string=f, view_type=ViewType.ALL)),
            "ordered": [e.name[len(prefix) + 1:] for e in client.search_experiments(
                filter_string=f, view_type=ViewType.ALL, order_by=["name DESC"])],
            "default_present": any(e.experiment_id == "0" and e.name == "Default"
                                   for e in client.search_experiments(max_results=50000))}


@flow
def experiment_lifecycle():
    old, new = f"it-client-ren-{UNIQ}", f"it-client-renamed-{UNIQ}"
    eid = client.create_experiment(old, tags={"k": "v"})
    duplicate = mlflow_error(lambda: client.create_experiment(old))
    client.rename_experiment(eid, new)
    renamed = client.get_experiment(eid)
    old_lookup = client.get_experiment_by_name(old)
    client.delete_experiment(eid)
    deleted = client.get_experiment(eid)
    client.restore_experiment(eid)
    restored = client.get_experiment(eid)
    return {"duplicate_error": duplicate, "renamed_name": renamed.name,
            "old_name_found": old_lookup is not None, "tags": dict(renamed.tags),
            "deleted_stage": deleted.lifecycle_stage, "restored_stage": restored.lifecycle_stage}


@flow
def run_lifecycle():
    eid = client.create_experiment(f"it-client-runlife-{UNIQ}")
    rid = client.create_run(eid, run_name="doomed").info.run_id
    client.delete_run(rid)
    deleted = client.get_run(rid)
    active_ids = [r.info.run_id for r in client.search_runs([eid])]
    deleted_ids = [r.info.run_id for r in client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)]
    client.restore_run(rid)
    restored = client.get_run(rid)
    active_after = [r.info.run_id for r in client.search_runs([eid])]
    return {"run_id": rid, "deleted_stage": deleted.info.lifecycle_stage, "active_ids": active_ids,
            "deleted_ids": deleted_ids, "restored_stage": restored.info.lifecycle_stage,
            "active_after": active_after}
'''

MODELS = r'''
import numpy as np
from sklearn.linear_model import LinearRegression

EXP = mlflow.set_experiment(f"it-client-models-{UNIQ}")


@flow
def sklearn_model():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = 2.0 * X[:, 0] + 1.0
    model = LinearRegression().fit(X, y)
    with mlflow.start_run(run_name="model-run") as run:
        rid = run.info.run_id
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25)
        if V2:
            info = mlflow.sklearn.log_model(model, "model")
        else:
            info = mlflow.sklearn.log_model(model, name="model")
    r = client.get_run(rid)
    history = json.loads(r.data.tags.get("mlflow.log-model.history", "[]"))
    loaded = mlflow.pyfunc.load_model(f"runs:/{rid}/model")
    out = {"history": [{"artifact_path": h.get("artifact_path"), "flavors": sorted(h.get("flavors", {})),
                        "run_id": h.get("run_id")} for h in history],
           "run_id": rid, "prediction": [float(v) for v in loaded.predict(np.array([[4.0], [10.0]]))]}
    if not V2:
        # MLflow 3: the model is a LoggedModel of its own.
        lm = mlflow.get_logged_model(info.model_id)
        by_id = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
        found = mlflow.search_logged_models(filter_string="metrics.rmse < 0.5 AND name = 'model'",
                                            output_format="list")
        # A metric logged for the model on a dataset, then a search that
        # counts only that dataset's metrics.
        holdout = mlflow.data.from_numpy(X, name="holdout")
        with mlflow.start_run(run_id=rid):
            mlflow.log_metric("holdout_rmse", 0.125, model_id=info.model_id, dataset=holdout)
        on_holdout = mlflow.search_logged_models(
            filter_string="metrics.holdout_rmse < 0.2", datasets=[{"dataset_name": "holdout"}],
            output_format="list")
        on_other = mlflow.search_logged_models(
            filter_string="metrics.holdout_rmse < 0.2", datasets=[{"dataset_name": "other"}],
            output_format="list")
        out.update({
            "model_id": info.model_id, "status": str(lm.status), "source_run_id": lm.source_run_id,
            "params": lm.params, "metrics": sorted((m.key, m.value) for m in lm.metrics),
            "by_id_prediction": [float(v) for v in by_id.predict(np.array([[4.0]]))],
            "found": [m.model_id for m in found],
            "on_holdout": [m.model_id for m in on_holdout], "on_other": [m.model_id for m in on_other],
            "model_files": sorted(f.path for f in client.list_logged_model_artifacts(info.model_id)),
            "outputs": [o.model_id for o in client.get_run(rid).outputs.model_outputs],
            "files": sorted(f.path for f in client.list_artifacts(rid, "model")),
        })
    return out
'''

REGISTRY = r'''
import numpy as np
from sklearn.linear_model import LinearRegression

EXP = mlflow.set_experiment(f"it-client-registry-{UNIQ}")
NAME = f"reg-{UNIQ}"
X = np.array([[0.0], [1.0], [2.0], [3.0]])


def fit(slope):
    return LinearRegression().fit(X, slope * X[:, 0] + 1.0)


def log(model, registered_model_name=None):
    if V2:
        return mlflow.sklearn.log_model(model, "model", registered_model_name=registered_model_name)
    return mlflow.sklearn.log_model(model, name="model", registered_model_name=registered_model_name)


def predict(uri):
    return [float(v) for v in mlflow.pyfunc.load_model(uri).predict(np.array([[4.0]]))]


def version_dict(v):
    return {"version": str(v.version), "stage": v.current_stage, "run_id": v.run_id,
            "source": v.source, "status": str(v.status), "aliases": sorted(getattr(v, "aliases", []) or [])}


@flow
def register_two_versions():
    with mlflow.start_run() as run:
        info1 = log(fit(2.0), registered_model_name=NAME)  # creates the model and version 1
    rid1 = run.info.run_id
    with mlflow.start_run() as run:
        info2 = log(fit(3.0))
    rid2 = run.info.run_id
    # A second registration: registered-models/create answers RESOURCE_ALREADY_EXISTS, swallowed.
    v2 = mlflow.register_model(info2.model_uri, NAME)
    v1 = client.get_model_version(NAME, "1")
    return {"v1": version_dict(v1), "v2": version_dict(v2), "rid1": rid1, "rid2": rid2,
            "uri2": info2.model_uri, "model_id2": getattr(info2, "model_id", None),
            "download1": client.get_model_version_download_uri(NAME, "1")}


@flow
def aliases_and_loading():
    client.set_registered_model_alias(NAME, "champion", "1")
    by_alias = client.get_model_version_by_alias(NAME, "champion")
    before = predict(f"models:/{NAME}@champion")
    client.set_registered_model_alias(NAME, "champion", "2")  # moves
    after = predict(f"models:/{NAME}@champion")
    rm = client.get_registered_model(NAME)
    client.delete_registered_model_alias(NAME, "champion")
    missing = mlflow_error(lambda: client.get_model_version_by_alias(NAME, "champion"))
    return {"alias_version": str(by_alias.version), "before": before, "after": after,
            "rm_aliases": dict(rm.aliases), "missing": missing,
            "by_number": predict(f"models:/{NAME}/1"), "latest": predict(f"models:/{NAME}/latest")}


@flow
def stages():
    client.transition_model_version_stage(NAME, "1", "Production")
    moved = client.transition_model_version_stage(NAME, "2", "Production", archive_existing_versions=True)
    latest = client.get_latest_versions(NAME, stages=["Production"])
    return {"moved": moved.current_stage, "v1": client.get_model_version(NAME, "1").current_stage,
            "latest": [str(v.version) for v in latest],
            "production_prediction": predict(f"models:/{NAME}/Production")}


@flow
def search():
    other = f"other-{UNIQ}"
    client.create_registered_model(other, tags={"team": "risk"}, description="second")
    found = [m.name for m in mlflow.search_registered_models(filter_string=f"name LIKE '%{UNIQ}'")]
    by_tag = [m.name for m in client.search_registered_models(filter_string="tags.team = 'risk'")]
    everything = [m.name for m in mlflow.search_registered_models()]
    versions = client.search_model_versions(f"name = '{NAME}'")
    ordered = client.search_registered_models(filter_string=f"name LIKE '%{UNIQ}'",
                                              order_by=["name DESC"])
    return {"found": sorted(found), "by_tag": by_tag, "in_plain_search": NAME in everything and other in everything,
            "versions": sorted(str(v.version) for v in versions),
            "ordered": [m.name for m in ordered]}


@flow
def tags_rename_delete():
    client.set_registered_model_tag(NAME, "owner", "ml-team")
    client.set_model_version_tag(NAME, "1", "validated", "true")
    client.update_model_version(NAME, "1", description="first fit")
    client.update_registered_model(NAME, description="slope models")
    rm = client.get_registered_model(NAME)
    v1 = client.get_model_version(NAME, "1")
    renamed = client.rename_registered_model(NAME, NAME + "-renamed")
    after_rename = client.get_model_version(NAME + "-renamed", "2")
    client.delete_model_version(NAME + "-renamed", "1")
    gone = mlflow_error(lambda: client.get_model_version(NAME + "-renamed", "1"))
    duplicate = mlflow_error(lambda: client.create_registered_model(NAME + "-renamed"))
    client.delete_registered_model(NAME + "-renamed")
    unknown = mlflow_error(lambda: client.get_registered_model(NAME + "-renamed"))
    return {"tags": dict(rm.tags), "description": rm.description, "v1_tags": dict(v1.tags),
            "v1_description": v1.description, "renamed": renamed.name if renamed else None,
            "after_rename": str(after_rename.version), "gone": gone, "duplicate": duplicate,
            "unknown": unknown}


@flow
def register_logged_model_by_id():
    if V2:
        return None
    name = f"lm-{UNIQ}"
    with mlflow.start_run() as run:
        info = log(fit(5.0))
    v = mlflow.register_model(f"models:/{info.model_id}", name)
    from_run = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    lm = mlflow.get_logged_model(info.model_id)
    return {"version": version_dict(v), "from_run": version_dict(from_run), "run_id": run.info.run_id,
            "model_id": info.model_id, "prediction": predict(f"models:/{name}/1"),
            "model_versions_tag": json.loads(lm.tags.get("mlflow.modelVersions", "[]"))}
'''

SCRIPTS = {"tracking": TRACKING, "artifacts": ARTIFACTS, "search": SEARCH, "models": MODELS, "registry": REGISTRY}
_CACHE: dict = {}


@pytest.fixture
def flows(server, mlflow_version):
    """flows(area) -> {flow_name: {"ok", "data" | "error", "traceback"}}, run once per server+version."""

    def get(area):
        key = (server.url, mlflow_version, area)
        if key not in _CACHE:
            try:
                _CACHE[key] = ("ok", run_client(mlflow_version, PRELUDE + SCRIPTS[area] + EPILOGUE,
                                                server.url).json)
            except BaseException as e:  # noqa: BLE001 - remember so each test reports it
                _CACHE[key] = ("error", str(e))
        status, value = _CACHE[key]
        if status != "ok":
            pytest.fail(f"the MLflow {mlflow_version} '{area}' client script failed:\n{value}")
        return value

    return get


def flow_data(results: dict, name: str):
    r = results.get(name)
    assert r is not None, f"flow {name!r} did not run (flows: {sorted(results)})"
    if not r["ok"]:
        pytest.fail(f"client flow {name!r} raised {r['error']}\n{r['traceback']}")
    return r["data"]


# ---------------------------------------------------------------------------- tracking


def test_set_experiment_creates_then_reuses(flows):
    d = flow_data(flows("tracking"), "set_experiment")
    assert d["existed_before"] is False
    assert d["first"] == d["again"] == d["by_name"]
    assert d["lifecycle_stage"] == "active"
    assert d["n_experiments_with_name"] == 1


def test_run_name_tags_params_metrics(flows):
    d = flow_data(flows("tracking"), "run_basics")
    assert d["experiment_id"] == d["expected_experiment_id"]
    assert d["run_name"] == "basic-run"
    assert d["tags"]["mlflow.runName"] == "basic-run"
    assert d["tags"]["team"] == "vision" and d["tags"]["priority"] == "high"
    assert d["tags"]["keep"] == "yes"
    assert "temp" not in d["tags"], "delete_tag did not remove the tag"
    assert d["params"] == {"lr": "0.01", "batch_size": "32", "optimizer": "adam"}
    assert d["metrics"] == {"loss": repr(0.2), "acc": repr(0.9), "f1": repr(0.75)}
    assert d["lifecycle_stage"] == "active"
    assert d["artifact_uri"].startswith("mlflow-artifacts:/"), d["artifact_uri"]
    assert d["artifact_uri"].endswith(f"{d['run_id']}/artifacts"), d["artifact_uri"]


def test_metric_history_steps_and_timestamps(flows):
    d = flow_data(flows("tracking"), "run_basics")
    expected = [[repr(1.0 / (i + 1)), i, 1700000000000 + i * 1000] for i in range(5)]
    assert sorted(d["loss_history"], key=lambda m: m[1]) == expected
    assert d["acc_history"] == [[repr(0.9), 7]]


def test_run_status_running_then_finished(flows):
    d = flow_data(flows("tracking"), "run_basics")
    assert d["status_during"] == "RUNNING"
    assert d["status"] == "FINISHED"
    assert d["end_time"] is not None and d["end_time"] >= d["start_time"] > 0


def test_log_batch_1000_metrics(flows):
    d = flow_data(flows("tracking"), "log_batch_1000")
    assert d["params"] == {"p": "1"}
    assert d["tags"] == {"t": "v"}
    assert sorted(d["metrics"]) == [f"m{k}" for k in range(10)]
    for k in range(10):
        hist = sorted(d["history"][f"m{k}"], key=lambda m: m[1])
        assert len(hist) == 100, f"m{k}: {len(hist)} points, expected 100"
        assert hist == [[float(s * 10 + k), s, 1700000000000 + s * 10 + k] for s in range(100)]
        # the latest value is the one with the highest step
        assert d["metrics"][f"m{k}"] == float(990 + k)


def test_nan_and_infinity_round_trip(flows):
    d = flow_data(flows("tracking"), "nan_inf")
    assert d["metrics"]["nan_m"] == "nan"
    assert d["metrics"]["pinf"] == "inf"
    assert d["metrics"]["ninf"] == "-inf"
    assert sorted(d["mixed_history"], key=lambda m: m[1]) == [["1.5", 0], ["nan", 1], ["-inf", 2]]
    assert d["metrics"]["mixed"] == "-inf"


def test_end_run_and_set_terminated(flows):
    d = flow_data(flows("tracking"), "end_and_terminate")
    assert d["finished_status"] == "FINISHED"
    assert d["finished_end_time"] is not None and d["finished_end_time"] >= d["finished_start_time"]
    assert d["before_status"] == "RUNNING" and d["before_end_time"] is None
    assert d["failed_status"] == "FAILED"
    assert d["failed_end_time"] is not None


def test_log_param_same_value_ok_changed_value_rejected(flows):
    d = flow_data(flows("tracking"), "param_conflict")
    assert d["same_value_error"] is None, f"re-logging the same value failed: {d['same_value_error']}"
    assert d["changed_value_error"] is not None, "changing a logged param value did not raise"
    assert d["changed_value_error"]["error_code"] == "INVALID_PARAMETER_VALUE", d["changed_value_error"]
    assert d["params"] == {"alpha": "0.5"}


def test_log_input_pandas_dataset(flows):
    d = flow_data(flows("tracking"), "log_input")
    assert len(d["inputs"]) == 1, d["inputs"]
    inp = d["inputs"][0]
    assert inp["name"] == "train-ds"
    assert inp["digest"] == d["expected_digest"]
    assert inp["source_type"] == "local"
    assert "it-data.csv" in inp["source"]
    assert '"x"' in inp["schema"] and '"y"' in inp["schema"]
    assert inp["tags"].get("mlflow.data.context") == "training"


# --------------------------------------------------------------------------- artifacts


def test_log_artifacts_and_list_root(flows):
    res = flows("artifacts")
    d = flow_data(res, "log_artifacts")
    assert d["artifact_uri"].startswith("mlflow-artifacts:/")
    root = flow_data(res, "list_root")
    by_path = {p: (is_dir, size) for p, is_dir, size in root}
    assert sorted(by_path) == ["blobs", "docs", "hello.txt", "tree"], root
    assert by_path["hello.txt"] == (False, len("hello cairn\n"))
    assert by_path["tree"][0] is True and by_path["blobs"][0] is True and by_path["docs"][0] is True


def test_list_artifacts_subfolder(flows):
    d = flow_data(flows("artifacts"), "list_subfolder")
    assert d["tree"] == [["tree/a.txt", False, 6], ["tree/sub", True, None]]
    assert d["tree/sub"] == [["tree/sub/b.json", False, 9], ["tree/sub/deeper", True, None]]


def test_download_5mb_file_byte_for_byte(flows):
    d = flow_data(flows("artifacts"), "download_big_file")
    assert d["size"] == 5 * 1024 * 1024
    assert d["sha"] == d["expected_sha"]


def test_download_nested_directory(flows):
    d = flow_data(flows("artifacts"), "download_dir")
    assert d["got"] == d["expected"]


def test_load_text_artifact(flows):
    assert flow_data(flows("artifacts"), "load_text") == "hello cairn\n"


# ------------------------------------------------------------------------------ search


def test_search_runs_filters(flows):
    d = flow_data(flows("search"), "search_filters")
    assert d["metric_lt"] == ["b", "e"]
    assert d["param_eq"] == ["a", "c"]
    assert d["tag_like"] == ["a", "b"], "LIKE is case-sensitive in MLflow"
    assert d["tag_ilike"] == ["a", "b", "e"]
    assert d["status"] == ["b"]
    assert d["running"] == ["c"]
    assert d["run_name"] == ["c"]
    assert d["run_id_in"] == ["a", "d"]
    assert d["and"] == ["a", "c"]
    assert d["backticks"] == ["a"]


def test_search_runs_order_by_metric_missing_last(flows):
    d = flow_data(flows("search"), "search_order")
    assert d["acc_desc"] == ["a", "c", "b", "e", "d"]
    assert d["acc_asc"] == ["e", "b", "c", "a", "d"]


def test_search_runs_filter_syntax_error(flows):
    err = flow_data(flows("search"), "search_syntax_error")
    assert err is not None, "an invalid filter did not raise"
    assert err["error_code"] == "INVALID_PARAMETER_VALUE", err


def test_search_runs_paging_25_runs(flows):
    d = flow_data(flows("search"), "search_paging")
    assert d["pages"] == [10, 10, 5]
    assert len(set(d["seen"])) == 25, "pages overlap"
    assert set(d["seen"]) == set(d["created"])
    assert d["seen"] == d["everything"], "paged order differs from the unpaged order"
    assert not d["last_token"]


def test_search_experiments_filter_and_view_type(flows):
    d = flow_data(flows("search"), "search_experiments")
    assert d["active"] == ["0", "2"]
    assert d["deleted"] == ["1"]
    assert d["all"] == ["0", "1", "2"]
    assert d["ordered"] == ["2", "1", "0"]
    assert d["default_present"] is True


def test_rename_delete_restore_experiment(flows):
    d = flow_data(flows("search"), "experiment_lifecycle")
    assert d["duplicate_error"] is not None and d["duplicate_error"]["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert d["renamed_name"].startswith("it-client-renamed-")
    assert d["old_name_found"] is False
    assert d["tags"].get("k") == "v"
    assert d["deleted_stage"] == "deleted"
    assert d["restored_stage"] == "active"


def test_delete_restore_run(flows):
    d = flow_data(flows("search"), "run_lifecycle")
    assert d["deleted_stage"] == "deleted"
    assert d["active_ids"] == []
    assert d["deleted_ids"] == [d["run_id"]]
    assert d["restored_stage"] == "active"
    assert d["active_after"] == [d["run_id"]]


# ------------------------------------------------------------------------------ models


def test_sklearn_log_model_and_pyfunc_load(flows, mlflow_version):
    d = flow_data(flows("models"), "sklearn_model")
    assert d["prediction"] == pytest.approx([9.0, 21.0])
    if mlflow_version != "3.6":
        assert len(d["history"]) == 1, d["history"]
        h = d["history"][0]
        assert h["artifact_path"] == "model"
        assert "sklearn" in h["flavors"] and "python_function" in h["flavors"]
        assert h["run_id"] == d["run_id"]
        return
    # MLflow 3 clients log a LoggedModel: created, linked, uploaded, finalized.
    assert d["history"] == [], "3.x clients keep no mlflow.log-model.history tag"
    assert d["status"].endswith("READY"), d["status"]
    assert d["source_run_id"] == d["run_id"]
    assert d["params"] == {"alpha": "0.5"}
    assert d["metrics"] == [["rmse", 0.25]], "the run's step-0 metrics attach to the model"
    assert d["by_id_prediction"] == pytest.approx([9.0])
    assert d["found"] == [d["model_id"]]
    assert d["on_holdout"] == [d["model_id"]] and d["on_other"] == []
    assert "MLmodel" in d["model_files"], d["model_files"]
    assert d["outputs"] == [d["model_id"]]
    assert "model/MLmodel" in d["files"] and "model/model.pkl" in d["files"]

# ---------------------------------------------------------------------------- registry


def test_register_model_twice_numbers_versions(flows, mlflow_version):
    d = flow_data(flows("registry"), "register_two_versions")
    assert d["v1"]["version"] == "1" and d["v2"]["version"] == "2"
    for v, rid in ((d["v1"], d["rid1"]), (d["v2"], d["rid2"])):
        assert v["status"].endswith("READY")
        assert v["stage"] == "None"
        assert v["run_id"] == rid, "the version links to its run (3.x: derived from the logged model)"
    if mlflow_version == "3.6":
        assert d["v2"]["source"] == f"models:/{d['model_id2']}"
        assert d["download1"].startswith("mlflow-artifacts:/") and "/models/m-" in d["download1"]
    else:
        assert d["v2"]["source"].endswith(f"/{d['rid2']}/artifacts/model")
        assert d["download1"].endswith(f"/{d['rid1']}/artifacts/model")


def test_aliases_move_and_load(flows):
    d = flow_data(flows("registry"), "aliases_and_loading")
    assert d["alias_version"] == "1"
    assert d["before"] == pytest.approx([9.0])   # 2x + 1
    assert d["after"] == pytest.approx([13.0])   # 3x + 1, after the alias moved to v2
    assert d["rm_aliases"] == {"champion": "2"}
    assert d["missing"] is not None
    assert d["by_number"] == pytest.approx([9.0])
    assert d["latest"] == pytest.approx([13.0])


def test_transition_stage_archives_and_loads_by_stage(flows):
    d = flow_data(flows("registry"), "stages")
    assert d["moved"] == "Production"
    assert d["v1"] == "Archived"
    assert d["latest"] == ["2"]
    assert d["production_prediction"] == pytest.approx([13.0])


def test_registry_search(flows):
    d = flow_data(flows("registry"), "search")
    assert len(d["found"]) == 2
    assert any(n.startswith("other-") for n in d["by_tag"])
    assert d["in_plain_search"], "3.6 adds tag.mlflow.prompt.is_prompt != 'true' to every search"
    assert d["versions"] == ["1", "2"]
    assert d["ordered"] == sorted(d["found"], reverse=True)


def test_registry_tags_rename_delete(flows):
    d = flow_data(flows("registry"), "tags_rename_delete")
    assert d["tags"] == {"owner": "ml-team"}
    assert d["description"] == "slope models"
    assert d["v1_tags"] == {"validated": "true"}
    assert d["v1_description"] == "first fit"
    assert d["after_rename"] == "2"
    assert d["gone"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert d["duplicate"]["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert d["unknown"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_register_logged_model_by_id_and_from_run(flows, mlflow_version):
    d = flow_data(flows("registry"), "register_logged_model_by_id")
    if mlflow_version != "3.6":
        assert d is None
        return
    assert d["version"]["version"] == "1"
    assert d["version"]["run_id"] == d["run_id"]
    assert d["from_run"]["version"] == "2"
    assert d["from_run"]["source"] == f"models:/{d['model_id']}"
    assert d["prediction"] == pytest.approx([21.0])
    assert {str(e["version"]) for e in d["model_versions_tag"]} >= {"1", "2"}
