"""Promotion policies end to end, on SQLite and PostgreSQL: a policy file with
metric gates and an approval requirement guards Production and the `champion`
alias; the unmodified MLflow clients' transition_model_version_stage and
set_registered_model_alias get PERMISSION_DENIED naming what is missing; a
request approved by another user (over the API and with `cairn promotions`)
lets the same call through; gates compare with the current Production version.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
import requests

from conftest import BINARY, cairn_cli as cairn, run_client

API = "/api/2.0/mlflow"
CAIRN_API = "/api/cairn/v1"
USERS = {"ed": ("editor", "editor-pass-1"), "amy": ("approver", "approver-pass-1"),
         "bob": ("approver", "approver-pass-2"), "ada": ("admin", "admin-pass-1")}
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


def test_a_broken_policy_refuses_rather_than_lets_through_named_relative(governed):
    model = f"broken-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.5, 0.9)])
    (governed.data_dir / "policies" / f"{model}.yaml").write_text("gates:\n  - auc is great\n")
    r = as_user("ed").post(governed.url + API + "/model-versions/transition-stage",
                           json={"name": model, "version": "1", "stage": "Production"})
    assert r.status_code == 403
    assert "policy is broken" in r.json()["message"] and "auc is great" in r.json()["message"]
    assert f"{model}.yaml" in r.json()["message"]
    assert str(governed.data_dir) not in r.json()["message"], "no server paths in messages"
    mv = ok(as_user("ed").get(governed.url + API + "/model-versions/get", params={"name": model, "version": "1"}))
    assert mv["model_version"]["current_stage"] == "None", "nothing changed"


# --- Issue 18: promotion policies must not be walked around -------------------------

def mlflow_post(user, server, path, body):
    return as_user(user).post(server.url + API + path, json=body)


def stage_of(server, model, version):
    return ok(as_user("ed").get(server.url + API + "/model-versions/get",
                                params={"name": model, "version": str(version)}))["model_version"]["current_stage"]


def test_rename_promote_rename_back_is_refused(governed):
    """Policies are keyed by name: rename to an ungoverned name, promote, rename back."""
    model = f"gm-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85)])
    policy(governed, model, approvals=1)
    tmp = model + "-tmp"
    # Holding nothing guarded, a rename carries nothing past a gate.
    ok(mlflow_post("ed", governed, "/registered-models/rename", {"name": model, "new_name": tmp}))
    # Under the ungoverned name, moves are MLflow's (nothing guards them).
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": tmp, "version": "1", "stage": "Production"}))
    ok(mlflow_post("ed", governed, "/registered-models/alias", {"name": tmp, "alias": "champion", "version": "1"}))
    back = mlflow_post("ed", governed, "/registered-models/rename", {"name": tmp, "new_name": model})
    assert back.status_code == 403, back.text
    body = back.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "stage Production (version 1)" in body["message"] and "champion" in body["message"]
    assert f"policy {model}.yaml" in body["message"], body["message"]
    # Nothing changed: the model keeps the ungoverned name, and the governed one holds nothing.
    assert as_user("ed").get(governed.url + API + "/registered-models/get", params={"name": model}).status_code == 404
    assert stage_of(governed, tmp, 1) == "Production"

    # The other direction: a model holding a guarded stage cannot leave its policy by rename.
    held = f"gm-held-{uuid.uuid4().hex[:8]}"
    seed(governed, held, [(0.40, 0.85)])
    policy(governed, held, approvals=0)
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": held, "version": "1", "stage": "Production"}))
    away = mlflow_post("ed", governed, "/registered-models/rename", {"name": held, "new_name": held + "-x"})
    assert away.status_code == 403 and "stage Production" in away.json()["message"], away.text
    assert stage_of(governed, held, 1) == "Production"


def test_rename_under_weaker_rules_does_not_lower_the_bar(governed):
    """Promotions made under another name do not become the baseline when renamed back."""
    model = f"gmb-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85), (1.00, 0.85), (0.90, 0.85)])
    policy(governed, model, approvals=0)
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Production"}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Archived"}))
    tmp = model + "-tmp"
    ok(mlflow_post("ed", governed, "/registered-models/rename", {"name": model, "new_name": tmp}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": tmp, "version": "2", "stage": "Production"}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": tmp, "version": "2", "stage": "Archived"}))
    ok(mlflow_post("ed", governed, "/registered-models/rename", {"name": tmp, "new_name": model}))
    worse = mlflow_post("ed", governed, "/model-versions/transition-stage",
                        {"name": model, "version": "3", "stage": "Production"})
    assert worse.status_code == 403, "v3 (0.90) must still beat v1 (0.40), not v2 (1.00)"
    assert "last promoted 0.4" in worse.json()["message"], worse.text


def test_archiving_the_incumbent_does_not_lower_the_bar(governed):
    model = f"arch-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85), (0.41, 0.90)])
    policy(governed, model, approvals=0)
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Production"}))
    blocked = mlflow_post("ed", governed, "/model-versions/transition-stage",
                          {"name": model, "version": "2", "stage": "Production"})
    assert blocked.status_code == 403
    # Without approvals in the policy, archiving is allowed, but the bar stays.
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Archived"}))
    again = mlflow_post("ed", governed, "/model-versions/transition-stage",
                        {"name": model, "version": "2", "stage": "Production"})
    assert again.status_code == 403, again.text
    assert again.json()["error_code"] == "PERMISSION_DENIED"
    assert "rmse 0.41 > 0.95 x last promoted 0.4 = 0.38" in again.json()["message"]
    assert stage_of(governed, model, 2) == "None"


def test_renaming_the_model_away_does_not_lower_the_bar(governed):
    """Review finding: archive the incumbent, rename the model away, register a worse
    version under the old name in a new model: its gate found no incumbent."""
    model = f"recr-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85)])
    policy(governed, model, approvals=0)
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Production"}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Archived"}))
    ok(mlflow_post("ed", governed, "/registered-models/rename",
                   {"name": model, "new_name": model + "-old"}))
    seed(governed, model, [(0.41, 0.90)])
    again = mlflow_post("ed", governed, "/model-versions/transition-stage",
                        {"name": model, "version": "1", "stage": "Production"})
    assert again.status_code == 403, again.text
    assert "last promoted 0.4" in again.json()["message"], again.text
    assert stage_of(governed, model, 1) == "None"


def test_a_version_is_judged_by_the_run_that_made_its_files(governed):
    """Review finding: a version from a weak run, registered with the run_id of a strong
    one, passed the gates on the strong run's metrics."""
    model = f"judge-{uuid.uuid4().hex[:8]}"
    ed = as_user("ed")
    url = governed.url + API
    eid = ok(ed.post(url + "/experiments/create", json={"name": f"gov-{uuid.uuid4().hex}"}))["experiment_id"]
    ok(ed.post(url + "/registered-models/create", json={"name": model}))
    weak, strong = (ok(ed.post(url + "/runs/create", json={"experiment_id": eid}))["run"]["info"]
                    for _ in range(2))
    for source in (f"runs:/{weak['run_id']}/model", weak["artifact_uri"] + "/model"):
        r = ed.post(url + "/model-versions/create",
                    json={"name": model, "source": source, "run_id": strong["run_id"]})
        assert r.status_code == 400 and "is not the run" in r.json()["message"], (source, r.text)
    # Another spelling of the same files is refused too (the checks match locations).
    r = ed.post(url + "/model-versions/create",
                json={"name": model, "source": f"runs:/{weak['run_id']}/./model"})
    assert r.status_code == 400, r.text
    scheme, rest = weak["artifact_uri"].split(":", 1)
    created = ok(ed.post(url + "/model-versions/create",
                         json={"name": model, "source": scheme.upper() + ":" + rest + "/model"}))
    version = created["model_version"]["version"]
    where = ok(ed.get(url + "/model-versions/get-download-uri",
                      params={"name": model, "version": version}))["artifact_uri"]
    assert where == weak["artifact_uri"] + "/model", where


