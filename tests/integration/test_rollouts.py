"""Rollouts (issue 21): deployments with several variants over HTTP. Weights
observed within statistical bounds, sticky keys staying on one variant, the
variant an answer names honoured when sent back, shadows that never answer
but are compared, traffic changes with no failed request under load, a
stepped canary promoted by the server, and every change in the audit log.

Two versions of `churn` are logged with MLflow 2.12's client; they give
different predictions on the same rows, so each answer shows which ran.
"""
import json
import threading
import time

import pytest
import requests

from conftest import cairn_cli, run_client
from test_serving import serving_url

pytestmark = pytest.mark.usefixtures("backend")

LOG_TWO = """
import json, mlflow, mlflow.xgboost, numpy as np, pandas as pd, xgboost as xgb
from mlflow.models import infer_signature
rng = np.random.default_rng(11)
X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
y = ((X.a * 2 - X.c + rng.normal(size=300)) > 0).astype(int)
for depth in (2, 5):
    b = xgb.train({"max_depth": depth, "objective": "binary:logistic"}, xgb.DMatrix(X, label=y), 10)
    with mlflow.start_run():
        mlflow.xgboost.log_model(b, "model", signature=infer_signature(X, b.predict(xgb.DMatrix(X))),
                                 registered_model_name="churn")
print(json.dumps({"row": X.iloc[0].tolist()}))
"""


@pytest.fixture
def two_versions(server_factory):
    server = server_factory.new(extra_args=["--serving-port", "0"]).start()
    logged = run_client("2.12", LOG_TWO, server.url).json
    body = json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64",
                                   "data": logged["row"]}]})
    return server, serving_url(server), body


