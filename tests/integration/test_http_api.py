"""MLflow's REST surface over plain HTTP: payloads, error codes and messages, limits.

MLflow's server (mlflow/server/handlers.py, service.proto, mlflow_artifacts.proto)
is the spec: every expectation below is what MLflow's own server answers.
"""

from __future__ import annotations

import hashlib
import http.client as httplib
import json
import os
import re
import select
import socket
import urllib.parse
import uuid

import pytest
import requests

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts"
TS = 1700000000000


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def http(server):
    s = requests.Session()
    yield s
    s.close()


def url(server, path):
    return server.url + path


def api_post(http, server, endpoint, body, prefix=API):
    return http.post(f"{server.url}{prefix}/{endpoint}", json=body, timeout=60)


def api_get(http, server, endpoint, params=None, prefix=API):
    return http.get(f"{server.url}{prefix}/{endpoint}", params=params, timeout=60)


def ok(resp) -> dict:
    assert resp.status_code == 200, f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:2000]}"
    return resp.json()


def mlflow_error(resp, status: int, codes) -> dict:
    """Asserts an MLflow error response and returns its JSON body."""
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url[:200]} -> {resp.status_code} (expected {status}): "
        f"{resp.text[:2000]}")
    try:
        body = resp.json()
    except ValueError:
        pytest.fail(f"error body is not JSON: {resp.text[:500]!r}")
    assert body.get("error_code") in codes, f"error_code {body.get('error_code')!r}, expected {codes}: {body}"
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def new_experiment(http, server, prefix="it-http") -> str:
    return ok(api_post(http, server, "experiments/create",
                       {"name": f"{prefix}-{uuid.uuid4().hex}"}))["experiment_id"]


def new_run(http, server, experiment_id=None) -> dict:
    eid = experiment_id or new_experiment(http, server)
    return ok(api_post(http, server, "runs/create",
                       {"experiment_id": eid, "start_time": TS, "run_name": "http-run"}))["run"]


def get_run(http, server, run_id) -> dict:
    return ok(api_get(http, server, "runs/get", {"run_id": run_id}))["run"]


def history(http, server, run_id, key) -> list:
    """All points of a metric, paged like the MLflow client does (max_results=25000)."""
    points, token = [], None
    for _ in range(1000):
        params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            params["page_token"] = token
        body = ok(api_get(http, server, "metrics/get-history", params))
        points += body.get("metrics", [])
        token = body.get("next_page_token")
        if not token:
            break
    return points


def run_data(run) -> dict:
    d = run.get("data", {})
    return {"metrics": sorted((m["key"], str(m["value"]), m["step"]) for m in d.get("metrics", [])),
            "params": sorted((p["key"], p["value"]) for p in d.get("params", [])),
            "tags": sorted((t["key"], t["value"]) for t in d.get("tags", []))}


def artifact_root(run) -> str:
    uri = run["info"]["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/"), uri
    return uri[len("mlflow-artifacts:/"):].lstrip("/")


# ------------------------------------------------------------------------ system routes


def test_health(http, server):
    r = http.get(url(server, "/health"))
    assert r.status_code == 200


def test_version_is_mlflow_2x(http, server):
    r = http.get(url(server, "/version"))
    assert r.status_code == 200
    assert re.fullmatch(r"2\.\d+\.\d+\S*", r.text.strip()), r.text


def test_prometheus_metrics(http, server):
    for _ in range(3):
        ok(api_get(http, server, "experiments/get", {"experiment_id": "0"}))
    r = http.get(url(server, "/metrics"))
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    text = r.text
    assert "cairn_http_requests_total" in text
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                        r'[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|[+-]?Inf|NaN)( \d+)?$')
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert sample.match(line), f"not Prometheus text exposition: {line!r}"
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert types.get("cairn_http_requests_total") == "counter", types
    hist = [n for n, t in types.items() if t == "histogram"]
    assert hist, "no histogram metric"
    buckets = [ln for ln in text.splitlines()
               if re.match(rf"^({'|'.join(map(re.escape, hist))})_bucket\{{", ln) and "experiments/get" in ln
               and "get-by-name" not in ln]
    assert buckets, "no latency histogram buckets for the experiments/get route"
    inf = [ln for ln in buckets if 'le="+Inf"' in ln]
    assert inf and any(float(ln.rsplit(" ", 1)[1]) >= 3 for ln in inf), inf
    counted = [ln for ln in text.splitlines()
               if ln.startswith("cairn_http_requests_total{") and "experiments/get" in ln and "get-by-name" not in ln]
    assert counted and sum(float(ln.rsplit(" ", 1)[1]) for ln in counted) >= 3, counted


# ----------------------------------------------------------------------------- prefixes


def test_both_prefixes(http, server):
    for prefix in (API, AJAX):
        exp = ok(api_get(http, server, "experiments/get", {"experiment_id": "0"}, prefix=prefix))
        assert exp["experiment"]["name"] == "Default"
    run = ok(api_post(http, server, "runs/create", {"experiment_id": "0"}, prefix=AJAX))["run"]
    assert get_run(http, server, run["info"]["run_id"])["info"]["run_id"] == run["info"]["run_id"]


def test_default_experiment_always_exists(http, server):
    exp = ok(api_get(http, server, "experiments/get", {"experiment_id": "0"}))["experiment"]
    assert exp["experiment_id"] == "0" and exp["name"] == "Default" and exp["lifecycle_stage"] == "active"
    by_name = ok(api_get(http, server, "experiments/get-by-name", {"experiment_name": "Default"}))
    assert by_name["experiment"]["experiment_id"] == "0"


# -------------------------------------------------------------------------- experiments