def test_moving_a_guarded_stage_or_alias_away_needs_approvals(governed):
    model = f"away-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85), (0.30, 0.90)])
    policy(governed, model, approvals=1)
    url = governed.url + CAIRN_API + "/promotions"
    for target in ({"stage": "Production"}, {"alias": "champion"}):
        req = ok(as_user("ed").post(url, json={"name": model, "version": 1, **target}))["promotion"]
        ok(as_user("amy").post(f"{url}/{req['id']}/approve", json={}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Production"}))
    ok(mlflow_post("ed", governed, "/registered-models/alias", {"name": model, "alias": "champion", "version": "1"}))

    archive = mlflow_post("ed", governed, "/model-versions/transition-stage",
                          {"name": model, "version": "1", "stage": "Archived"})
    assert archive.status_code == 403, archive.text
    assert "Moving stage Production away" in archive.json()["message"]
    assert '"remove": true' in archive.json()["message"], "names how to ask"
    unalias = as_user("ed").delete(governed.url + API + "/registered-models/alias",
                                   json={"name": model, "alias": "champion"})
    assert unalias.status_code == 403 and "alias 'champion'" in unalias.json()["message"]
    # Not even an admin deletes the version or model holding them without approvals.
    for path, body in (("/model-versions/delete", {"name": model, "version": "1"}),
                       ("/registered-models/delete", {"name": model})):
        gone = as_user("ada").delete(governed.url + API + path, json=body)
        assert gone.status_code == 403 and gone.json()["error_code"] == "PERMISSION_DENIED", gone.text
    assert stage_of(governed, model, 1) == "Production"
    alias = ok(as_user("ed").get(governed.url + API + "/registered-models/alias",
                                 params={"name": model, "alias": "champion"}))
    assert alias["model_version"]["version"] == "1"

    # A removal request, approved by another user, lets the archive through once.
    req = ok(as_user("ed").post(url, json={"name": model, "version": 1, "stage": "Production",
                                           "remove": True}))["promotion"]
    assert req["target"] == "remove:stage:Production"
    ok(as_user("amy").post(f"{url}/{req['id']}/approve", json={}))
    ok(mlflow_post("ed", governed, "/model-versions/transition-stage",
                   {"name": model, "version": "1", "stage": "Archived"}))
    assert ok(as_user("ed").get(f"{url}/{req['id']}"))["promotion"]["status"] == "applied"


def test_guarded_aliases_match_in_any_case(governed):
    model = f"case-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85)])
    policy(governed, model, approvals=1)
    for spelling in ("CHAMPION", "Champion", "champion"):
        r = mlflow_post("ed", governed, "/registered-models/alias",
                        {"name": model, "alias": spelling, "version": "1"})
        assert r.status_code == 403, f"{spelling}: {r.text}"
        assert "needs 1 approval" in r.json()["message"]
    aliases = ok(as_user("ed").get(governed.url + API + "/registered-models/get",
                                   params={"name": model}))["registered_model"].get("aliases", [])
    assert aliases == []


def test_an_unreadable_policy_refuses(governed):
    model = f"unread-{uuid.uuid4().hex[:8]}"
    seed(governed, model, [(0.40, 0.85)])
    # A policy that exists but cannot be read as a file (root reads anything,
    # so a folder stands in for a file without permissions).
    (governed.data_dir / "policies" / f"{model}.yaml").mkdir()
    r = mlflow_post("ed", governed, "/model-versions/transition-stage",
                    {"name": model, "version": "1", "stage": "Production"})
    assert r.status_code == 403, r.text
    assert f"{model}.yaml: not a regular file" in r.json()["message"]
    assert str(governed.data_dir) not in r.json()["message"]
    assert stage_of(governed, model, 1) == "None"


def test_policies_check_names_every_broken_file(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "good.yaml").write_text(POLICY.format(approvals=1))
    (folder / "bad.yaml").write_text("gates:\n  - auc is great\n")
    (folder / "typo.yml").write_text(POLICY.format(approvals=1))
    (folder / "dir.yaml").mkdir()
    out = subprocess.run([str(BINARY), "policies", "check", "--policies", str(folder)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0, out.stdout
    assert "ok\tgood.yaml" in out.stdout
    assert "bad.yaml line 1, 'gates': gate 'auc is great'" in out.stdout
    assert "typo.yml: never read" in out.stdout
    assert "dir.yaml: not a regular file" in out.stdout
    (folder / "bad.yaml").unlink()
    (folder / "typo.yml").unlink()
    (folder / "dir.yaml").rmdir()
    clean = subprocess.run([str(BINARY), "policies", "check", "--policies", str(folder)],
                           capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def wait_until_denied(session, url, params, timeout=15.0):
    """Grants reach a running server within a bound (5 s): wait for this one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if session.get(url, params=params).status_code == 403:
            return
        time.sleep(0.2)
    pytest.fail(f"grant did not take effect on {url}")


def test_hidden_sources_cannot_be_registered_or_read_through_lineage_and_gates(governed):
    url = governed.url + API
    ada = as_user("ada")
    secret_exp = f"secret-exp-{uuid.uuid4().hex[:8]}"
    eid = ok(ada.post(url + "/experiments/create", json={"name": secret_exp}))["experiment_id"]
    run = ok(ada.post(url + "/runs/create", json={"experiment_id": eid, "run_name": "secret-run-name"}))["run"]["info"]
    ok(ada.post(url + "/runs/log-batch", json={"run_id": run["run_id"], "metrics": [
        {"key": "rmse", "value": 0.777, "timestamp": 1, "step": 0}]}))
    secret_model = f"secretmodel-{uuid.uuid4().hex[:8]}"
    ok(ada.post(url + "/registered-models/create", json={"name": secret_model}))
    ok(ada.post(url + "/model-versions/create",
                json={"name": secret_model, "source": f"runs:/{run['run_id']}/model"}))
    mine = f"mine-{uuid.uuid4().hex[:8]}"
    ok(as_user("ed").post(url + "/registered-models/create", json={"name": mine}))
    # Registered while ed could still read the run; the grant comes after.
    ok(as_user("ed").post(url + "/model-versions/create",
                          json={"name": mine, "source": f"runs:/{run['run_id']}/model"}))
    (governed.data_dir / "policies" / f"{mine}.yaml").write_text("gates:\n  - rmse <= 0.5\n")
    assert cairn(governed, "users", "grant", "ed", "--experiment", eid, "--level", "none").returncode == 0
    assert cairn(governed, "users", "grant", "ed", "--model", secret_model, "--level", "none").returncode == 0
    wait_until_denied(as_user("ed"), url + "/experiments/get", {"experiment_id": eid})
    wait_until_denied(as_user("ed"), url + "/registered-models/get", {"name": secret_model})

    ed = as_user("ed")
    for body in ({"source": f"runs:/{run['run_id']}/model"},
                 {"source": f"models:/{secret_model}/1"},
                 {"source": run["artifact_uri"] + "/model"},
                 {"source": "s3://bucket/model", "run_id": run["run_id"]}):
        r = ed.post(url + "/model-versions/create", json={"name": mine, **body})
        assert r.status_code == 403, f"{body}: {r.status_code} {r.text}"
        assert r.json()["error_code"] == "PERMISSION_DENIED" and "needs read access" in r.json()["message"]
    versions = ok(ed.get(url + "/model-versions/search", params={"filter": f"name = '{mine}'"}))
    assert len(versions.get("model_versions", [])) == 1, "nothing was registered"

    graph = ed.get(governed.url + CAIRN_API + "/lineage", params={"uri": f"models:/{mine}/1"})
    assert graph.status_code == 200, graph.text
    text = graph.text
    assert secret_exp not in text and "secret-run-name" not in text
    nodes = {n["id"]: n for n in graph.json()["nodes"]}
    assert "not readable by you" in nodes[f"run:{run['run_id']}"]["label"]
    assert not any(n["kind"] == "experiment" for n in nodes.values())
    # The admin still sees the whole graph.
    assert secret_exp in ada.get(governed.url + CAIRN_API + "/lineage",
                                 params={"uri": f"models:/{mine}/1"}).text

    gated = ed.post(url + "/model-versions/transition-stage",
                    json={"name": mine, "version": "1", "stage": "Production"})
    assert gated.status_code == 403, gated.text
    assert "0.777" not in gated.json()["message"]
    assert "not readable by you" in gated.json()["message"]


def test_a_version_from_a_run_tracked_elsewhere_fails_its_gates_naming_the_run(governed):
    """MLflow stores runs:/ sources of runs it does not hold; the gates cannot judge such a
    version and say why, instead of passing it or failing without a reason."""
    model = f"remote-{uuid.uuid4().hex[:8]}"
    ed = as_user("ed")
    url = governed.url + API
    ok(ed.post(url + "/registered-models/create", json={"name": model}))
    ok(ed.post(url + "/model-versions/create",
               json={"name": model, "source": "runs:/feedfacefeedface/model", "run_id": "feedfacefeedface"}))
    policy(governed, model, approvals=0)
    r = ed.post(url + "/model-versions/transition-stage",
                json={"name": model, "version": "1", "stage": "Production", "archive_existing_versions": False})
    assert r.status_code == 403, r.text
    assert "feedfacefeedface is not on this server" in r.json()["message"], r.text