def deploy(server, spec):
    r = requests.post(f"{server.url}/api/cairn/v1/deployments", json=spec, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["deployment"]


def status(server, name):
    r = requests.get(f"{server.url}/api/cairn/v1/deployments/{name}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["deployment"]


def infer(session, base, name, body, headers=None):
    r = session.post(f"{base}/v2/models/{name}/infer", data=body, headers=headers or {}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    # The variant header and the body's version agree.
    assert r.headers["x-cairn-model-version"] == out["model_version"]
    return r.headers["x-cairn-variant"], out["model_version"], out["outputs"][0]["data"][0]


TWO = {"name": "churn", "variants": [{"name": "stable", "model_uri": "models:/churn/1", "weight": 70},
                                     {"name": "canary", "model_uri": "models:/churn/2", "weight": 30}]}


def test_weights_sticky_keys_and_the_variant_header(two_versions):
    server, base, body = two_versions
    d = deploy(server, dict(TWO, sticky_header="X-User"))
    assert [(v["name"], v["weight"], v["version"]) for v in d["variants"]] == [
        ("stable", 70, "1"), ("canary", 30, "2")], d
    s = requests.Session()
    seen = {}
    answers = {}
    for _ in range(600):
        variant, version, value = infer(s, base, "churn", body)
        seen[variant] = seen.get(variant, 0) + 1
        answers.setdefault(version, set()).add(value)
    # 600 draws at 30%: 180 +- 11 (one sigma); 5 sigma either way.
    assert 125 <= seen["canary"] <= 235, seen
    assert len(answers["1"]) == 1 and len(answers["2"]) == 1 and answers["1"] != answers["2"]

    # One sticky key, one variant; many keys reach both.
    by_key = {}
    for key in range(60):
        got = {infer(s, base, "churn", body, {"X-User": f"u{key}"})[0] for _ in range(4)}
        assert len(got) == 1, (key, got)
        by_key[key] = got.pop()
    assert set(by_key.values()) == {"stable", "canary"}
    # A client sending back the variant it was given stays there.
    assert {infer(s, base, "churn", body, {"x-cairn-variant": "canary"})[0] for _ in range(30)} == {"canary"}
    # The URL's version picks the variant serving it; MLflow's /invocations and v1 route too.
    r = s.post(f"{base}/v2/models/churn/versions/2/infer", data=body, timeout=30)
    assert r.status_code == 200 and r.headers["x-cairn-variant"] == "canary", r.text
    assert s.post(f"{base}/v2/models/churn/versions/3/infer", data=body, timeout=30).status_code == 404
    meta = s.get(f"{base}/v2/models/churn", timeout=30).json()
    assert meta["versions"] == ["1", "2"], meta
    r = s.post(f"{base}/invocations", json={"inputs": [json.loads(body)["inputs"][0]["data"]]},
               headers={"x-cairn-variant": "stable"}, timeout=30)
    assert r.status_code == 200 and r.headers["x-cairn-variant"] == "stable", r.text

    st = status(server, "churn")
    counted = {v["name"]: v["traffic"]["requests"] for v in st["variants"]}
    assert counted["stable"] + counted["canary"] >= 600 + 240 + 30 + 2, counted
    assert st["sticky_header"] == "x-user"
    # The registry's lineage shows who serves each version.
    lineage = requests.get(f"{server.url}/api/cairn/v1/lineage", params={"uri": "models:/churn/2"}, timeout=30).json()
    served = [n for n in lineage["nodes"] if n["kind"] == "deployment"]
    assert [n["label"] for n in served] == ["deployment churn (variant canary, weight 30)"], lineage
    assert {"from": "models:/churn/2", "to": served[0]["id"], "relation": "served by"} in lineage["edges"], lineage
    tree = cairn_cli(server, "lineage", "models:/churn/1").stdout
    assert "deployment churn (variant stable, weight 70)" in tree, tree


def test_traffic_changes_under_load_fail_no_request_and_are_audited(two_versions):
    server, base, body = two_versions
    deploy(server, TWO)
    failures, done = [], threading.Event()
    counts = {"n": 0}

    def load():
        s = requests.Session()
        while not done.is_set():
            r = s.post(f"{base}/v2/models/churn/infer", data=body, timeout=30)
            counts["n"] += 1
            if r.status_code != 200:
                failures.append((r.status_code, r.text))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        admin = requests.Session()
        for i in range(50):
            weights = {"stable": 100, "canary": 0} if i % 2 else {"stable": 0, "canary": 100}
            r = admin.post(f"{server.url}/api/cairn/v1/deployments/churn/traffic",
                           json={"weights": weights}, timeout=30)
            assert r.status_code == 200, r.text
        r = admin.post(f"{server.url}/api/cairn/v1/deployments/churn/rollback", json={}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        done.set()
        for t in threads:
            t.join()
    assert failures == [], failures[:3]
    assert counts["n"] > 50

    s = requests.Session()
    assert {infer(s, base, "churn", body)[0] for _ in range(50)} == {"stable"}
    # Refused changes name what is wrong and change nothing.
    url = f"{server.url}/api/cairn/v1/deployments/churn"
    for payload, verb, message in [
            ({"weights": {"stable": 0}}, "traffic", "no live variant"),
            ({"weights": {"blue": 5}}, "traffic", "no variant 'blue'"),
            ({"weights": {"stable": "x"}}, "traffic", "weights.stable must be a whole number"),
            ({}, "traffic", "weights is required"),
            ({"variant": "nope"}, "promote", "no variant 'nope'")]:
        r = requests.post(f"{url}/{verb}", json=payload, timeout=30)
        assert r.status_code == 400 and message in r.json()["message"], (payload, r.text)
    assert requests.post(f"{server.url}/api/cairn/v1/deployments/nope/traffic",
                         json={"weights": {"a": 1}}, timeout=30).status_code == 404
    assert {infer(s, base, "churn", body)[0] for _ in range(20)} == {"stable"}

    r = requests.post(f"{url}/promote", json={"variant": "canary"}, timeout=30)
    assert r.status_code == 200, r.text
    d = r.json()["deployment"]
    assert [v["name"] for v in d["variants"]] == ["canary"] and d["version"] == "2", d
    # The weights survive a restart as last changed.
    server.stop()
    server.start()
    base = serving_url(server)
    assert {infer(s, base, "churn", body)[1] for _ in range(20)} == {"2"}
    audit = cairn_cli(server, "audit", "list").stdout
    for action in ("deployment churn traffic", "deployment churn rollback", "deployment churn promote"):
        assert action in audit, audit[-2000:]


def test_a_shadow_never_answers_and_is_compared(two_versions):
    server, base, body = two_versions
    deploy(server, {"name": "churn", "variants": [
        {"name": "live", "model_uri": "models:/churn/1"},
        {"name": "next", "model_uri": "models:/churn/2", "shadow": True},
        {"name": "same", "model_uri": "models:/churn/1", "shadow": True, "mirror_percent": 100}]})
    s = requests.Session()
    assert {infer(s, base, "churn", body)[0] for _ in range(200)} == {"live"}
    # A shadow is not reachable by naming it either.
    assert infer(s, base, "churn", body, {"x-cairn-variant": "next"})[0] == "live"
    deadline = time.time() + 10
    while time.time() < deadline:
        report = {v["name"]: v.get("shadow_report") for v in status(server, "churn")["variants"]}
        if all(r["compared"] + r["dropped"] >= 201 for r in (report["next"], report["same"])):
            break
        time.sleep(0.05)
    assert report["same"]["agreement_rate"] == 1.0 and report["same"]["mean_abs_diff"] == 0, report
    assert report["next"]["agreement_rate"] == 0.0 and report["next"]["mean_abs_diff"] > 0, report


def test_a_stepped_canary_is_promoted_by_the_server(two_versions):
    server, base, body = two_versions
    spec = dict(TWO, rollout={"steps": [25, 100], "min_samples": 40})
    d = deploy(server, spec)
    assert d["rollout"]["phase"] == "stepping" and d["rollout"]["canary_percent"] == 25, d
    assert [v["weight"] for v in d["variants"]] == [75, 25]
    s = requests.Session()
    deadline = time.time() + 60
    while time.time() < deadline:
        for _ in range(20):
            infer(s, base, "churn", body)
        d = status(server, "churn")
        if d["rollout"]["phase"] == "promoted":
            break
    assert d["rollout"]["phase"] == "promoted", d
    assert [v["name"] for v in d["variants"]] == ["canary"]
    assert {infer(s, base, "churn", body)[1] for _ in range(20)} == {"2"}
    audit = cairn_cli(server, "audit", "list").stdout
    assert "rollout step" in audit and "rollout promote" in audit, audit[-2000:]


class Sink:
    """A CloudEvents receiver: records each POST's ce- headers and body."""

    def __init__(self):
        import http.server
        events = self.events = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                events.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_payload_log_holds_sampled_requests_shadows_and_failures(server_factory):
    sink = Sink()
    server = server_factory.new(extra_args=["--serving-port", "0", "--payload-log-sink", sink.url]).start()
    logged = run_client("2.12", LOG_TWO, server.url).json
    base = serving_url(server)
    deploy(server, {"name": "churn", "log_percent": 100, "variants": [
        {"name": "live", "model_uri": "models:/churn/1"},
        {"name": "next", "model_uri": "models:/churn/2", "shadow": True}]})
    deploy(server, {"name": "quiet", "model_uri": "models:/churn/1"})
    s = requests.Session()
    row = logged["row"]
    body = json.dumps({"id": "body-id", "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": row}]})
    for i in range(5):
        r = s.post(f"{base}/v2/models/churn/infer", data=body, headers={"x-request-id": f"req-{i}"}, timeout=30)
        assert r.status_code == 200 and r.headers["x-request-id"] == f"req-{i}", r.text
    r = s.post(f"{base}/v2/models/churn/infer", data=body, timeout=30)
    assert r.headers["x-request-id"] == "body-id"  # the v2 body's id when no header names one
    r = s.post(f"{base}/deployments/churn/invocations", json={"instances": [row]}, timeout=30,
               headers={"ce-id": "ce-7"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "ce-7", r.text
    bad = s.post(f"{base}/v2/models/churn/infer", data='{"inputs": [{"name": "x"}]}',
                 headers={"x-request-id": "bad-1"}, timeout=30)
    assert bad.status_code == 400
    # Without any id the server makes one (and the body's id stays the body's).
    made = s.post(f"{base}/v1/models/quiet:predict", json={"instances": [row]}, timeout=30)
    assert made.status_code == 200 and len(made.headers["x-request-id"]) > 8, made.headers

    def records():
        out = []
        for f in sorted((server.data_dir / "payloads").glob("payloads-*.jsonl")):
            out += [json.loads(line) for line in f.read_text().splitlines()]
        return out

    deadline = time.time() + 10
    while time.time() < deadline and len(records()) < 15:
        time.sleep(0.05)
    got = records()
    live = [r for r in got if not r["shadow"]]
    shadow = [r for r in got if r["shadow"]]
    assert sorted(r["request_id"] for r in live) == sorted(
        [f"req-{i}" for i in range(5)] + ["body-id", "ce-7", "bad-1"]), live
    assert sorted(r["request_id"] for r in shadow) == sorted([f"req-{i}" for i in range(5)] + ["body-id", "ce-7"])
    ok_record = next(r for r in live if r["request_id"] == "req-0")
    assert ok_record["deployment"] == "churn" and ok_record["variant"] == "live" and ok_record["model_version"] == "1"
    assert ok_record["inputs"][0]["data"] == row and ok_record["inputs"][0]["shape"] == [1, 3]
    assert ok_record["outputs"][0]["data"][0] == pytest.approx(
        s.post(f"{base}/v2/models/churn/infer", data=body, timeout=30).json()["outputs"][0]["data"][0])
    next_record = next(r for r in shadow if r["request_id"] == "req-0")
    assert next_record["variant"] == "next" and next_record["model_version"] == "2"
    assert next_record["outputs"][0]["data"] != ok_record["outputs"][0]["data"]
    failure = next(r for r in live if r["request_id"] == "bad-1")
    assert failure["status"] == "error" and "'x'" in failure["error"], failure
    assert all(r["deployment"] == "churn" for r in got)  # quiet has log_percent 0

    # The sink got each logged request and response as KServe's payload logger sends them.
    deadline = time.time() + 10
    while time.time() < deadline and len(sink.events) < 2 * len(got):
        time.sleep(0.05)
    types = [(h["ce-id"], h["ce-type"]) for h, _ in sink.events]
    assert ("req-3", "org.kubeflow.serving.inference.request") in types
    assert ("req-3", "org.kubeflow.serving.inference.response") in types
    headers, event = next((h, e) for h, e in sink.events
                          if h["ce-id"] == "req-3" and h["ce-type"].endswith("response") and h["ce-endpoint"] == "live")
    assert headers["ce-specversion"] == "1.0" and headers["ce-inferenceservicename"] == "churn"
    assert event["outputs"][0]["data"] == ok_record["outputs"][0]["data"]
    # 8 live and 7 shadow records read above, and the live and shadow record of the request
    # made since: 17 written in the end (the writer batches, and the sink slows it down).
    def logged_total():
        for line in requests.get(f"{server.url}/metrics", timeout=30).text.splitlines():
            if line.startswith("cairn_serving_payloads_logged_total "):
                return float(line.split()[-1])
        return 0

    deadline = time.time() + 10
    while time.time() < deadline and logged_total() < 17:
        time.sleep(0.05)
    assert logged_total() == 17
    sink.server.shutdown()


def test_moving_the_alias_rolls_the_new_version_out_as_a_canary(two_versions):
    """Registry-driven: the deployment follows @champion; MLflow's client moves the
    alias and the server rolls version 2 out by the policy, then promotes it."""
    server, base, body = two_versions
    set_alias = """
import mlflow
mlflow.MlflowClient().set_registered_model_alias("churn", "champion", "{version}")
"""
    run_client("3.6", set_alias.format(version=1), server.url)
    d = deploy(server, {"name": "churn", "follow": "models:/churn@champion",
                        "rollout": {"steps": [30, 100], "min_samples": 30}})
    assert [v["model_uri"] for v in d["variants"]] == ["models:/churn/1"] and d["follow"] == "models:/churn@champion"
    s = requests.Session()
    assert {infer(s, base, "churn", body)[1] for _ in range(20)} == {"1"}
    run_client("3.6", set_alias.format(version=2), server.url)
    deadline = time.time() + 10
    while time.time() < deadline and len(status(server, "churn")["variants"]) < 2:
        time.sleep(0.01)
    d = status(server, "churn")
    assert [(v["name"], v["model_uri"], v["weight"]) for v in d["variants"]] == [
        ("primary", "models:/churn/1", 70), ("canary", "models:/churn/2", 30)], d
    deadline = time.time() + 60
    while time.time() < deadline and status(server, "churn")["rollout"]["phase"] != "promoted":
        for _ in range(20):
            infer(s, base, "churn", body)
    d = status(server, "churn")
    assert d["rollout"]["phase"] == "promoted" and [v["model_uri"] for v in d["variants"]] == ["models:/churn/2"], d
    assert {infer(s, base, "churn", body)[1] for _ in range(20)} == {"2"}


def test_triton_s_repository_extension_over_the_registry(two_versions):
    server, base, body = two_versions
    s = requests.Session()
    assert "model_repository" in s.get(f"{base}/v2", timeout=30).json()["extensions"]
    assert s.post(f"{base}/v2/repository/index", timeout=30).json() == []
    # Loading a name that is a registered model deploys its latest version.
    r = s.post(f"{base}/v2/repository/models/churn/load", json={}, timeout=30)
    assert r.status_code == 200, r.text
    assert infer(s, base, "churn", body)[1] == "2"
    assert s.post(f"{base}/v2/repository/index", json={}, timeout=30).json() == [
        {"name": "churn", "version": "2", "state": "READY", "reason": ""}]
    r = s.post(f"{base}/v2/repository/models/churn/unload", json={}, timeout=30)
    assert r.status_code == 200, r.text
    r = s.post(f"{base}/v2/models/churn/infer", data=body, timeout=30)
    assert r.status_code == 503 and "unloaded" in r.json()["error"], r.text
    assert s.get(f"{base}/v2/models/churn/ready", timeout=30).status_code == 503
    (entry,) = s.post(f"{base}/v2/repository/index", timeout=30).json()
    assert entry["state"] == "UNAVAILABLE" and "unloaded" in entry["reason"], entry
    assert s.post(f"{base}/v2/repository/index", json={"ready": True}, timeout=30).json() == []
    time.sleep(0.3)  # the refresher runs meanwhile and must leave it unloaded
    assert s.post(f"{base}/v2/models/churn/infer", data=body, timeout=30).status_code == 503
    assert s.post(f"{base}/v2/repository/models/churn/load", timeout=30).status_code == 200
    assert infer(s, base, "churn", body)[1] == "2"
    r = s.post(f"{base}/v2/repository/models/nope/load", timeout=30)
    assert r.status_code == 404 and "nope" in r.json()["error"], r.text
    assert s.post(f"{base}/v2/repository/models/nope/unload", timeout=30).status_code == 404


def test_with_required_signatures_only_intact_signed_versions_serve(server_factory):
    """--require-signed-models: an alias moved to a tampered version leaves the
    previous version serving; deploying it directly, or a run's model, is refused."""
    server = server_factory.new(extra_args=["--serving-port", "0", "--require-signed-models"])
    server.data_dir.mkdir(parents=True, exist_ok=True)
    assert cairn_cli(server, "keys", "generate").returncode == 0
    server.start()
    logged = run_client("2.12", LOG_TWO, server.url).json
    base = serving_url(server)
    body = json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": logged["row"]}]})
    api = f"{server.url}/api/2.0/mlflow"
    assert requests.post(f"{api}/registered-models/alias",
                         json={"name": "churn", "alias": "champion", "version": "1"}).status_code == 200
    deploy(server, {"name": "churn", "model_uri": "models:/churn@champion"})
    s = requests.Session()
    assert infer(s, base, "churn", body)[1] == "1"
    # One byte of version 2's model file changes.
    location = requests.get(f"{api}/model-versions/get-download-uri",
                            params={"name": "churn", "version": "2"}).json()["artifact_uri"]
    root = server.data_dir / "artifacts" / location.split(":", 1)[1].lstrip("/")
    victim = next(p for p in root.rglob("model.*") if p.is_file())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    assert requests.post(f"{api}/registered-models/alias",
                         json={"name": "churn", "alias": "champion", "version": "2"}).status_code == 200
    deadline = time.time() + 10
    while time.time() < deadline and "last_load_error" not in status(server, "churn"):
        time.sleep(0.02)
    d = status(server, "churn")
    assert "does not verify" in d["last_load_error"] and "was modified" in d["last_load_error"], d
    assert infer(s, base, "churn", body)[1] == "1"
    r = requests.post(f"{server.url}/api/cairn/v1/deployments",
                      json={"name": "direct", "model_uri": "models:/churn/2"}, timeout=30)
    assert r.status_code == 403 and "cairn models verify models:/churn/2" in r.json()["message"], r.text
    run_id = requests.get(f"{api}/model-versions/get", params={"name": "churn", "version": "1"}).json()[
        "model_version"]["run_id"]
    r = requests.post(f"{server.url}/api/cairn/v1/deployments",
                      json={"name": "by-run", "model_uri": f"runs:/{run_id}/model"}, timeout=30)
    assert r.status_code == 403 and "only registered, signed model versions" in r.json()["message"], r.text