def test_get_by_name_unknown_is_404(http, server):
    r = api_get(http, server, "experiments/get-by-name", {"experiment_name": f"nope-{uuid.uuid4().hex}"})
    mlflow_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_set_experiment_tag_sets_and_overwrites(http, server):
    eid = new_experiment(http, server)

    def tags():
        exp = ok(api_get(http, server, "experiments/get", {"experiment_id": eid}))["experiment"]
        return {t["key"]: t["value"] for t in exp.get("tags", [])}

    ok(api_post(http, server, "experiments/set-experiment-tag", {"experiment_id": eid, "key": "team", "value": "a"}))
    ok(api_post(http, server, "experiments/set-experiment-tag", {"experiment_id": eid, "key": "team", "value": "b"}))
    assert tags()["team"] == "b"
    err = mlflow_error(api_post(http, server, "experiments/set-experiment-tag", {"experiment_id": eid, "value": "x"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "key" in err["message"], err
    mlflow_error(api_post(http, server, "experiments/set-experiment-tag",
                          {"experiment_id": "987654321", "key": "k", "value": "v"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert tags() == {"team": "b"}
    # MLflow 3's delete-experiment-tag.
    ok(api_post(http, server, "experiments/delete-experiment-tag", {"experiment_id": eid, "key": "team"}))
    assert tags() == {}
    err = mlflow_error(api_post(http, server, "experiments/delete-experiment-tag", {"experiment_id": eid, "key": "team"}),
                       404, "RESOURCE_DOES_NOT_EXIST")
    assert err["message"] == f"No tag with name: team in experiment with id {eid}", err


def test_unknown_experiment_is_404(http, server):
    mlflow_error(api_get(http, server, "experiments/get", {"experiment_id": "987654321"}),
                 404, "RESOURCE_DOES_NOT_EXIST")


def test_create_duplicate_experiment(http, server):
    name = f"it-http-dup-{uuid.uuid4().hex}"
    ok(api_post(http, server, "experiments/create", {"name": name}))
    mlflow_error(api_post(http, server, "experiments/create", {"name": name}), 400, "RESOURCE_ALREADY_EXISTS")


def test_search_experiments_view_types(http, server):
    prefix = f"it-http-vt-{uuid.uuid4().hex}"
    ids = [ok(api_post(http, server, "experiments/create", {"name": f"{prefix}-{i}"}))["experiment_id"]
           for i in range(2)]
    ok(api_post(http, server, "experiments/delete", {"experiment_id": ids[1]}))
    found = {}
    for vt in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        body = ok(api_post(http, server, "experiments/search",
                           {"max_results": 100, "filter": f"name LIKE '{prefix}%'", "view_type": vt}))
        found[vt] = sorted(e["experiment_id"] for e in body.get("experiments", []))
    assert found == {"ACTIVE_ONLY": [ids[0]], "DELETED_ONLY": [ids[1]], "ALL": sorted(ids)}


def test_unknown_fields_ignored(http, server):
    name = f"it-http-unknown-{uuid.uuid4().hex}"
    r = api_post(http, server, "experiments/create",
                 {"name": name, "bogus": 1, "nested": {"a": [1, 2, {"b": None}]}, "flag": True})
    eid = ok(r)["experiment_id"]
    run = ok(api_post(http, server, "runs/create", {"experiment_id": eid, "what": "ever"}))["run"]
    ok(api_post(http, server, "runs/log-metric", {"run_id": run["info"]["run_id"], "key": "m", "value": 1.0,
                                                  "timestamp": TS, "step": 0, "extra": "x"}))


# ------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize("endpoint", ["experiments/create", "runs/log-batch", "runs/search"])
def test_malformed_json(http, server, endpoint):
    r = http.post(url(server, f"{API}/{endpoint}"), data=b'{"name": "x", bad json',
                  headers={"Content-Type": "application/json"})
    mlflow_error(r, 400, ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST"))


def test_wrong_types_name_the_field(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    body = mlflow_error(api_post(http, server, "experiments/search", {"max_results": "abc"}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "max_results" in body["message"], body
    body = mlflow_error(api_post(http, server, "runs/log-metric",
                                 {"run_id": run_id, "key": "m", "value": "x", "timestamp": TS}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "'value'" in body["message"], body
    body = mlflow_error(api_post(http, server, "runs/log-metric",
                                 {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": "yesterday"}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "timestamp" in body["message"], body
    body = mlflow_error(api_post(http, server, "experiments/create", {"name": 123}), 400, "INVALID_PARAMETER_VALUE")
    assert "'name'" in body["message"], body
    body = mlflow_error(api_post(http, server, "runs/log-batch",
                                 {"run_id": run_id, "metrics": [{"key": "m", "value": "x", "timestamp": TS}]}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "value" in body["message"], body
    assert history(http, server, run_id, "m") == [], "a rejected request wrote a metric"


@pytest.mark.parametrize("method,endpoint,body,field", [
    ("POST", "experiments/create", {}, "name"),
    ("GET", "experiments/get", {}, "experiment_id"),
    ("GET", "experiments/get-by-name", {}, "experiment_name"),
    ("POST", "experiments/delete", {}, "experiment_id"),
    ("POST", "experiments/update", {"experiment_id": "0"}, "new_name"),
    ("GET", "runs/get", {}, "run_id"),
    ("POST", "runs/log-metric", {"key": "m", "value": 1.0, "timestamp": TS}, "run_id"),
    ("POST", "runs/log-metric", {"run_id": "RUN", "value": 1.0, "timestamp": TS}, "key"),
    ("POST", "runs/log-metric", {"run_id": "RUN", "key": "m", "timestamp": TS}, "value"),
    ("POST", "runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1.0}, "timestamp"),
    ("POST", "runs/log-parameter", {"run_id": "RUN", "value": "v"}, "key"),
    ("POST", "runs/set-tag", {"run_id": "RUN", "value": "v"}, "key"),
    ("POST", "runs/log-batch", {}, "run_id"),
    ("GET", "metrics/get-history", {"run_id": "RUN"}, "metric_key"),
])
def test_missing_required_field(http, server, method, endpoint, body, field):
    run_id = new_run(http, server)["info"]["run_id"]
    body = {k: (run_id if v == "RUN" else v) for k, v in body.items()}
    if method == "GET":
        r = api_get(http, server, endpoint, body)
    else:
        r = api_post(http, server, endpoint, body)
    err = mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert f"Missing value for required parameter '{field}'" in err["message"], err


def test_unknown_run_is_404(http, server):
    ghost = uuid.uuid4().hex
    mlflow_error(api_get(http, server, "runs/get", {"run_id": ghost}), 404, "RESOURCE_DOES_NOT_EXIST")
    mlflow_error(api_post(http, server, "runs/log-metric",
                          {"run_id": ghost, "key": "m", "value": 1.0, "timestamp": TS}),
                 404, "RESOURCE_DOES_NOT_EXIST")
    mlflow_error(api_post(http, server, "runs/log-batch",
                          {"run_id": ghost, "metrics": [{"key": "m", "value": 1.0, "timestamp": TS}]}),
                 404, "RESOURCE_DOES_NOT_EXIST")


def test_wrong_method_405_unknown_path_404(http, server):
    r = http.get(url(server, f"{API}/experiments/create"))
    assert r.status_code == 405, r.text
    r = http.post(url(server, f"{API}/no-such-endpoint"), json={})
    assert r.status_code == 404, r.text
    r = http.get(url(server, "/definitely/not/here"))
    assert r.status_code == 404, r.text


def _raw_post_oversized(server, path, total, chunk=1 << 20):
    """Sends a POST announcing `total` body bytes; stops sending once the server answers."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {total}\r\n\r\n").encode())
        sent = 0
        data = b" " * chunk
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(data[:min(chunk, total - sent)])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        sock.settimeout(30)
        resp = b""
        while b"\r\n\r\n" not in resp:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            resp += part
        return resp
    finally:
        sock.close()


def test_oversized_body_is_413(http, server):
    resp = _raw_post_oversized(server, f"{API}/runs/log-batch", 33 * 1024 * 1024)
    status_line = resp.split(b"\r\n", 1)[0].decode(errors="replace")
    assert re.match(r"HTTP/1\.[01] 413\b", status_line), f"expected 413, got {resp[:300]!r}"
    assert http.get(url(server, "/health")).status_code == 200


def test_oversized_body_413_reaches_a_client_that_sends_it_all(server):
    # requests (the MLflow client's HTTP library) writes the whole body before
    # reading: the server must drain it, or the client sees a reset, not the 413.
    r = requests.post(url(server, f"{API}/runs/log-batch"), data=b"x" * (40 * 1024 * 1024),
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413, r.text[:300]
    assert r.json()["error_code"] == "RESOURCE_LIMIT_EXCEEDED"


# ----------------------------------------------------------------------------- log-batch


def _metrics(n, key="m", start_step=0):
    return [{"key": key, "value": float(i), "timestamp": TS + i, "step": start_step + i} for i in range(n)]


def _seeded_run(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": _metrics(2, "seed"),
                                                 "params": [{"key": "p0", "value": "v0"}],
                                                 "tags": [{"key": "t0", "value": "v0"}]}))
    return run_id


@pytest.mark.parametrize("case", ["metrics", "params", "tags", "entities", "bytes"])
def test_log_batch_limits_reject_and_write_nothing(http, server, case):
    run_id = _seeded_run(http, server)
    before = run_data(get_run(http, server, run_id))
    if case == "metrics":
        body = {"metrics": _metrics(1001)}
        msg = ("A batch logging request can contain at most 1000 metrics. Got 1001 metrics. "
               "Please split up metrics across multiple requests and try again.")
    elif case == "params":
        body = {"params": [{"key": f"p{i + 1}", "value": "v"} for i in range(101)], "metrics": _metrics(3)}
        msg = ("A batch logging request can contain at most 100 params. Got 101 params. "
               "Please split up params across multiple requests and try again.")
    elif case == "tags":
        body = {"tags": [{"key": f"t{i + 1}", "value": "v"} for i in range(101)], "metrics": _metrics(3)}
        msg = ("A batch logging request can contain at most 100 tags. Got 101 tags. "
               "Please split up tags across multiple requests and try again.")
    elif case == "entities":
        body = {"metrics": _metrics(1000), "params": [{"key": "p1", "value": "v"}]}
        msg = ("A batch logging request can contain at most 1000 metrics, params, and tags. "
               "Got 1001 metrics, params, and tags. "
               "Please split up metrics, params, and tags across multiple requests and try again.")
    else:
        body = {"metrics": _metrics(3),
                "params": [{"key": f"p{i + 1}", "value": "x" * 6000} for i in range(100)],
                "tags": [{"key": f"t{i + 1}", "value": "y" * 5000} for i in range(100)]}
        msg = "Batched logging API requests must be at most 1000000 bytes, got a request of size "
    body["run_id"] = run_id
    if case == "bytes":
        assert len(json.dumps(body)) > 1_000_000
    err = mlflow_error(api_post(http, server, "runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
    assert err["message"].startswith(msg), err["message"][:500]
    assert run_data(get_run(http, server, run_id)) == before, "a rejected log-batch wrote data"
    assert history(http, server, run_id, "m") == []


def test_log_batch_param_conflict_is_atomic(http, server):
    run_id = _seeded_run(http, server)
    before = run_data(get_run(http, server, run_id))
    body = {"run_id": run_id, "metrics": _metrics(5),
            "params": [{"key": "fresh", "value": "1"}, {"key": "p0", "value": "changed"}],
            "tags": [{"key": "new_tag", "value": "x"}]}
    mlflow_error(api_post(http, server, "runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
    assert history(http, server, run_id, "m") == [], "metrics of a rejected batch were written"
    assert run_data(get_run(http, server, run_id)) == before, "part of a rejected batch was written"


def test_log_batch_identical_retry(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    body = {"run_id": run_id, "metrics": _metrics(5), "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "v"}]}
    ok(api_post(http, server, "runs/log-batch", body))
    ok(api_post(http, server, "runs/log-batch", body))
    h = history(http, server, run_id, "m")
    assert sorted((m["step"], m["value"], m["timestamp"]) for m in h) == [
        (i, float(i), TS + i) for i in range(5)], "retried batch duplicated metric points"
    data = run_data(get_run(http, server, run_id))
    assert ("p", "1") in data["params"] and ("t", "v") in data["tags"]


def test_log_param_conflict_and_same_value(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}))
    ok(api_post(http, server, "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}))
    mlflow_error(api_post(http, server, "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.2"}),
                 400, "INVALID_PARAMETER_VALUE")
    assert ("lr", "0.1") in run_data(get_run(http, server, run_id))["params"]


# ----------------------------------------------------------------------- values, ids


def test_nan_infinity_strings_and_bare_nan(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    for key, value in (("nan", "NaN"), ("pinf", "Infinity"), ("ninf", "-Infinity")):
        ok(api_post(http, server, "runs/log-metric",
                    {"run_id": run_id, "key": key, "value": value, "timestamp": TS, "step": 0}))
    raw = ('{"run_id": "%s", "key": "bare", "value": NaN, "timestamp": %d, "step": 0}' % (run_id, TS)).encode()
    ok(http.post(url(server, f"{API}/runs/log-metric"), data=raw, headers={"Content-Type": "application/json"}))
    raw = ('{"run_id": "%s", "metrics": [{"key": "batch_nan", "value": NaN, "timestamp": %d, "step": 0},'
           '{"key": "batch_inf", "value": "Infinity", "timestamp": %d, "step": 0}]}' % (run_id, TS, TS)).encode()
    ok(http.post(url(server, f"{API}/runs/log-batch"), data=raw, headers={"Content-Type": "application/json"}))
    r = api_get(http, server, "runs/get", {"run_id": run_id})
    ok(r)
    # Returned as JSON strings, exactly like MLflow (protobuf JSON for non-finite doubles).
    got = {m["key"]: m["value"] for m in json.loads(r.text)["run"]["data"]["metrics"]}
    assert got == {"nan": "NaN", "pinf": "Infinity", "ninf": "-Infinity", "bare": "NaN",
                   "batch_nan": "NaN", "batch_inf": "Infinity"}
    h = api_get(http, server, "metrics/get-history", {"run_id": run_id, "metric_key": "ninf", "max_results": 100})
    assert ok(h)["metrics"][0]["value"] == "-Infinity"


def test_int64_values_are_json_numbers(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    big = 2 ** 62 + 12345
    ok(api_post(http, server, "runs/log-metric",
                {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": TS, "step": big}))
    r = api_get(http, server, "metrics/get-history", {"run_id": run_id, "metric_key": "m", "max_results": 100})
    m = ok(r)["metrics"][0]
    assert m["step"] == big and isinstance(m["step"], int), m
    assert m["timestamp"] == TS and isinstance(m["timestamp"], int), m
    assert re.search(rf'"step"\s*:\s*{big}\b', r.text), r.text
    info = get_run(http, server, run_id)["info"]
    assert info["start_time"] == TS and isinstance(info["start_time"], int), info
    data = get_run(http, server, run_id)["data"]
    assert data["metrics"][0]["step"] == big


def test_run_uuid_accepted_for_run_id(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-metric",
                {"run_uuid": run_id, "key": "m", "value": 2.0, "timestamp": TS, "step": 1}))
    ok(api_post(http, server, "runs/log-parameter", {"run_uuid": run_id, "key": "p", "value": "v"}))
    ok(api_post(http, server, "runs/set-tag", {"run_uuid": run_id, "key": "t", "value": "v"}))
    run = ok(api_get(http, server, "runs/get", {"run_uuid": run_id}))["run"]
    assert run["info"]["run_id"] == run_id
    hist = ok(api_get(http, server, "metrics/get-history", {"run_uuid": run_id, "metric_key": "m",
                                                                 "max_results": 100}))["metrics"]
    assert [(x["value"], x["step"]) for x in hist] == [(2.0, 1)]
    ok(api_post(http, server, "runs/update", {"run_uuid": run_id, "status": "FINISHED", "end_time": TS + 5}))
    assert get_run(http, server, run_id)["info"]["status"] == "FINISHED"


# ------------------------------------------------------------------------- histories


def test_get_history_bulk_interval_100_run_ids(http, server):
    eid = new_experiment(http, server)
    run_ids = []
    for i in range(100):
        rid = ok(api_post(http, server, "runs/create", {"experiment_id": eid, "start_time": TS}))["run"]["info"]["run_id"]
        ok(api_post(http, server, "runs/log-batch", {"run_id": rid, "metrics": [
            {"key": "loss", "value": float(i), "timestamp": TS, "step": 0},
            {"key": "loss", "value": float(i) + 0.5, "timestamp": TS + 1, "step": 1}]}))
        run_ids.append(rid)
    qs = urllib.parse.urlencode([("run_ids", r) for r in run_ids] + [("metric_key", "loss"), ("max_results", 10)])
    body = ok(http.get(url(server, f"{API}/metrics/get-history-bulk-interval?{qs}")))
    got = {}
    for m in body["metrics"]:
        got.setdefault(m["run_id"], []).append((m["step"], m["value"]))
    assert set(got) == set(run_ids)
    for i, rid in enumerate(run_ids):
        assert sorted(got[rid]) == [(0, float(i)), (1, float(i) + 0.5)], (rid, got[rid])


def test_get_history_bulk_interval_1000_run_ids_is_mlflow_error(http, server):
    qs = urllib.parse.urlencode([("run_ids", uuid.uuid4().hex) for _ in range(1000)] + [("metric_key", "loss")])
    assert len(qs) > 40000
    r = http.get(url(server, f"{API}/metrics/get-history-bulk-interval?{qs}"))
    err = mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert ("GetMetricHistoryBulkInterval request must specify at most 100 run_ids. "
            "Received 1000 run_ids.") in err["message"], err


def test_get_history_without_max_results_returns_everything(http, server):
    # What MLflow's UI and REST users send: no max_results means all points, one response.
    run_id = new_run(http, server)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": _metrics(30)}))
    body = ok(api_get(http, server, "metrics/get-history", {"run_id": run_id, "metric_key": "m"}))
    assert sorted(m["step"] for m in body["metrics"]) == list(range(30))
    assert not body.get("next_page_token")
    body = ok(api_get(http, server, "metrics/get-history", {"run_id": run_id, "metric_key": "nothing"}))
    assert body.get("metrics", []) == []


def test_get_history_paging(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": _metrics(25)}))
    pages, points, token = [], [], None
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": 10}
        if token:
            params["page_token"] = token
        body = ok(api_get(http, server, "metrics/get-history", params))
        pages.append(len(body.get("metrics", [])))
        points += [(m["step"], m["value"]) for m in body.get("metrics", [])]
        token = body.get("next_page_token")
        if not token or len(pages) > 10:
            break
    assert pages == [10, 10, 5]
    assert sorted(points) == [(i, float(i)) for i in range(25)]
    assert len(set(points)) == 25


@pytest.mark.parametrize("endpoint,method,extra", [
    ("metrics/get-history", "GET", {"metric_key": "m", "max_results": 10}),
    ("runs/search", "POST", {"max_results": 10}),
    ("experiments/search", "POST", {"max_results": 10}),
])
def test_invalid_page_token_is_400(http, server, endpoint, method, extra):
    run = new_run(http, server)
    params = dict(extra, page_token="not-a-valid-token!!")
    if endpoint == "metrics/get-history":
        params["run_id"] = run["info"]["run_id"]
    if endpoint == "runs/search":
        params["experiment_ids"] = [run["info"]["experiment_id"]]
    r = api_get(http, server, endpoint, params) if method == "GET" else api_post(http, server, endpoint, params)
    mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")


# -------------------------------------------------------------------------- search-runs


@pytest.mark.parametrize("bad_filter", [
    "metrics.acc >>> 0.5",
    "params.model = 'unterminated",
    "metrics.acc = 'abc'",
    "params.model < 'b'",
    "nonsense.key = 'x'",
    "metrics.acc > 0.5 OR metrics.acc < 0.1",
    "attributes.run_id IN 'abc'",
    "metrics.",
])
def test_search_runs_filter_syntax_errors(http, server, bad_filter):
    r = api_post(http, server, "runs/search", {"experiment_ids": ["0"], "filter": bad_filter})
    mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_run_name_kept_in_sync_with_tag(http, server):
    run = ok(api_post(http, server, "runs/create", {"experiment_id": "0"}))["run"]
    run_id, generated = run["info"]["run_id"], run["info"]["run_name"]
    assert generated, "runs/create without run_name must generate one"
    assert {"key": "mlflow.runName", "value": generated} in run["data"]["tags"]
    ok(api_post(http, server, "runs/update", {"run_id": run_id, "run_name": "renamed"}))
    run = get_run(http, server, run_id)
    assert run["info"]["run_name"] == "renamed"
    assert ("mlflow.runName", "renamed") in run_data(run)["tags"]
    ok(api_post(http, server, "runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "via-tag"}))
    assert get_run(http, server, run_id)["info"]["run_name"] == "via-tag"


def test_writes_to_deleted_run_or_experiment_rejected(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    ok(api_post(http, server, "runs/delete", {"run_id": run_id}))
    mlflow_error(api_post(http, server, "runs/log-metric",
                          {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": TS}),
                 400, "INVALID_PARAMETER_VALUE")
    ok(api_post(http, server, "runs/restore", {"run_id": run_id}))
    ok(api_post(http, server, "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": TS}))
    ok(api_post(http, server, "experiments/delete", {"experiment_id": eid}))
    mlflow_error(api_post(http, server, "runs/create", {"experiment_id": eid}), 400, "INVALID_PARAMETER_VALUE")
    name = ok(api_get(http, server, "experiments/get", {"experiment_id": eid}))["experiment"]["name"]
    by_name = ok(api_get(http, server, "experiments/get-by-name", {"experiment_name": name}))["experiment"]
    assert by_name["lifecycle_stage"] == "deleted"


def test_unicode_round_trip(http, server):
    name = f"expérience ✓ 日本 {uuid.uuid4().hex}"
    eid = ok(api_post(http, server, "experiments/create", {"name": name}))["experiment_id"]
    assert ok(api_get(http, server, "experiments/get-by-name", {"experiment_name": name}))["experiment"][
        "experiment_id"] == eid
    run_id = new_run(http, server, eid)["info"]["run_id"]
    ok(api_post(http, server, "runs/log-batch", {"run_id": run_id,
                                                 "params": [{"key": "naïve", "value": "héllo ✓ 日本 \U0001F600"}],
                                                 "tags": [{"key": "note", "value": "ünïcödé\nline2\t\"quoted\""}],
                                                 "metrics": [{"key": "métrique", "value": 1.0, "timestamp": TS}]}))
    data = run_data(get_run(http, server, run_id))
    assert ("naïve", "héllo ✓ 日本 \U0001F600") in data["params"]
    assert ("note", "ünïcödé\nline2\t\"quoted\"") in data["tags"]
    assert data["metrics"] == [("métrique", "1.0", 0)]


def test_invalid_metric_name_rejected(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    mlflow_error(api_post(http, server, "runs/log-metric",
                          {"run_id": run_id, "key": "../escape", "value": 1.0, "timestamp": TS}),
                 400, "INVALID_PARAMETER_VALUE")


def test_concurrent_writers(http, server):
    import concurrent.futures

    eid = new_experiment(http, server)

    def work(i):
        with requests.Session() as s:
            rid = ok(s.post(url(server, f"{API}/runs/create"), json={"experiment_id": eid}))["run"]["info"]["run_id"]
            for j in range(40):
                ok(s.post(url(server, f"{API}/runs/log-metric"),
                          json={"run_id": rid, "key": "m", "value": float(j), "timestamp": TS + j, "step": j}))
                ok(s.post(url(server, f"{API}/runs/log-parameter"), json={"run_id": rid, "key": f"p{j}", "value": "v"}))
                ok(s.post(url(server, f"{API}/runs/set-tag"), json={"run_id": rid, "key": "t", "value": str(j)}))
            return rid

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(work, range(8)))
    for rid in run_ids:
        assert len(history(http, server, rid, "m")) == 40
        data = run_data(get_run(http, server, rid))
        assert len(data["params"]) == 40 and ("t", "39") in data["tags"]


def test_search_runs_grammar(http, server):
    eid = new_experiment(http, server)
    a = new_run(http, server, eid)["info"]["run_id"]
    b = new_run(http, server, eid)["info"]["run_id"]
    ok(api_post(http, server, "runs/update", {"run_id": b, "run_name": "bee"}))
    ok(api_post(http, server, "runs/log-batch", {"run_id": a, "params": [{"key": "model", "value": "rf"},
                                                                        {"key": "path", "value": "a\\b_c"}],
                                                 "tags": [{"key": "my.tag", "value": "x"}],
                                                 "metrics": [{"key": "acc", "value": 0.9, "timestamp": TS}]}))
    ok(api_post(http, server, "runs/log-inputs", {"run_id": b, "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "ds-b", "digest": "d1g35t", "source_type": "local", "source": "{}"}}]}))
    cases = {
        "metric.acc > 0.5": [a],
        "metrics.`acc` >= 0.9": [a],
        "param.model = 'rf'": [a],
        "parameters.model != 'lr'": [a],
        "tag.`my.tag` = 'x'": [a],
        'tags."my.tag" ILIKE \'X\'': [a],
        "attribute.run_name = 'bee'": [b],
        "attr.run_name LIKE 'b%'": [b],
        "run.run_name != 'bee'": [a],
        "attributes.`run_name` = 'bee'": [b],
        f"run_id IN ('{a}')": [a],
        f"attributes.run_id NOT IN ('{a}')": [b],
        "dataset.name = 'ds-b'": [b],
        "datasets.digest = 'd1g35t'": [b],
        "dataset.context = 'training'": [b],
        f"attributes.start_time >= {TS} AND params.model = 'rf'": [a],
        # A backslash is an ordinary character in LIKE patterns on every backend
        # (PostgreSQL's default would make it an escape).
        "params.path LIKE 'a\\%'": [a],
        "params.path LIKE '%\\b\\_c'": [],
    }
    failures = {}
    for f, expected in cases.items():
        r = api_post(http, server, "runs/search", {"experiment_ids": [eid], "filter": f})
        if r.status_code != 200:
            failures[f] = f"HTTP {r.status_code}: {r.text[:200]}"
            continue
        got = sorted(x["info"]["run_id"] for x in r.json().get("runs", []))
        if got != sorted(expected):
            failures[f] = f"got {got}, expected {sorted(expected)}"
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)


def test_search_runs_order_by(http, server):
    eid = new_experiment(http, server)
    spec = [("r1", 0.5, "b"), ("r2", 0.5, None), ("r3", 0.9, "a"), ("r4", "NaN", "c"), ("r5", None, None),
            ("r6", "Infinity", None), ("r7", "-Infinity", "d")]
    ids = {}
    for i, (name, acc, param) in enumerate(spec):
        run = ok(api_post(http, server, "runs/create",
                          {"experiment_id": eid, "run_name": name, "start_time": TS + 1 + i}))["run"]
        ids[run["info"]["run_id"]] = name
        body = {"run_id": run["info"]["run_id"], "metrics": [], "params": []}
        if acc is not None:
            body["metrics"].append({"key": "acc", "value": acc, "timestamp": TS, "step": 0})
        if param is not None:
            body["params"].append({"key": "p", "value": param})
        ok(api_post(http, server, "runs/log-batch", body))

    def order(order_by):
        body = {"experiment_ids": [eid], "max_results": 100}
        if order_by is not None:
            body["order_by"] = order_by
        return [ids[r["info"]["run_id"]] for r in ok(api_post(http, server, "runs/search", body))["runs"]]

    # Real values first (ties: start_time DESC, then run_id), then NaN, then missing,
    # in both directions (MLflow's SqlAlchemyStore order_by clauses).
    expected = {
        "metrics.acc DESC": ["r6", "r3", "r2", "r1", "r7", "r4", "r5"],
        "metrics.acc ASC": ["r7", "r2", "r1", "r3", "r6", "r4", "r5"],
        "metrics.`acc`": ["r7", "r2", "r1", "r3", "r6", "r4", "r5"],
        "(default)": ["r7", "r6", "r5", "r4", "r3", "r2", "r1"],
        "attributes.start_time ASC": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
        "params.p ASC": ["r3", "r1", "r4", "r7", "r6", "r5", "r2"],
        "attributes.run_name DESC": ["r7", "r6", "r5", "r4", "r3", "r2", "r1"],
    }
    got = {k: order(None if k == "(default)" else [k]) for k in expected}
    wrong = {k: {"got": got[k], "expected": v} for k, v in expected.items() if got[k] != v}
    assert not wrong, "r4 has acc=NaN, r5 has no acc; wrong orders:\n" + "\n".join(
        f"{k}: got {v['got']}, expected {v['expected']}" for k, v in wrong.items())

    # Pages of every size cut the same order at every boundary, including
    # between runs with a value, with NaN and without the key.
    def paged(order_by, size):
        names, token = [], None
        for _ in range(20):
            body = {"experiment_ids": [eid], "max_results": size, "order_by": order_by}
            if token:
                body["page_token"] = token
            resp = ok(api_post(http, server, "runs/search", body))
            names += [ids[r["info"]["run_id"]] for r in resp.get("runs", [])]
            token = resp.get("next_page_token")
            if not token:
                return names
        raise AssertionError("paging did not end")

    for key in ["metrics.acc DESC", "metrics.acc ASC", "params.p ASC"]:
        for size in (1, 2, 3, 5):
            assert paged([key], size) == expected[key], (key, size)
    assert order(["metrics.acc DESC", "params.p DESC"]) == ["r6", "r3", "r1", "r2", "r7", "r4", "r5"]


def test_search_experiments_paging_and_order(http, server):
    prefix = f"it-http-pg-{uuid.uuid4().hex}"
    for i in range(7):
        ok(api_post(http, server, "experiments/create", {"name": f"{prefix}-{i}"}))
    pages, names, token = [], [], None
    for _ in range(10):
        body = {"max_results": 3, "filter": f"name LIKE '{prefix}%'", "order_by": ["name ASC"]}
        if token:
            body["page_token"] = token
        resp = ok(api_post(http, server, "experiments/search", body))
        pages.append(len(resp.get("experiments", [])))
        names += [e["name"][len(prefix) + 1:] for e in resp.get("experiments", [])]
        token = resp.get("next_page_token")
        if not token:
            break
    assert pages == [3, 3, 1]
    assert names == [str(i) for i in range(7)]


def test_search_runs_max_results_limit(http, server):
    err = mlflow_error(api_post(http, server, "runs/search", {"experiment_ids": ["0"], "max_results": 50001}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "max_results" in err["message"]


# ---------------------------------------------------------------------------- artifacts


def test_artifact_download_names_non_ascii_files_exactly(http, server):
    run = new_run(http, server)
    base = url(server, f"{ART}/artifacts/{artifact_root(run)}")
    name = 'résumé "final".txt'
    assert http.put(f"{base}/{urllib.parse.quote(name)}", data=b"cv").status_code == 200
    r = http.get(f"{base}/{urllib.parse.quote(name)}")
    assert r.status_code == 200 and r.content == b"cv"
    disposition = r.headers["Content-Disposition"]
    assert disposition.isascii(), disposition
    assert "filename*=UTF-8''" + urllib.parse.quote(name, safe="") in disposition, disposition


def test_proxied_artifacts_put_get_list_delete(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    base = url(server, f"{ART}/artifacts/{root}")
    blob = os.urandom(3 * 1024 * 1024 + 17)
    assert http.put(f"{base}/dir/blob.bin", data=blob).status_code == 200
    assert http.put(f"{base}/dir/sub/note.txt", data=b"note").status_code == 200
    assert http.put(f"{base}/top.txt", data=b"top\n").status_code == 200

    r = http.get(f"{base}/dir/blob.bin")
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(blob).hexdigest()

    def listing(path):
        r = http.get(url(server, f"{ART}/artifacts"), params={"path": path})
        return ok(r)

    top = listing(root)
    files = {f["path"]: f for f in top.get("files", [])}
    assert set(files) == {"dir", "top.txt"}, top
    assert files["dir"]["is_dir"] is True
    assert files["top.txt"]["is_dir"] is False and files["top.txt"]["file_size"] == 4
    sub = {f["path"]: f for f in listing(f"{root}/dir").get("files", [])}
    assert set(sub) == {"blob.bin", "sub"}, sub
    assert sub["blob.bin"]["file_size"] == len(blob) and isinstance(sub["blob.bin"]["file_size"], int)
    assert listing(f"{root}/top.txt") == {}

    assert http.delete(f"{base}/dir/sub/note.txt").status_code == 200
    assert http.get(f"{base}/dir/sub/note.txt").status_code == 404
    assert "note.txt" not in [f["path"] for f in listing(f"{root}/dir/sub").get("files", [])]
    mlflow_error(http.get(f"{base}/no/such/file.txt"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_artifacts_list_by_run_id(http, server):
    run = new_run(http, server)
    run_id = run["info"]["run_id"]
    base = url(server, f"{ART}/artifacts/{artifact_root(run)}")
    assert http.put(f"{base}/top.txt", data=b"0123456789").status_code == 200
    assert http.put(f"{base}/folder/inner.txt", data=b"x").status_code == 200
    body = ok(api_get(http, server, "artifacts/list", {"run_id": run_id}))
    assert body["root_uri"] == run["info"]["artifact_uri"]
    files = {f["path"]: f for f in body["files"]}
    assert set(files) == {"top.txt", "folder"}
    assert files["top.txt"]["file_size"] == 10 and files["folder"]["is_dir"] is True
    body = ok(api_get(http, server, "artifacts/list", {"run_id": run_id, "path": "folder"}))
    assert [f["path"] for f in body["files"]] == ["folder/inner.txt"]


def test_artifact_names_with_spaces_and_unicode(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    name = "dir with space/ünï cödé #1%.txt"
    u = url(server, f"{ART}/artifacts/{root}/" + urllib.parse.quote(name))
    assert http.put(u, data=b"payload").status_code == 200
    r = http.get(u)
    assert r.status_code == 200 and r.content == b"payload"
    listing = ok(http.get(url(server, f"{ART}/artifacts"), params={"path": f"{root}/dir with space"}))
    assert [f["path"] for f in listing["files"]] == ["ünï cödé #1%.txt"]
    body = ok(api_get(http, server, "artifacts/list", {"run_id": run["info"]["run_id"], "path": "dir with space"}))
    assert [f["path"] for f in body["files"]] == [name]


def _raw_request(server, method, path, body=b""):
    conn = httplib.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_artifact_path_traversal_refused(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    marker = f"escape-{uuid.uuid4().hex}.txt"
    attempts = [
        ("PUT", f"{ART}/artifacts/{root}/../../../../{marker}"),
        ("PUT", f"{ART}/artifacts/{root}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/{marker}"),
        ("PUT", f"{ART}/artifacts/{root}/..%2F..%2F..%2F..%2F{marker}"),
        ("PUT", f"{ART}/artifacts/%2Ftmp%2F{marker}"),
        ("PUT", f"{ART}/artifacts//tmp/{marker}"),
        ("GET", f"{ART}/artifacts/{root}/../../../../../../etc/passwd"),
        ("GET", f"{ART}/artifacts/%2Fetc%2Fpasswd"),
        ("GET", f"{ART}/artifacts?path=..%2F..%2F.."),
        ("GET", f"{ART}/artifacts?path=%2Fetc"),
        ("DELETE", f"{ART}/artifacts/{root}/../../../../{marker}"),
        ("GET", f"{API}/artifacts/list?run_id={run['info']['run_id']}&path=..%2F..%2F.."),
    ]
    for method, path in attempts:
        status, body = _raw_request(server, method, path, b"evil" if method == "PUT" else b"")
        assert status == 400, f"{method} {path} -> {status} {body[:300]!r}"
        err = json.loads(body)
        assert err.get("error_code") == "INVALID_PARAMETER_VALUE", err
    # Nothing landed outside the artifact root.
    for d in (server.data_dir, server.data_dir.parent, server.data_dir / "artifacts", "/tmp", "/"):
        assert not os.path.exists(os.path.join(str(d), marker)), f"{marker} written into {d}"
    for dirpath, _dirs, names in os.walk(server.data_dir.parent):
        assert marker not in names, f"{marker} written into {dirpath}"


def _no_server_paths(server, body: dict):
    """Error messages name artifact paths, never where the server keeps them."""
    text = json.dumps(body)
    assert str(server.data_dir) not in text and str(server.data_dir.resolve()) not in text, body


def test_artifact_store_does_not_follow_symlinks(http, server, tmp_path):
    run = new_run(http, server)
    root = artifact_root(run)
    base = url(server, f"{ART}/artifacts/{root}")
    assert http.put(f"{base}/real.txt", data=b"mine").status_code == 200
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    folder = server.data_dir / "artifacts" / root
    # Links planted by someone with access to the server's files.
    (folder / "linked-dir").symlink_to(outside, target_is_directory=True)
    (folder / "passwd").symlink_to("/etc/passwd")

    for path in ("passwd", "linked-dir/secret.txt"):
        body = mlflow_error(http.get(f"{base}/{path}"), 400, "INVALID_PARAMETER_VALUE")
        assert "symbolic link" in body["message"] and "root:" not in body["message"], body
        _no_server_paths(server, body)
    listing = ok(http.get(url(server, f"{ART}/artifacts"), params={"path": root}))
    assert [f["path"] for f in listing["files"]] == ["real.txt"], listing
    mlflow_error(http.get(url(server, f"{ART}/artifacts"), params={"path": f"{root}/linked-dir"}),
                 400, "INVALID_PARAMETER_VALUE")
    listed = ok(api_get(http, server, "artifacts/list", {"run_id": run["info"]["run_id"]}))
    assert [f["path"] for f in listed["files"]] == ["real.txt"], listed

    body = mlflow_error(http.put(f"{base}/linked-dir/planted.txt", data=b"x"), 400, "INVALID_PARAMETER_VALUE")
    _no_server_paths(server, body)
    assert not (outside / "planted.txt").exists()
    mlflow_error(http.delete(f"{base}/linked-dir/secret.txt"), 400, "INVALID_PARAMETER_VALUE")
    # Deleting the link removes the link, never what it points to.
    assert http.delete(f"{base}/linked-dir").status_code == 200
    assert not (folder / "linked-dir").is_symlink()
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_uploads_that_name_a_folder_are_400_without_leftovers(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    experiment = root.split("/")[0]
    assert http.put(url(server, f"{ART}/artifacts/{root}/first.txt"), data=b"1").status_code == 200
    store = server.data_dir / "artifacts"
    cases = [f"{ART}/artifacts/{experiment}",            # the experiment's folder itself
             f"{ART}/artifacts/{root}/",                  # a trailing '/': a folder
             f"{ART}/artifacts/{root}",                   # the run's artifacts folder
             f"{ART}/artifacts/{root.rsplit('/', 1)[0]}"]  # the run's folder
    for path in cases:
        body = mlflow_error(http.put(url(server, path), data=b"evil"), 400, "INVALID_PARAMETER_VALUE")
        _no_server_paths(server, body)
        assert "/<" in body["message"], f"the message shows the path to use: {body}"
    leftovers = [p.name for p in store.iterdir() if ".tmp-" in p.name]
    leftovers += [p.name for p in (store / experiment).iterdir() if ".tmp-" in p.name]
    assert leftovers == [], leftovers
    assert (store / root).is_dir(), "the run's artifacts folder is still a folder"
    # The run still takes uploads.
    assert http.put(url(server, f"{ART}/artifacts/{root}/model.pkl"), data=b"m").status_code == 200
    listing = ok(http.get(url(server, f"{ART}/artifacts"), params={"path": root}))
    assert sorted(f["path"] for f in listing["files"]) == ["first.txt", "model.pkl"], listing


def test_upload_under_a_file_is_400_naming_it(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    assert http.put(url(server, f"{ART}/artifacts/{root}/a.txt"), data=b"1").status_code == 200
    body = mlflow_error(http.put(url(server, f"{ART}/artifacts/{root}/a.txt/b.txt"), data=b"2"),
                        400, "INVALID_PARAMETER_VALUE")
    assert f"'{root}/a.txt' is a file" in body["message"], body
    _no_server_paths(server, body)


def _register(http, server, run, path="model"):
    name = f"immutable-{uuid.uuid4().hex[:8]}"
    ok(api_post(http, server, "registered-models/create", {"name": name}))
    ok(api_post(http, server, "model-versions/create",
                {"name": name, "source": run["info"]["artifact_uri"] + "/" + path,
                 "run_id": run["info"]["run_id"]}))
    return name


def test_registered_version_files_are_immutable(http, server):
    run = new_run(http, server)
    root = artifact_root(run)
    base = url(server, f"{ART}/artifacts/{root}")
    assert http.put(f"{base}/model/model.pkl", data=b"approved").status_code == 200
    assert http.put(f"{base}/notes.txt", data=b"n").status_code == 200
    name = _register(http, server, run)

    refused = [http.put(f"{base}/model/model.pkl", data=b"swapped"),
               http.put(f"{base}/model/extra.pkl", data=b"added"),
               http.delete(f"{base}/model/model.pkl"),
               http.delete(f"{base}/model"),
               http.delete(base),                                    # the run's artifacts folder
               http.delete(url(server, f"{ART}/artifacts/{root.split('/')[0]}"))]  # the experiment's
    for r in refused:
        body = mlflow_error(r, 403, "PERMISSION_DENIED")
        assert f"'{name}' version 1" in body["message"] and "new version" in body["message"], body
    assert http.get(f"{base}/model/model.pkl").content == b"approved"
    assert http.get(f"{base}/model/extra.pkl").status_code == 404
    # Files beside the version's folder still change.
    assert http.put(f"{base}/notes.txt", data=b"n2").status_code == 200
    assert http.delete(f"{base}/notes.txt").status_code == 200
    # Once the version is deleted, its files are the run's again.
    ok(http.delete(f"{server.url}{API}/model-versions/delete", json={"name": name, "version": "1"}))
    assert http.put(f"{base}/model/model.pkl", data=b"v2").status_code == 200


@pytest.mark.parametrize("action", ["create", "complete", "abort"])
def test_multipart_upload_not_implemented(http, server, action):
    run = new_run(http, server)
    path = f"{artifact_root(run)}/big.bin"
    body = {"path": path, "num_parts": 2} if action == "create" else {"path": path, "upload_id": "u", "parts": []}
    r = http.post(url(server, f"{ART}/mpu/{action}/{path}"), json=body)
    err = mlflow_error(r, 501, "NOT_IMPLEMENTED")
    assert err["message"].startswith("Multipart upload is not supported"), err


# ---------------------------------------------------------------------------- transport


def test_keep_alive_200_calls(http, server):
    with requests.Session() as s:
        for i in range(200):
            r = s.get(url(server, f"{API}/experiments/get"), params={"experiment_id": "0"})
            assert r.status_code == 200, (i, r.text)
            assert r.headers.get("Connection", "").lower() != "close", (i, r.headers)
    conn = httplib.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.connect()
        sock = conn.sock
        for i in range(200):
            conn.request("GET", f"{API}/experiments/get?experiment_id=0")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            assert not r.will_close, f"server closed the connection after request {i}"
            assert conn.sock is sock, f"reconnected after request {i}"
    finally:
        conn.close()


# ----------------------------------------------------------------------------- hostile input (issue 18)

SEARCHES = [  # (endpoint, method, extra arguments, one clause)
    ("runs/search", "POST", {"experiment_ids": ["0"]}, "metrics.m{i} > 0"),
    ("experiments/search", "POST", {}, "name != 'x{i}'"),
    ("registered-models/search", "GET", {}, "name != 'x{i}'"),
    ("model-versions/search", "GET", {}, "name != 'x{i}'"),
]


@pytest.mark.parametrize("endpoint,method,extra,clause", SEARCHES, ids=[s[0] for s in SEARCHES])
def test_a_filter_with_thousands_of_clauses_is_a_client_error(http, server, endpoint, method, extra, clause):
    """5,000 ANDs went past SQLite's expression depth limit (1000) and came back as a 500."""
    def search(n):
        args = {**extra, "filter": " AND ".join(clause.format(i=i) for i in range(n))}
        if method == "GET":
            return api_get(http, server, endpoint, args)
        return api_post(http, server, endpoint, args)

    body = mlflow_error(search(5000), 400, "INVALID_PARAMETER_VALUE")
    assert "more than 200 clauses" in body["message"], body
    ok(search(200))  # The cap leaves room below the store's own limits.


def test_a_page_token_past_int64_is_invalid_not_a_500(http, server):
    import base64
    token = base64.b64encode(b'{"offset": 99999999999999999999}').decode()
    for endpoint in ("experiments/search", "runs/search"):
        body = mlflow_error(api_post(http, server, endpoint, {"experiment_ids": ["0"], "page_token": token}),
                            400, "INVALID_PARAMETER_VALUE")
        assert "Invalid page token" in body["message"], body


def raw_post(http, server, endpoint, raw: bytes):
    return http.post(f"{server.url}{API}/{endpoint}", data=raw, timeout=60,
                     headers={"Content-Type": "application/json"})


def test_invalid_utf8_is_refused_naming_the_field(http, server):
    """Invalid UTF-8 used to be stored and echoed, making later responses invalid JSON."""
    run = new_run(http, server)
    rid = run["info"]["run_id"].encode()
    cases = [
        ("experiments/create", b'{"name": "bad-\xff-name"}', "name"),
        ("runs/create", b'{"experiment_id": "0", "run_name": "r\xc3"}', "run_name"),
        ("runs/set-tag", b'{"run_id": "' + rid + b'", "key": "k", "value": "v\xed\xa0\x80"}', "value"),
        ("runs/log-batch", b'{"run_id": "' + rid + b'", "params": [{"key": "p\xfe", "value": "1"}]}',
         "params[0].key"),
        ("registered-models/create", b'{"name": "model-\xc0\xaf"}', "name"),
        # All ASCII, but the escape of a lone low surrogate decodes to invalid UTF-8.
        ("experiments/create", b'{"name": "bad-\\udc00-name"}', "name"),
    ]
    for endpoint, raw, field in cases:
        body = mlflow_error(raw_post(http, server, endpoint, raw), 400, "INVALID_PARAMETER_VALUE")
        assert f"parameter '{field}'" in body["message"] and "UTF-8" in body["message"], (endpoint, body)
    lm = ok(api_post(http, server, "logged-models", {"experiment_id": "0"}))["model"]["info"]["model_id"]
    body = mlflow_error(http.delete(f"{server.url}{API}/logged-models/{lm}/tags/bad%FFkey", timeout=60),
                        400, "INVALID_PARAMETER_VALUE")
    assert "'tag_key'" in body["message"] and "UTF-8" in body["message"]
    query = api_get(http, server, "experiments/get-by-name", {"experiment_name": b"bad-\xff"})
    body = mlflow_error(query, 400, "INVALID_PARAMETER_VALUE")
    assert "'experiment_name'" in body["message"] and "UTF-8" in body["message"]
    # Nothing was stored: the run's tags and searches are still valid JSON without the value.
    got = ok(api_get(http, server, "runs/get", {"run_id": rid.decode()}))
    assert all(t["key"] != "k" for t in got["run"]["data"].get("tags", []))
    ok(api_post(http, server, "experiments/search", {"max_results": 1000}))
    # Valid non-ASCII text is still welcome.
    ok(api_post(http, server, "experiments/create", {"name": f"café-実験-{uuid.uuid4().hex[:6]}"}))


def test_mlflow_length_limits_apply_to_names_and_values(http, server):
    body = mlflow_error(api_post(http, server, "experiments/create", {"name": "e" * 1_000_000}),
                        400, "INVALID_PARAMETER_VALUE")
    assert body["message"] == "'name' exceeds the maximum length of 500 characters"
    ok(api_post(http, server, "experiments/create", {"name": uuid.uuid4().hex + "e" * 468}))
    eid = new_experiment(http, server)
    body = mlflow_error(api_post(http, server, "experiments/update",
                                 {"experiment_id": eid, "new_name": "n" * 501}), 400, "INVALID_PARAMETER_VALUE")
    assert "500 characters" in body["message"]
    run = new_run(http, server, eid)
    rid = run["info"]["run_id"]
    ok(api_post(http, server, "runs/set-tag", {"run_id": rid, "key": "long", "value": "v" * 8000}))
    body = mlflow_error(api_post(http, server, "runs/set-tag", {"run_id": rid, "key": "k", "value": "v" * 8001}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "exceeded length limit of 8000" in body["message"]
    body = mlflow_error(api_post(http, server, "runs/log-parameter", {"run_id": rid, "key": "p", "value": "v" * 6001}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "exceeded length limit of 6000" in body["message"]
