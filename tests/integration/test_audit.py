"""The audit log end to end, on SQLite and PostgreSQL: changes made over the MLflow
API by an authenticated user (and with `cairn users`) land in the hash-chained log
with who, what and the registered model's state before and after; reads and
refused requests do not; `cairn audit verify` passes, then names the entry after
a row is edited straight in the database.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

import requests

from conftest import _psql, cairn_cli as cairn

API = "/api/2.0/mlflow"



def test_changes_are_recorded_and_tampering_is_named(server_factory):
    server = server_factory.new()
    server.data_dir.mkdir(parents=True, exist_ok=True)
    assert cairn(server, "users", "add", "ada", "--role", "admin", "--password", "ada-pass-1").returncode == 0
    assert cairn(server, "users", "add", "val", "--role", "viewer", "--password", "val-pass-1").returncode == 0
    server.start()
    ada = requests.Session()
    ada.auth = ("ada", "ada-pass-1")
    url = server.url + API
    model = f"audited-{uuid.uuid4().hex[:8]}"
    assert ada.post(url + "/registered-models/create", json={"name": model}).status_code == 200
    assert ada.post(url + "/model-versions/create", json={"name": model, "source": "s3://b/m"}).status_code == 200
    assert ada.post(url + "/model-versions/transition-stage",
                    json={"name": model, "version": "1", "stage": "Production"}).status_code == 200
    assert ada.get(url + "/registered-models/get", params={"name": model}).status_code == 200  # a read
    val = requests.Session()
    val.auth = ("val", "val-pass-1")
    assert val.post(url + "/registered-models/create", json={"name": "nope"}).status_code == 403

    entries = ada.get(server.url + "/api/cairn/v1/audit").json()["entries"]
    actions = [(e["user"].split(":")[0], e["action"].split("/")[-1]) for e in entries]
    assert actions == [("cli", "cairn users add ada --role admin"), ("cli", "cairn users add val --role viewer"),
                       ("ada", "create"), ("ada", "create"), ("ada", "transition-stage")], actions
    assert "ada-pass-1" not in json.dumps(entries), "passwords never reach the audit log"
    transition = entries[4]
    assert transition["target"] == f"registered_model {model}"
    assert json.loads(transition["before"])["versions"][0]["stage"] == "None"
    assert json.loads(transition["after"])["versions"][0]["stage"] == "Production"
    assert transition["prev_hash"] == entries[3]["hash"]
    verified = ada.get(server.url + "/api/cairn/v1/audit/verify").json()
    assert verified["problems"] == [] and verified["entries"] == 5

    server.stop()
    ok = cairn(server, "audit", "verify")
    assert ok.returncode == 0 and "intact: 5 entries" in ok.stdout, ok.stdout + ok.stderr

    tamper = "UPDATE audit_log SET user_name = 'someone-else' WHERE seq = 4"
    if server.store_uri:
        _psql(server.store_uri, tamper)
    else:
        with sqlite3.connect(server.data_dir / "metadata.db") as db:
            db.execute(tamper)
    bad = cairn(server, "audit", "verify")
    assert bad.returncode == 3, bad.stdout + bad.stderr
    assert "entry 4" in bad.stdout and "edited" in bad.stdout, bad.stdout


def test_artifact_uploads_and_deletes_are_recorded(server_factory):
    import hashlib
    server = server_factory.new()
    server.data_dir.mkdir(parents=True, exist_ok=True)
    assert cairn(server, "users", "add", "ada", "--role", "admin", "--password", "ada-pass-1").returncode == 0
    server.start()
    ada = requests.Session()
    ada.auth = ("ada", "ada-pass-1")
    run = ada.post(server.url + API + "/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    path = f"0/{run['run_id']}/artifacts/model/model.pkl"
    art = server.url + "/api/2.0/mlflow-artifacts/artifacts/"
    data = b"weights-v1"
    assert ada.put(art + path, data=data).status_code == 200
    assert ada.get(art + path).status_code == 200  # a read: not recorded
    assert ada.put(art + f"0/{run['run_id']}/artifacts/", data=b"x").status_code == 400  # refused: not recorded
    assert ada.delete(art + path).status_code == 200

    entries = ada.get(server.url + "/api/cairn/v1/audit").json()["entries"]
    changes = [e for e in entries if e["target"].startswith("artifact ")]
    assert [(e["user"], e["action"], e["target"]) for e in changes] == [
        ("ada", "PUT /api/2.0/mlflow-artifacts/artifacts/" + path, "artifact " + path),
        ("ada", "DELETE /api/2.0/mlflow-artifacts/artifacts/" + path, "artifact " + path)], changes
    upload = json.loads(changes[0]["request"])
    assert upload == {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, upload
    assert json.loads(changes[1]["request"]) == {"path": path}
    verified = ada.get(server.url + "/api/cairn/v1/audit/verify").json()
    assert verified["problems"] == [] and verified["entries"] == len(entries), verified


def test_cli_entries_name_the_os_user_even_without_USER(server_factory):
    """`cairn` commands were recorded as `cli:unknown` when $USER was unset (cron, systemd,
    containers): the entry names the account of the process's uid, and who ran sudo."""
    import os
    import pwd
    import subprocess

    from conftest import BINARY

    server = server_factory.new()
    server.data_dir.mkdir(parents=True, exist_ok=True)
    base = [str(BINARY), "--data-dir", str(server.data_dir)] + (["--store", server.store_uri] if server.store_uri else [])
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "SUDO_USER")}

    def run(args, extra_env):
        cmd = [str(BINARY), *args, *base[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**env, **extra_env})
        assert out.returncode == 0, out.stderr
        return out.stdout

    run(["users", "add", "ada", "--role", "admin", "--password", "ada-pass-1"], {})
    run(["users", "add", "bob", "--role", "viewer", "--password", "bob-pass-1"], {"SUDO_USER": "alice"})
    run(["users", "add", "eve", "--role", "viewer", "--password", "eve-pass-1"], {"USER": "someone-else"})
    listing = run(["audit", "list"], {})
    users = [line.split("\t")[2] for line in listing.splitlines() if "cairn users add" in line]
    me = pwd.getpwuid(os.geteuid()).pw_name
    expected_sudo = f"cli:{me} (sudo from alice)" if me != "alice" else f"cli:{me}"
    assert users == [f"cli:{me}", expected_sudo, f"cli:{me}"], listing
    assert "cli:unknown" not in listing
