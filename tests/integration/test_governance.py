"""Promotion policies end to end, on SQLite and PostgreSQL: a policy file with
metric gates and an approval requirement guards Production and the `champion`
alias; the unmodified MLflow clients' transition_model_version_stage and
set_registered_model_alias get PERMISSION_DENIED naming what is missing; a
request approved by another user (over the API and with `cairn promotions`)
lets the same call through; gates compare with the current Production version.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from conftest import cairn_cli as cairn, run_client

API = "/api/2.0/mlflow"
CAIRN_API = "/api/cairn/v1"
USERS = {"ed": ("editor", "editor-pass-1"), "amy": ("approver", "approver-pass-1"),
         "bob": ("approver", "approver-pass-2")}
POLICY = """
aliases: [champion]
gates:
  - rmse <= 0.95 * production.rmse
  - auc >= 0.8
approvals: {approvals}
"""



def as_user(name):
    s = requests.Session()
    s.auth = (name, USERS[name][1])
    return s


def ok(resp):
    assert resp.status_code == 200, f"{resp.request.url} -> {resp.status_code}: {resp.text[:500]}"
    return resp.json()


@pytest.fixture(scope="module")
def governed(backend, tmp_path_factory):
    from conftest import ServerFactory
    factory = ServerFactory(backend, tmp_path_factory.mktemp("governed"))
    server = factory.new()
    server.data_dir.mkdir(parents=True, exist_ok=True)
    for name, (role, password) in USERS.items():
        assert cairn(server, "users", "add", name, "--role", role, "--password", password).returncode == 0
    (server.data_dir / "policies").mkdir()
    server.start()
    yield server
    server.stop()
    factory.cleanup()


def seed(server, model, metrics):
    """A registered model with one version per (rmse, auc), each from its own run."""
    ed = as_user("ed")
    url = server.url + API
    eid = ok(ed.post(url + "/experiments/create", json={"name": f"gov-{uuid.uuid4().hex}"}))["experiment_id"]
    ok(ed.post(url + "/registered-models/create", json={"name": model}))
    for rmse, auc in metrics:
        run = ok(ed.post(url + "/runs/create", json={"experiment_id": eid}))["run"]["info"]
        ok(ed.post(url + "/runs/log-batch", json={"run_id": run["run_id"], "metrics": [
            {"key": "rmse", "value": rmse, "timestamp": 1, "step": 0},
            {"key": "auc", "value": auc, "timestamp": 1, "step": 0}]}))
        ok(ed.post(url + "/model-versions/create",
                   json={"name": model, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]}))


def policy(server, model, approvals):
    (server.data_dir / "policies" / f"{model}.yaml").write_text(POLICY.format(approvals=approvals))


CLIENT = r'''
import json, os
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
os.environ.update(CREDENTIALS)
client = MlflowClient()
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except MlflowException as e:
        out[name] = {"error_code": e.error_code, "message": str(e)}
attempt("transition", lambda: client.transition_model_version_stage(MODEL, VERSION, "Production"))
attempt("alias", lambda: client.set_registered_model_alias(MODEL, "champion", VERSION))
print(json.dumps(out))
'''


def client_attempt(server, version, model, mlflow_version):
    script = (f"CREDENTIALS = {{'MLFLOW_TRACKING_USERNAME': 'ed', 'MLFLOW_TRACKING_PASSWORD': '{USERS['ed'][1]}'}}\n"
              f"MODEL = {model!r}\nVERSION = {version!r}\n" + CLIENT)
    return run_client(mlflow_version, script, server.url).json


def test_mlflow_clients_are_gated_until_approved(governed, mlflow_version):
    model = f"gated-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85), (0.41, 0.90), (0.30, 0.88)])
    policy(governed, model, approvals=1)

    blocked = client_attempt(governed, "1", model, mlflow_version)
    for what in ("transition", "alias"):
        assert blocked[what]["error_code"] == "PERMISSION_DENIED", blocked
        assert "needs 1 approval" in blocked[what]["message"]
        assert "cairn promotions request" in blocked[what]["message"]

    url = governed.url + CAIRN_API + "/promotions"
    req = ok(as_user("ed").post(url, json={"name": model, "version": 1, "stage": "Production"}))["promotion"]
    assert req["status"] == "pending" and req["evaluation"]["approvals_needed"] == 1
    own = as_user("ed").post(f"{url}/{req['id']}/approve", json={})
    assert own.status_code == 403, "an editor cannot approve"
    approved = ok(as_user("amy").post(f"{url}/{req['id']}/approve", json={"comment": "auc holds"}))["promotion"]
    assert approved["status"] == "approved"

    done = client_attempt(governed, "1", model, mlflow_version)
    assert done["transition"] == "ok", done
    assert done["alias"]["error_code"] == "PERMISSION_DENIED", "the alias needs its own approval"
    assert ok(as_user("ed").get(f"{url}/{req['id']}"))["promotion"]["status"] == "applied"

    # Version 2 is worse than Production (0.41 > 0.95 x 0.40): approvals do not override gates.
    req2 = ok(as_user("ed").post(url, json={"name": model, "version": 2, "stage": "Production"}))["promotion"]
    ok(as_user("amy").post(f"{url}/{req2['id']}/approve", json={}))
    worse = client_attempt(governed, "2", model, mlflow_version)
    assert worse["transition"]["error_code"] == "PERMISSION_DENIED"
    assert "rmse 0.41 > 0.95 x production 0.4 = 0.38" in worse["transition"]["message"]
    # Version 3 beats it, and is promoted with the CLI's approval.
    out = cairn(governed, "promotions", "request", model, "3", "--stage", "Production",
                "--user", "ed", "--password", USERS["ed"][1])
    assert out.returncode == 0, out.stderr
    request_id = out.stdout.split()[1].rstrip(":")
    denied = cairn(governed, "promotions", "approve", request_id, "--user", "ed", "--password", USERS["ed"][1])
    assert denied.returncode != 0 and "approver" in denied.stderr
    out = cairn(governed, "promotions", "approve", request_id, "--user", "bob", "--password", USERS["bob"][1])
    assert out.returncode == 0 and "approved" in out.stdout, out.stdout + out.stderr
    assert client_attempt(governed, "3", model, mlflow_version)["transition"] == "ok"


def test_rejection_two_approvers_and_ungated_moves(governed):
    model = f"two-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.5, 0.9), (0.5, 0.9)])
    policy(governed, model, approvals=2)
    url = governed.url + CAIRN_API + "/promotions"
    ed = as_user("ed")
    # Staging is not guarded: MLflow's behaviour.
    ok(ed.post(governed.url + API + "/model-versions/transition-stage",
               json={"name": model, "version": "1", "stage": "Staging"}))
    req = ok(ed.post(url, json={"name": model, "version": 1, "alias": "champion"}))["promotion"]
    once = ok(as_user("amy").post(f"{url}/{req['id']}/approve", json={}))["promotion"]
    assert once["status"] == "pending" and once["evaluation"]["approvals"] == 1
    alias = ed.post(governed.url + API + "/registered-models/alias",
                    json={"name": model, "alias": "champion", "version": "1"})
    assert alias.status_code == 403 and "has 1" in alias.json()["message"]
    ok(as_user("bob").post(f"{url}/{req['id']}/approve", json={}))
    ok(ed.post(governed.url + API + "/registered-models/alias",
               json={"name": model, "alias": "champion", "version": "1"}))
    req2 = ok(ed.post(url, json={"name": model, "version": 2, "stage": "Production"}))["promotion"]
    rejected = ok(as_user("amy").post(f"{url}/{req2['id']}/reject", json={"comment": "no"}))["promotion"]
    assert rejected["status"] == "rejected"
    late = as_user("bob").post(f"{url}/{req2['id']}/approve", json={})
    assert late.status_code == 400 and late.json()["error_code"] == "INVALID_STATE"
    # Decisions are audited with who made them.
    entries = cairn(governed, "audit", "list", "--limit", "10000")
    assert entries.returncode == 0
    assert any(line.split("\t")[2] == "amy" and "reject" in line for line in entries.stdout.splitlines())


def test_a_broken_policy_refuses_rather_than_lets_through(governed):
    model = f"broken-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.5, 0.9)])
    (governed.data_dir / "policies" / f"{model}.yaml").write_text("gates:\n  - auc is great\n")
    r = as_user("ed").post(governed.url + API + "/model-versions/transition-stage",
                           json={"name": model, "version": "1", "stage": "Production"})
    assert r.status_code == 403
    assert "policy is broken" in r.json()["message"] and "auc is great" in r.json()["message"]
    mv = ok(as_user("ed").get(governed.url + API + "/model-versions/get", params={"name": model, "version": "1"}))
    assert mv["model_version"]["current_stage"] == "None", "nothing changed"
