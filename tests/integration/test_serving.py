"""Serving (issue 21): models the MLflow clients log and register, deployed
through Cairn's API and answered over KServe's v2 REST protocol.

Predictions are compared with python3-xgboost's on the same model: the
native evaluator must give XGBoost's numbers (float32, bit for bit).
"""
import json
import re
import time
import urllib.error
import urllib.request

import pytest

from conftest import run_client

pytestmark = pytest.mark.usefixtures("backend")

# Logs and registers a binary classifier as `churn`, returns its predictions
# on three rows computed by python3-xgboost (Booster.predict on a DMatrix, as
# MLflow's xgboost flavor predicts).
LOG_MODEL = """
import json, mlflow, mlflow.xgboost, numpy as np, pandas as pd, xgboost as xgb
from mlflow.models import infer_signature
rng = np.random.default_rng({seed})
X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
X.iloc[5, 1] = np.nan
y = ((X.a * 2 - X.c + rng.normal(size=300)) > 0).astype(int)
b = xgb.train({{"max_depth": 4, "objective": "binary:logistic"}}, xgb.DMatrix(X, label=y), 12)
with mlflow.start_run() as run:
    mlflow.xgboost.log_model(b, "model", signature=infer_signature(X, b.predict(xgb.DMatrix(X))),
                             registered_model_name="churn")
rows = X.iloc[3:7]
print(json.dumps({{"rows": [[None if v != v else v for v in r] for r in rows.values.tolist()],
                  "predictions": [float(p) for p in b.predict(xgb.DMatrix(rows))],
                  "run_id": run.info.run_id}}))
"""


