"""External endpoints (issue 21): a deployment variant may be another server's Open
Inference Protocol v2 REST endpoint, so Cairn's rollouts, shadows and payload log also
front models it does not run. The endpoint here is a second `cairn server` answering
v2 (MLServer, KServe and Triton are not installable on this machine; the protocol is
the same).
"""
import json
import time

import pytest
import requests

from conftest import run_client
from test_serving import LOG_MODEL, f32, serving_url

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def endpoint_and_front(server_factory):
    """Server A serves `churn` natively; server B may call A's host."""
    a = server_factory.new().start()
    logged = run_client("3.6", LOG_MODEL.format(seed=11), a.url).json
    r = requests.post(f"{a.url}/api/cairn/v1/deployments", json={"name": "churn", "model_uri": "models:/churn/1"},
                      timeout=60)
    assert r.status_code == 200, r.text
    b = server_factory.new(extra_args=["--serving-external-hosts", "127.0.0.1", "--serving-port", "0"]).start()
    return a, b, logged


def v2(rows):
    return {"inputs": [{"name": "x", "shape": [len(rows), 3], "datatype": "FP64",
                        "data": [v for r in rows for v in r]}]}


def test_an_external_endpoint_serves_as_a_variant_with_its_own_answers(endpoint_and_front):
    a, b, logged = endpoint_and_front
    endpoint = f"{a.url}/v2/models/churn"
    r = requests.post(f"{b.url}/api/cairn/v1/deployments",
                      json={"name": "front", "model_uri": endpoint, "log_percent": 100}, timeout=60)
    assert r.status_code == 200, r.text
    d = r.json()["deployment"]
    assert d["ready"] and d["flavor"] == "external", d
    rows = [[float("nan") if v is None else v for v in row] for row in logged["rows"]]
    expected = [f32(p) for p in logged["predictions"]]
    body = json.dumps(v2(rows))  # NaN written bare, as KServe's Python clients send it

    for base in (b.url, serving_url(b)):
        r = requests.post(f"{base}/v2/models/front/infer", data=body, headers={"x-request-id": "ext-1"},
                          timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["model_name"] == "front" and r.headers["x-cairn-variant"] == "primary"
        assert [f32(v) for v in r.json()["outputs"][0]["data"]] == expected
    direct = requests.post(f"{endpoint}/infer", data=body, timeout=30).json()
    assert direct["outputs"][0]["data"] == r.json()["outputs"][0]["data"]
    r = requests.post(f"{b.url}/v1/models/front:predict", data=json.dumps({"instances": [rows[0], rows[2]]}),
                      timeout=30)
    assert r.status_code == 200, r.text
    assert [f32(v) for v in r.json()["predictions"]] == [expected[0], expected[2]]
    meta = requests.get(f"{b.url}/v2/models/front", timeout=30).json()
    assert meta["inputs"][0]["shape"] == [-1, 3], meta

    # The endpoint's refusal of bad input is the caller's 400, with its message.
    wide = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    r = requests.post(f"{b.url}/v2/models/front/infer", json=wide, timeout=30)
    assert r.status_code == 400 and endpoint in r.json()["error"] and "'x'" in r.json()["error"], r.text

    # Logged under the front's name and the caller's request id.
    deadline = time.time() + 10
    records = []
    while time.time() < deadline and not any(rec["request_id"] == "ext-1" for rec in records):
        records = [json.loads(line) for f in (b.data_dir / "payloads").glob("payloads-*.jsonl")
                   for line in f.read_text().splitlines()]
        time.sleep(0.1)
    assert any(rec["request_id"] == "ext-1" and rec["deployment"] == "front" for rec in records), records[:3]

    # The endpoint going away is a 503 naming it; the front keeps serving what else it can.
    a.stop()
    r = requests.post(f"{b.url}/v2/models/front/infer", data=body, timeout=60)
    assert r.status_code == 503 and endpoint in r.json()["error"], r.text
    assert requests.get(f"{b.url}/health", timeout=10).status_code == 200


def test_an_external_shadow_is_compared_with_the_model_cairn_runs(endpoint_and_front):
    a, b, _ = endpoint_and_front
    run_client("3.6", LOG_MODEL.format(seed=11), b.url)  # the same model, registered on B too
    r = requests.post(f"{b.url}/api/cairn/v1/deployments", json={"name": "churn", "variants": [
        {"name": "native", "model_uri": "models:/churn/1"},
        {"name": "remote", "model_uri": f"{a.url}/v2/models/churn", "shadow": True, "mirror_percent": 100}]},
        timeout=60)
    assert r.status_code == 200, r.text
    s = requests.Session()
    for i in range(40):
        r = s.post(f"{b.url}/v2/models/churn/infer", json=v2([[0.1 * i, -0.5, 1.5]]), timeout=30)
        assert r.status_code == 200 and r.headers["x-cairn-variant"] == "native", r.text
    deadline = time.time() + 20
    while time.time() < deadline:
        d = requests.get(f"{b.url}/api/cairn/v1/deployments/churn", timeout=30).json()["deployment"]
        report = {v["name"]: v.get("shadow_report") for v in d["variants"]}["remote"]
        if report and report["compared"] >= 40:
            break
        time.sleep(0.1)
    assert report["compared"] == 40 and report["agreement_rate"] == 1.0 and report["mean_abs_diff"] == 0, report


def test_endpoints_are_refused_unless_the_server_may_call_them(endpoint_and_front, server_factory):
    a, b, _ = endpoint_and_front
    closed = server_factory.new().start()  # no --serving-external-hosts
    r = requests.post(f"{closed.url}/api/cairn/v1/deployments",
                      json={"name": "front", "model_uri": f"{a.url}/v2/models/churn"}, timeout=60)
    assert r.status_code in (400, 412) and "--serving-external-hosts" in r.json()["message"], r.text
    for uri, message in ((f"https://127.0.0.1:1/v2/models/churn", "TLS proxy"),
                         (f"{a.url}/v1/models/churn", "expected http://HOST[:PORT]/v2/models/NAME"),
                         ("http://10.9.9.9:80/v2/models/churn", "'10.9.9.9' there"),
                         (f"{a.url}/v2/models/nope", "answered 404")):
        r = requests.post(f"{b.url}/api/cairn/v1/deployments", json={"name": "front", "model_uri": uri},
                          timeout=60)
        assert r.status_code >= 400 and message in r.json()["message"], (uri, r.text)
    assert requests.get(f"{b.url}/api/cairn/v1/deployments/front", timeout=30).status_code == 404
