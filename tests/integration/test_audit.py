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