def call(method, url, body=None, content_type="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None and content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def serving_url(server):
    """The serving listener's URL from the start-up line (written just after the
    server starts answering /health, so wait for it)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        for line in server.log_path.read_text().splitlines():
            m = re.search(r'"serving_url":"([^"]+)"', line)
            if m:
                return m.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no serving_url in the server log\n{server.log_tail()}")


def f32(x):
    """x rounded to float32, as a Python float."""
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


@pytest.fixture
def serving(server_factory):
    server = server_factory.new(extra_args=["--serving-port", "0"]).start()
    return server, serving_url(server)


@pytest.mark.parametrize("client", ["2.12", "3.6"])
def test_logged_xgboost_model_serves_xgboost_predictions(serving, client):
    server, infer_base = serving
    logged = run_client(client, LOG_MODEL.format(seed=1), server.url).json

    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "churn", "model_uri": "models:/churn/1"})
    assert status == 200, body
    d = body["deployment"]
    assert d["ready"] is True and d["flavor"] == "xgboost" and d["version"] == "1", d

    rows = [[float("nan") if v is None else v for v in r] for r in logged["rows"]]
    request = {"id": "req-7", "inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP64",
                                          "data": [v for r in rows for v in r]}]}
    # NaN in JSON: Python's json writes it bare, as KServe's Python clients send it.
    status, body = call("POST", f"{infer_base}/v2/models/churn/infer", json.dumps(request).encode())
    assert status == 200, body
    assert body["model_name"] == "churn" and body["model_version"] == "1" and body["id"] == "req-7"
    (out,) = body["outputs"]
    assert out["name"] == "predict" and out["datatype"] == "FP32" and out["shape"] == [4]
    # The shortest text of each float32 reads back as exactly XGBoost's float32.
    assert [f32(v) for v in out["data"]] == [f32(p) for p in logged["predictions"]]

    # One tensor per column, by the signature's names (MLServer's pd codec); on the main port too.
    order = ["a", "b", "c"]
    columns = [{"name": n, "shape": [4], "datatype": "FP32", "data": [r[order.index(n)] for r in rows]}
               for n in ["c", "a", "b"]]
    status, body = call("POST", f"{server.url}/v2/models/churn/infer", json.dumps({"inputs": columns}).encode())
    assert status == 200, body
    assert [f32(v) for v in body["outputs"][0]["data"]] == [f32(p) for p in logged["predictions"]]

    status, meta = call("GET", f"{infer_base}/v2/models/churn")
    assert status == 200 and meta["versions"] == ["1"] and meta["inputs"][0]["shape"] == [-1, 3], meta
    assert call("GET", f"{infer_base}/v2/models/churn/versions/1/ready")[0] == 200
    assert call("GET", f"{infer_base}/v2/models/churn/versions/2/ready")[0] == 404


def test_bad_inputs_get_a_400_naming_the_tensor_and_serving_goes_on(serving):
    server, infer_base = serving
    run_client("2.12", LOG_MODEL.format(seed=2), server.url)
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    url = f"{infer_base}/v2/models/churn/infer"
    cases = [
        ({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
         "input 'x': shape [2, 3] holds 6 elements, data has 3"),
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
         "this model takes [N, 3]"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP33", "data": [1, 2, 3]}]},
         "datatype 'FP33' is not one of"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT8", "data": [1, 2, 300]}]},
         "element 2 is 300; expected INT8"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, "two", 3]}]},
         "element 1 is \"two\""),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},
                     {"name": "b", "shape": [1], "datatype": "FP32", "data": [1]}]},
         "leave out 'c'"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES", "data": ["a", "b", "c"]}]},
         "is BYTES; this model takes numbers"),
        ({"inputs": []}, "inputs: a non-empty list"),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],
          "outputs": [{"name": "probabilities"}]}, "requested output 'probabilities'"),
    ]
    for request, expected in cases:
        status, body = call("POST", url, request)
        assert status == 400, (request, body)
        assert expected in body["error"], (expected, body)
    status, body = call("POST", url, b'{"inputs": [', content_type="application/json")
    assert status == 400 and "Malformed JSON" in body["error"], body
    status, body = call("POST", f"{infer_base}/v2/models/nope/infer",
                        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})
    assert status == 404 and "no deployment named 'nope'" in body["error"], body
    # Still serving.
    status, body = call("POST", url, {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                                                  "data": [0.1, 0.2, 0.3]}]})
    assert status == 200, body


def test_a_model_that_cannot_load_is_refused_and_the_previous_one_keeps_serving(serving):
    server, infer_base = serving
    logged = run_client("2.12", LOG_MODEL.format(seed=3), server.url).json
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "churn", "model_uri": "models:/churn/9"})
    assert status == 404, body
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "churn", "model_uri": f"runs:/{logged['run_id']}/not-there"})
    assert status == 404 and "no MLmodel file" in body["message"], body
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "Churn!", "model_uri": "models:/churn/1"})
    assert status == 400 and "deployment name 'Churn!'" in body["message"], body
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "churn", "model_uri": "s3://bucket/model"})
    assert status == 400 and "not a model reference" in body["message"], body
    status, body = call("GET", f"{server.url}/api/cairn/v1/deployments/churn")
    assert status == 200 and body["deployment"]["model_uri"] == "models:/churn/1", body
    status, body = call("POST", f"{infer_base}/v2/models/churn/infer",
                        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0.1, 0.2, 0.3]}]})
    assert status == 200, body


def test_deployments_survive_a_restart_and_follow_runs_uris(serving):
    server, infer_base = serving
    logged = run_client("3.6", LOG_MODEL.format(seed=4), server.url).json
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "by-run", "model_uri": f"runs:/{logged['run_id']}/model"})
    assert status == 200 and body["deployment"]["ready"], body
    server.stop()
    server.start()
    infer_base = serving_url(server)
    status, body = call("GET", f"{server.url}/api/cairn/v1/deployments")
    assert status == 200 and [d["name"] for d in body["deployments"]] == ["by-run"], body
    rows = [[float("nan") if v is None else v for v in r] for r in logged["rows"]]
    status, body = call("POST", f"{infer_base}/v2/models/by-run/infer",
                        json.dumps({"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP64",
                                                "data": rows}]}).encode())
    assert status == 200, body
    assert [f32(v) for v in body["outputs"][0]["data"]] == [f32(p) for p in logged["predictions"]]
    assert call("DELETE", f"{server.url}/api/cairn/v1/deployments/by-run")[0] == 200
    assert call("GET", f"{infer_base}/v2/models/by-run")[0] == 404
    # The changes are in the audit log.
    audit = cairn_audit(server)
    assert "deployment by-run" in audit, audit


def cairn_audit(server):
    from conftest import cairn_cli
    r = cairn_cli(server, "audit", "list")
    return r.stdout + r.stderr


def test_a_deployment_follows_its_alias(serving):
    """The alias moves to a new version: the deployment loads it in the
    background and serves it; moved to a version whose files are broken, the
    previous version keeps serving and the status says why."""
    server, infer_base = serving
    first = run_client("2.12", LOG_MODEL.format(seed=5), server.url).json
    second = run_client("2.12", LOG_MODEL.format(seed=6), server.url).json
    set_alias = f"{server.url}/api/2.0/mlflow/registered-models/alias"
    assert call("POST", set_alias, {"name": "churn", "alias": "champion", "version": "1"})[0] == 200
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "champ", "model_uri": "models:/churn@champion"})
    assert status == 200 and body["deployment"]["version"] == "1", body
    rows = [[float("nan") if v is None else v for v in r] for r in first["rows"]]
    request = json.dumps({"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP64", "data": rows}]}).encode()

    def served():
        status, body = call("POST", f"{infer_base}/v2/models/champ/infer", request)
        assert status == 200, body
        return body["model_version"], [f32(v) for v in body["outputs"][0]["data"]]

    assert served() == ("1", [f32(p) for p in first["predictions"]])
    assert call("POST", set_alias, {"name": "churn", "alias": "champion", "version": "2"})[0] == 200
    deadline = time.time() + 10
    while served()[0] != "2" and time.time() < deadline:
        time.sleep(0.01)
    version, predictions = served()
    assert version == "2"
    # Same rows, the second model's answers (its rows are the first model's rows here).
    rows2 = [[float("nan") if v is None else v for v in r] for r in second["rows"]]
    status, body = call("POST", f"{infer_base}/v2/models/champ/infer", json.dumps(
        {"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP64", "data": rows2}]}).encode())
    assert [f32(v) for v in body["outputs"][0]["data"]] == [f32(p) for p in second["predictions"]]

    # Version 3's model file is broken: the alias moves, version 2 keeps serving.
    third = run_client("2.12", LOG_MODEL.format(seed=7), server.url).json
    model_file = next((server.data_dir / "artifacts").rglob(f"{third['run_id']}/artifacts/model/model.xgb"))
    model_file.write_bytes(b"not a model")
    assert call("POST", set_alias, {"name": "churn", "alias": "champion", "version": "3"})[0] == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        status, body = call("GET", f"{server.url}/api/cairn/v1/deployments/champ")
        if "last_load_error" in body["deployment"]:
            break
        time.sleep(0.01)
    d = body["deployment"]
    assert d["ready"] and d["version"] == "2" and "version 3 did not load" in d["last_load_error"], d
    assert served()[0] == "2"


# MLflow's own scoring client (mlflow.pyfunc.scoring_server.client), unchanged,
# against the serving port's /invocations; compared with python3-xgboost.
SCORING_CLIENT = """
import json, numpy as np, pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
client = ScoringServerClient("127.0.0.1", {port})
rows = pd.DataFrame({rows}, columns=["a", "b", "c"])
out = {{"ping": client.ping() is None}}
out["split"] = np.asarray(client.invoke(rows).get_predictions()).ravel().tolist()
out["records"] = np.asarray(client.invoke(rows[["c", "b", "a"]].to_dict(orient="records")).get_predictions()).ravel().tolist()
print(json.dumps(out))
"""


@pytest.mark.parametrize("client", ["2.12", "3.6"])
def test_mlflow_scoring_protocol_answers_mlflow_s_own_client(serving, client):
    server, infer_base = serving
    logged = run_client(client, LOG_MODEL.format(seed=8), server.url).json
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    port = int(infer_base.rsplit(":", 1)[1])
    rows = [[float("nan") if v is None else v for v in r] for r in logged["rows"]]
    # MLflow's client writes NaN as bare NaN, as Python's json module does.
    out = run_client(client, SCORING_CLIENT.format(port=port, rows=repr(rows).replace("nan", "float('nan')")),
                     server.url).json
    expected = [f32(p) for p in logged["predictions"]]
    # MLflow's server gives float32 predictions as doubles (numpy's tolist); so does Cairn's.
    assert out["split"] == expected and out["records"] == expected, out


def test_mlflow_scoring_protocol_errors_are_mlflow_s(serving):
    server, infer_base = serving
    run_client("2.12", LOG_MODEL.format(seed=9), server.url)
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    url = f"{infer_base}/invocations"
    status, body = call("POST", url, {"data": [[1, 2, 3]]})
    assert status == 400 and body["error_code"] == "BAD_REQUEST", body
    assert "exactly one of the input fields" in body["message"] and "Received dictionary with input fields: ['data']" \
        in body["message"], body
    status, body = call("POST", url, {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}})
    assert status == 400 and "Model is missing inputs ['c']." in body["message"], body
    status, body = call("POST", url, {"dataframe_records": [{"a": 1, "b": 2, "c": 3, "d": 4}]})
    assert status == 200 and len(body["predictions"]) == 1, body  # extra columns are ignored
    status, body = call("POST", url, {"dataframe_records": [{"a": "x", "b": 2, "c": 3}]})
    assert status == 400 and "Incompatible input types for column a" in body["message"], body
    req = urllib.request.Request(url, data=b"a,b,c\n0.1,0.2,0.3\n,1,2\n", method="POST",
                                 headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(req) as r:
        assert len(json.loads(r.read())["predictions"]) == 2
    req = urllib.request.Request(url, data=b"<x/>", method="POST", headers={"Content-Type": "application/xml"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 415 and b"only supports the following content types" in e.value.read()
    with urllib.request.urlopen(f"{infer_base}/ping") as r:
        assert r.status == 200
    # Two deployments: /invocations needs a name.
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn2", "model_uri": "models:/churn/1"})[0] == 200
    status, body = call("POST", url, {"inputs": [[0.1, 0.2, 0.3]]})
    assert status == 404 and "/deployments/NAME/invocations" in body["message"], body
    status, body = call("POST", f"{infer_base}/deployments/churn2/invocations", {"inputs": [[0.1, 0.2, 0.3]]})
    assert status == 200 and len(body["predictions"]) == 1, body


def test_kserve_v1_protocol(serving):
    server, infer_base = serving
    logged = run_client("3.6", LOG_MODEL.format(seed=10), server.url).json
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    rows = [[float("nan") if v is None else v for v in r] for r in logged["rows"]]
    assert call("GET", f"{infer_base}/v1/models") == (200, {"models": ["churn"]})
    assert call("GET", f"{infer_base}/v1/models/churn") == (200, {"name": "churn", "ready": True})
    status, body = call("POST", f"{infer_base}/v1/models/churn:predict", json.dumps({"instances": rows}).encode())
    assert status == 200 and body["predictions"] == [f32(p) for p in logged["predictions"]], body
    records = [dict(zip(["a", "b", "c"], r)) for r in rows]
    status, body = call("POST", f"{server.url}/v1/models/churn:predict", json.dumps({"inputs": records}).encode())
    assert status == 200 and body["predictions"] == [f32(p) for p in logged["predictions"]], body
    status, body = call("POST", f"{infer_base}/v1/models/churn:predict", {"rows": rows})
    assert status == 400 and "instances" in body["error"], body
    status, body = call("POST", f"{infer_base}/v1/models/nope:predict", {"instances": rows})
    assert status == 404 and "no deployment named 'nope'" in body["error"], body


# A multiclass model logged by MLflow's client; python3-xgboost's pred_contribs
# on four rows (one with a missing value) is the reference for TreeSHAP.
LOG_MULTICLASS = """
import json, mlflow, mlflow.xgboost, numpy as np, pandas as pd, xgboost as xgb
rng = np.random.default_rng(21)
X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
y = (X.a + X.b > 0).astype(int) + (X.c > 0.5).astype(int)
kinds = {{"binary": ({{"objective": "binary:logistic", "max_depth": 5}}, (y > 0).astype(int)),
         "multi": ({{"objective": "multi:softprob", "num_class": 3, "max_depth": 4}}, y)}}
params, labels = kinds["{kind}"]
b = xgb.train(params, xgb.DMatrix(X, label=labels), 15)
from mlflow.models import infer_signature
with mlflow.start_run():
    mlflow.xgboost.log_model(b, "model", registered_model_name="explained",
                             signature=infer_signature(X, b.predict(xgb.DMatrix(X))))
rows = X.iloc[:4].copy()
rows.iloc[1, 2] = np.nan
contribs = b.predict(xgb.DMatrix(rows), pred_contribs=True)
print(json.dumps({{"rows": [[None if v != v else v for v in r] for r in rows.values.tolist()],
                  "contribs": contribs.tolist(), "margins": b.predict(xgb.DMatrix(rows), output_margin=True).tolist()}}))
"""


@pytest.mark.parametrize("kind", ["binary", "multi"])
def test_tree_shap_equals_xgboost_pred_contribs(serving, kind):
    server, infer_base = serving
    logged = run_client("2.12", LOG_MULTICLASS.format(kind=kind), server.url).json
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "explained", "model_uri": "models:/explained/1"})[0] == 200
    rows = [[float("nan") if v is None else v for v in r] for r in logged["rows"]]
    want = [[[f32(v) for v in g] for g in r] if kind == "multi" else [f32(v) for v in r]
            for r in logged["contribs"]]
    request = {"inputs": [{"name": "x", "shape": [4, 4], "datatype": "FP64", "data": rows}],
               "parameters": {"pred_contribs": True}}
    status, body = call("POST", f"{infer_base}/v2/models/explained/infer", json.dumps(request).encode())
    assert status == 200, body
    (out,) = body["outputs"]
    assert out["name"] == "contributions" and out["shape"] == ([4, 3, 5] if kind == "multi" else [4, 5]), out
    flat = [v for r in want for v in (sum(r, []) if kind == "multi" else r)]
    assert [f32(v) for v in out["data"]] == flat  # bit for bit
    status, body = call("POST", f"{infer_base}/v1/models/explained:explain",
                        json.dumps({"instances": rows}).encode())
    assert status == 200, body
    got = [[[f32(v) for v in g] for g in r] if kind == "multi" else [f32(v) for v in r]
           for r in body["explanations"]]
    assert got == want
    assert body["feature_names"] == ["a", "b", "c", "d", "bias"]
    status, body = call("POST", f"{infer_base}/v2/models/explained/infer", json.dumps(
        dict(request, parameters={"pred_contribs": "yes"})).encode())
    assert status == 400 and "pred_contribs" in body["error"], body


def test_v2_binary_tensor_extension(serving):
    """Requests and answers in the binary form tritonclient uses."""
    import struct
    server, infer_base = serving
    logged = run_client("2.12", LOG_MODEL.format(seed=11), server.url).json
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    rows = [float("nan") if v is None else v for r in logged["rows"] for v in r]
    header = json.dumps({"inputs": [{"name": "x", "shape": [4, 3], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 48}}],
                         "outputs": [{"name": "predict", "parameters": {"binary_data": True}}]}).encode()
    req = urllib.request.Request(f"{infer_base}/v2/models/churn/infer", data=header + struct.pack("<12f", *rows),
                                 method="POST", headers={"Inference-Header-Content-Length": str(len(header)),
                                                         "Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req) as r:
        length = int(r.headers["Inference-Header-Content-Length"])
        body = r.read()
    answer = json.loads(body[:length])
    assert answer["outputs"][0]["parameters"]["binary_data_size"] == 16, answer
    assert list(struct.unpack("<4f", body[length:])) == [f32(p) for p in logged["predictions"]]
    with urllib.request.urlopen(f"{infer_base}/v2") as r:
        assert "binary_tensor_data" in json.loads(r.read())["extensions"]
    bad = urllib.request.Request(f"{infer_base}/v2/models/churn/infer", data=header + b"\x00" * 20, method="POST",
                                 headers={"Inference-Header-Content-Length": str(len(header))})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad)
    assert e.value.code == 400 and b"binary_data_size 48 exceeds" in e.value.read()


def test_prometheus_counts_requests_per_deployment_and_version(serving):
    server, infer_base = serving
    run_client("2.12", LOG_MODEL.format(seed=12), server.url)
    assert call("POST", f"{server.url}/api/cairn/v1/deployments",
                {"name": "churn", "model_uri": "models:/churn/1"})[0] == 200
    good = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]}]}
    bad = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    for body in (good, good, good, bad):
        call("POST", f"{infer_base}/v2/models/churn/infer", body)
    call("POST", f"{infer_base}/v2/models/churn/infer", b"{not json")
    with urllib.request.urlopen(f"{server.url}/metrics") as r:
        text = r.read().decode()
    labels = 'deployment="churn",variant="primary",version="1"'
    assert f"cairn_serving_requests_total{{{labels}}} 5" in text, text[-3000:]
    assert f'cairn_serving_errors_total{{{labels},reason="bad_input"}} 2' in text
    assert f"cairn_serving_compute_seconds_count{{{labels}}} 4" in text
    assert "cairn_serving_loaded_models 1" in text
    assert f"cairn_serving_model_bytes{{{labels}}}" in text


def test_model_folders_cannot_reach_outside_themselves(serving):
    """An MLmodel naming its data file outside its folder (.., an absolute path, a link) is
    refused at deploy time: a user who may read one experiment must not serve another's model
    files through a crafted MLmodel."""
    server, infer_base = serving
    api = f"{server.url}/api/2.0/mlflow"
    run = call("POST", f"{api}/runs/create", {"experiment_id": "0"})[1]["run"]["info"]
    folder = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts"
    for data, expected in [("../../../../etc/hostname", "inside the model folder"), ("/etc/hostname", "inside the model folder"),
                           ("../other/model.json", "inside the model folder")]:
        name = f"m{abs(hash(data)) % 10000}"
        status, _ = call("PUT", f"{folder}/{name}/MLmodel",
                         f"flavors:\n  xgboost:\n    data: {data}\n".encode(), content_type=None)
        assert status == 200
        status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                            {"name": name, "model_uri": f"runs:/{run['run_id']}/{name}"})
        assert status == 400 and expected in body["message"], (data, body)
    # A symbolic link inside the folder is refused too (the store never follows links).
    target = next((server.data_dir / "artifacts").rglob(f"{run['run_id']}/artifacts"))
    (target / "linked").mkdir()
    (target / "linked" / "model.json").symlink_to("/etc/hostname")
    (target / "linked" / "MLmodel").write_text("flavors:\n  xgboost:\n    data: model.json\n")
    status, body = call("POST", f"{server.url}/api/cairn/v1/deployments",
                        {"name": "linked", "model_uri": f"runs:/{run['run_id']}/linked"})
    assert status in (400, 403, 404) and "link" in body["message"].lower(), body
    status, body = call("GET", f"{server.url}/api/cairn/v1/deployments")
    assert body["deployments"] == [], body
