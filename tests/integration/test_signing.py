"""Model signing end to end, on SQLite and PostgreSQL: with a key from `cairn keys
generate`, versions registered by the unmodified MLflow clients are signed; with
--require-signed-models they load while intact, and once a byte of an artifact
changes (or the signature record is edited in the database) loading is refused
and `cairn models verify` names what changed. Unsigned versions are refused too.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

from conftest import _psql, cairn_cli as cairn, run_client

API = "/api/2.0/mlflow"

CLIENT = r'''
import json
import numpy as np
import mlflow
from sklearn.linear_model import LinearRegression
from mlflow.exceptions import MlflowException
mlflow.set_experiment(NAME)
X = np.array([[0.0], [1.0], [2.0]])
model = LinearRegression().fit(X, 2 * X[:, 0] + 1)
with mlflow.start_run():
    if mlflow.__version__.startswith("2."):
        mlflow.sklearn.log_model(model, "model", registered_model_name=NAME)
    else:
        mlflow.sklearn.log_model(model, name="model", registered_model_name=NAME)
out = {}
try:
    out["prediction"] = float(mlflow.pyfunc.load_model(f"models:/{NAME}/1").predict(np.array([[4.0]]))[0])
except MlflowException as e:
    out["error"] = {"code": e.error_code, "message": str(e)}
print(json.dumps(out))
'''

LOAD = r'''
import json
import numpy as np
import mlflow
from mlflow.exceptions import MlflowException
out = {}
try:
    out["prediction"] = float(mlflow.pyfunc.load_model(f"models:/{NAME}/1").predict(np.array([[4.0]]))[0])
except MlflowException as e:
    out["error"] = {"code": e.error_code, "message": str(e)}
print(json.dumps(out))
'''



def test_signed_models_load_until_tampered(server_factory, mlflow_version):
    server = server_factory.new(extra_args=["--require-signed-models"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    assert cairn(server, "keys", "generate").returncode == 0
    key = server.data_dir / "keys" / "signing.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600", "the secret key is private"
    server.start()
    name = f"signed-{uuid.uuid4().hex[:8]}"
    first = run_client(mlflow_version, f"NAME = {name!r}\n" + CLIENT, server.url).json
    assert first.get("prediction") == pytest.approx(9.0), first
    verified = cairn(server, "models", "verify", f"models:/{name}/1")
    assert verified.returncode == 0 and "files match the signature" in verified.stdout, verified.stdout

    # Flip one byte of one artifact of the registered version.
    uri = requests.get(server.url + API + "/model-versions/get-download-uri",
                       params={"name": name, "version": "1"}).json()
    assert "artifact_uri" in uri, uri
    root = server.data_dir / "artifacts" / uri["artifact_uri"].split(":", 1)[1].lstrip("/")
    victim = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(".pkl"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))

    refused = run_client(mlflow_version, f"NAME = {name!r}\n" + LOAD, server.url).json
    assert refused["error"]["code"] == "PERMISSION_DENIED", refused
    assert f"file {victim.relative_to(root)} was modified" in refused["error"]["message"]
    bad = cairn(server, "models", "verify", f"models:/{name}/1")
    assert bad.returncode == 3 and f"{victim.relative_to(root)} was modified" in bad.stdout, bad.stdout


def test_unsigned_and_edited_signatures_are_refused(server_factory):
    server = server_factory.new(extra_args=["--require-signed-models"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.start()  # No key yet: versions register unsigned.
    url = server.url + API
    run = requests.post(url + "/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    art = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts/model"
    assert requests.put(art + "/model.bin", data=b"weights").status_code == 200
    name = f"unsigned-{uuid.uuid4().hex[:8]}"
    requests.post(url + "/registered-models/create", json={"name": name})
    requests.post(url + "/model-versions/create",
                  json={"name": name, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]})
    r = requests.get(url + "/model-versions/get-download-uri", params={"name": name, "version": "1"})
    assert r.status_code == 403 and "not signed" in r.json()["message"]

    assert cairn(server, "keys", "generate").returncode == 0
    signed = cairn(server, "models", "sign", f"models:/{name}/1")
    assert signed.returncode == 0, signed.stderr
    r = requests.get(url + "/model-versions/get-download-uri", params={"name": name, "version": "1"})
    assert r.status_code == 200, r.text

    forged = "UPDATE model_signatures SET digest = '" + "0" * 64 + "'"
    if server.store_uri:
        _psql(server.store_uri, forged)
    else:
        import sqlite3
        with sqlite3.connect(server.data_dir / "metadata.db") as db:
            db.execute(forged)
    r = requests.get(url + "/model-versions/get-download-uri", params={"name": name, "version": "1"})
    assert r.status_code == 403 and "signature record was altered" in r.json()["message"], r.text


def test_proxied_downloads_of_a_signed_version_are_verified(server_factory):
    server = server_factory.new(extra_args=["--require-signed-models"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    assert cairn(server, "keys", "generate").returncode == 0
    server.start()
    url = server.url + API
    run = requests.post(url + "/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    art = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts"
    for path, data in (("model/model.bin", b"weights"), ("model/MLmodel", b"flavors: {}"), ("notes.txt", b"n")):
        assert requests.put(f"{art}/{path}", data=data).status_code == 200
    name = f"proxied-{uuid.uuid4().hex[:8]}"
    requests.post(url + "/registered-models/create", json={"name": name})
    requests.post(url + "/model-versions/create",
                  json={"name": name, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]})
    r = requests.get(f"{art}/model/model.bin")
    assert r.status_code == 200 and r.content == b"weights", r.text

    # A byte changed on disk: that file is refused, naming what changed and the command.
    root = server.data_dir / "artifacts" / "0" / run["run_id"] / "artifacts" / "model"
    (root / "model.bin").write_bytes(b"weightz")
    r = requests.get(f"{art}/model/model.bin")
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text
    message = r.json()["message"]
    assert "file model.bin was modified" in message and f"cairn models verify models:/{name}/1" in message, message
    assert str(server.data_dir) not in message
    # A file slipped in after signing is refused too; intact files and files outside
    # the version are served.
    (root / "extra.py").write_bytes(b"import os")
    r = requests.get(f"{art}/model/extra.py")
    assert r.status_code == 403 and "added after signing" in r.json()["message"], r.text
    assert requests.get(f"{art}/model/MLmodel").content == b"flavors: {}"
    assert requests.get(f"{art}/notes.txt").content == b"n"


def test_proxied_downloads_of_an_unsigned_version_are_refused(server_factory):
    server = server_factory.new(extra_args=["--require-signed-models"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.start()  # No key: the version registers unsigned.
    url = server.url + API
    run = requests.post(url + "/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    art = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts"
    assert requests.put(f"{art}/model/model.bin", data=b"weights").status_code == 200
    name = f"unsigned-proxy-{uuid.uuid4().hex[:8]}"
    requests.post(url + "/registered-models/create", json={"name": name})
    requests.post(url + "/model-versions/create",
                  json={"name": name, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]})
    r = requests.get(f"{art}/model/model.bin")
    assert r.status_code == 403 and "not signed" in r.json()["message"], r.text
    assert "cairn models verify" in r.json()["message"]
