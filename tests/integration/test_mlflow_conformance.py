"""MLflow behaviours found by MLflow's own REST suite (scripts/mlflow-rest-suite), checked
here at the HTTP level as a user of MLflow's server and UI would meet them: versions
registered from runs tracked elsewhere, MLflow's validation messages, the UI's routes
(get-history-bulk, sampled intervals, search-datasets, upload-artifact, get-artifact,
prompt lab runs, gateway-proxy). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from test_http_api import API, TS, api_get, api_post, http, mlflow_error, new_experiment, new_run, ok, url  # noqa: F401

AJAX = "/ajax-api/2.0/mlflow"


def log_metric(http, server, run_id, key, step, value, ts=TS):
    ok(api_post(http, server, "runs/log-metric",
                {"run_id": run_id, "key": key, "value": value, "timestamp": ts, "step": step}))


# ------------------------------------------------------------ versions from runs tracked elsewhere

def test_a_version_from_a_run_tracked_elsewhere_is_stored_as_given(http, server):
    name = f"elsewhere-{new_experiment(http, server)}"
    ok(api_post(http, server, "registered-models/create", {"name": name}))
    created = ok(api_post(http, server, "model-versions/create",
                          {"name": name, "source": "runs:/0123456789abcdef/model", "run_id": "other-run"}))
    version = created["model_version"]
    assert version["source"] == "runs:/0123456789abcdef/model"
    assert version["run_id"] == "other-run"
    found = ok(api_get(http, server, "model-versions/search",
                       {"filter": "source_path = 'runs:/0123456789abcdef/model'"}))["model_versions"]
    assert [v["name"] for v in found] == [name]
    # Lineage says the run is not on this server instead of failing.
    lineage = ok(http.get(url(server, "/api/cairn/v1/lineage"), params={"uri": f"models:/{name}/1"}))
    runs = [n for n in lineage["nodes"] if n["kind"] == "run"]
    assert runs and "not on this server" in runs[0]["label"], lineage


def test_a_run_on_this_server_still_owns_its_files(http, server):
    eid = new_experiment(http, server)
    run_a = new_run(http, server, eid)["info"]["run_id"]
    run_b = new_run(http, server, eid)["info"]["run_id"]
    name = f"owned-{eid}"
    ok(api_post(http, server, "registered-models/create", {"name": name}))
    # The files of run A cannot be registered as run B's: gates would judge B's metrics.
    err = mlflow_error(api_post(http, server, "model-versions/create",
                                {"name": name, "source": f"runs:/{run_a}/model", "run_id": run_b}),
                       400, "INVALID_PARAMETER_VALUE")
    assert run_a in err["message"] and "leave run_id out" in err["message"], err


def test_mlflows_source_and_version_messages(http, server):
    name = f"messages-{new_experiment(http, server)}"
    ok(api_post(http, server, "registered-models/create", {"name": name}))
    err = mlflow_error(api_post(http, server, "model-versions/create",
                                {"name": name, "source": "mlflow-artifacts://host:9000/models/../../../"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "If supplying a source as an http, https, local file path" in err["message"], err
    err = mlflow_error(api_post(http, server, "model-versions/create", {"name": name, "source": "/etc"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "To use a local path as a model version source" in err["message"], err
    err = mlflow_error(api_get(http, server, "model-versions/get", {"name": name, "version": "x1"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert err["message"] == "Model version must be an integer, got 'x1'", err


# ------------------------------------------------------------ validation messages as MLflow words them

def test_log_batch_names_the_whole_list_as_mlflow_does(http, server):
    run_id = new_run(http, server)["info"]["run_id"]
    err = mlflow_error(api_post(http, server, "runs/log-batch",
                                {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5}]}),
                       400, "INVALID_PARAMETER_VALUE")
    assert ("Invalid value [{'key': 'mae', 'value': 2.5}] for parameter 'metrics' supplied. "
            "Hint: Value was of type 'list'.") in err["message"], err
    err = mlflow_error(api_post(http, server, "runs/log-batch",
                                {"run_id": run_id, "params": [{"value": "x", "nested": {"a": [1e-05, None, True]}}]}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "Invalid value [{'value': 'x', 'nested': {'a': [1e-05, None, True]}}] for parameter 'params'" in err[
        "message"], err
    # Nothing of a refused batch is stored.
    run = ok(api_get(http, server, "runs/get", {"run_id": run_id}))["run"]
    assert not run["data"].get("metrics") and not run["data"].get("params")


def test_mlflow_3_clients_get_mlflow_3s_wording(http, server):
    """MLflow 3's server shows the invalid value as compact JSON with sorted keys; a request
    from MLflow 3's client (its User-Agent) gets that wording, others MLflow 2's."""
    run_id = new_run(http, server)["info"]["run_id"]
    body = {"run_id": run_id, "tags": "5"}
    three = {"User-Agent": "mlflow-python-client/3.6.0"}
    err = mlflow_error(http.post(url(server, f"{API}/runs/log-batch"), json=body, headers=three),
                       400, "INVALID_PARAMETER_VALUE")
    assert err["message"] == ("Invalid value \"5\" for parameter 'tags' supplied:  Hint: Value was of type "
                              "'str'. See the API docs for more information about request parameters."), err
    err = mlflow_error(http.post(url(server, f"{API}/runs/log-batch"), headers=three,
                                 json={"run_id": run_id, "metrics": [{"value": 1.5, "key": "é", "z": None}]}),
                       400, "INVALID_PARAMETER_VALUE")
    assert 'Invalid value [{"key":"\\u00e9","value":1.5,"z":null}]' in err["message"], err
    err = mlflow_error(http.post(url(server, f"{API}/runs/log-batch"), json=body,
                                 headers={"User-Agent": "mlflow-python-client/2.12.0"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert err["message"].startswith("Invalid value 5 for parameter 'tags' supplied. Hint:"), err


def test_search_runs_max_results_and_log_inputs(http, server):
    eid = new_experiment(http, server)
    err = mlflow_error(api_post(http, server, "runs/search", {"experiment_ids": [eid], "max_results": 123456789}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "Invalid value 123456789 for parameter 'max_results' supplied" in err["message"], err
    run_id = new_run(http, server, eid)["info"]["run_id"]
    err = mlflow_error(api_post(http, server, "runs/log-inputs", {"run_id": run_id}), 400, "INVALID_PARAMETER_VALUE")
    assert "Missing value for required parameter 'datasets'" in err["message"], err


def test_unsafe_paths_are_answered_with_mlflows_words(http, server):
    run = new_run(http, server)["info"]
    for path, params in [(f"{API}/artifacts/list", {"run_id": run["run_id"], "path": "../x"}),
                         ("/get-artifact", {"run_id": run["run_id"], "path": "../x"}),
                         ("/get-artifact", {"run_id": run["run_id"], "path": "a/%2E%2E/%2E%2E/b"}),
                         ("/model-versions/get-artifact", {"name": "m", "version": 1, "path": "/etc/passwd"})]:
        r = http.get(url(server, path), params=params)
        assert r.status_code == 400 and r.json() == {"error_code": "INVALID_PARAMETER_VALUE",
                                                     "message": "Invalid path"}, (path, params, r.text)


# ------------------------------------------------------------ the UI's routes

def test_history_bulk_orders_by_run_then_time(http, server):
    eid = new_experiment(http, server)
    runs = sorted(new_run(http, server, eid)["info"]["run_id"] for _ in range(2))
    for run_id in reversed(runs):
        log_metric(http, server, run_id, "loss", 3, 0.3, ts=TS + 2)
        log_metric(http, server, run_id, "loss", 1, 0.1, ts=TS + 1)
    got = ok(http.get(url(server, f"{AJAX}/metrics/get-history-bulk"),
                      params={"run_id": list(reversed(runs)), "metric_key": "loss"}))["metrics"]
    assert [(m["run_id"], m["step"]) for m in got] == [(runs[0], 1), (runs[0], 3), (runs[1], 1), (runs[1], 3)]
    limited = ok(http.get(url(server, f"{AJAX}/metrics/get-history-bulk"),
                          params={"run_id": runs, "metric_key": "loss", "max_results": 3}))["metrics"]
    assert len(limited) == 3
    err = mlflow_error(http.get(url(server, f"{AJAX}/metrics/get-history-bulk"), params={"metric_key": "loss"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert err["message"] == "GetMetricHistoryBulk request must specify at least one run_id.", err


def test_history_intervals_sample_the_steps_mlflow_samples(http, server):
    eid = new_experiment(http, server)
    short = new_run(http, server, eid)["info"]["run_id"]
    long = new_run(http, server, eid)["info"]["run_id"]
    for step in range(10):
        log_metric(http, server, short, "acc", step, 1.0)
    for step in range(20):
        log_metric(http, server, long, "acc", step, 2.0)
    got = ok(http.get(url(server, f"{AJAX}/metrics/get-history-bulk-interval"),
                      params={"run_ids": [short, long], "metric_key": "acc", "max_results": 5}))["metrics"]
    # One set of steps for both runs, from the union of their steps plus each run's ends,
    # runs in the order asked.
    steps = [0, 4, 8, 9, 12, 16, 19]
    assert [(m["run_id"], m["step"]) for m in got] == (
        [(short, s) for s in steps if s < 10] + [(long, s) for s in steps])


def test_search_datasets(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    dataset = {"name": "flights", "digest": "d1", "source_type": "local", "source": "f.csv"}
    ok(api_post(http, server, "runs/log-inputs", {"run_id": run_id, "datasets": [
        {"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "training"}]},
        {"dataset": {**dataset, "digest": "d2"}}]}))
    got = ok(http.post(url(server, f"{AJAX}/experiments/search-datasets"), json={"experiment_ids": [eid]}))
    assert got["dataset_summaries"] == [
        {"experiment_id": eid, "name": "flights", "digest": "d1", "context": "training"},
        {"experiment_id": eid, "name": "flights", "digest": "d2", "context": None}]
    err = mlflow_error(http.post(url(server, f"{AJAX}/experiments/search-datasets"),
                                 json={"experiment_ids": [str(i) for i in range(21)]}), 400, "INVALID_PARAMETER_VALUE")
    assert "cannot specify more than 20 experiment_ids" in err["message"], err


def test_upload_artifact_then_get_artifact(http, server):
    run = new_run(http, server)["info"]
    r = http.post(url(server, f"{AJAX}/upload-artifact"),
                  params={"run_uuid": run["run_id"], "path": "notes/read me.txt"}, data="hello world")
    assert r.status_code == 200, r.text
    got = http.get(url(server, "/get-artifact"), params={"run_uuid": run["run_id"], "path": "notes/read me.txt"})
    assert got.status_code == 200 and got.text == "hello world"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    listed = ok(api_get(http, server, "artifacts/list", {"run_id": run["run_id"], "path": "notes"}))
    assert [f["path"] for f in listed["files"]] == ["notes/read me.txt"]
    for params, data, message in [({}, "x", "Request must specify run_uuid."),
                                  ({"run_uuid": run["run_id"]}, "x", "Request must specify path."),
                                  ({"run_uuid": run["run_id"], "path": "x.txt"}, "", "Request must specify data."),
                                  ({"run_uuid": run["run_id"], "path": "../x.txt"}, "x", "Invalid path")]:
        err = mlflow_error(http.post(url(server, f"{AJAX}/upload-artifact"), params=params, data=data),
                           400, "INVALID_PARAMETER_VALUE")
        assert err["message"] == message, (params, err)
    too_big = http.post(url(server, f"{AJAX}/upload-artifact"),
                        params={"run_uuid": run["run_id"], "path": "big.bin"}, data=b"x" * (10 * 1024 * 1024 + 1))
    assert mlflow_error(too_big, 400, "INVALID_PARAMETER_VALUE")["message"] == \
        "Artifact size is too large. Max size is 10MB."


def test_a_registered_versions_files_cannot_be_replaced_by_upload_artifact(http, server):
    run = new_run(http, server)["info"]
    ok(http.post(url(server, f"{AJAX}/upload-artifact"), params={"run_uuid": run["run_id"], "path": "model/MLmodel"},
                 data="flavors: {}"))
    name = f"frozen-{run['run_id'][:8]}"
    ok(api_post(http, server, "registered-models/create", {"name": name}))
    ok(api_post(http, server, "model-versions/create",
                {"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}))
    r = http.post(url(server, f"{AJAX}/upload-artifact"), params={"run_uuid": run["run_id"], "path": "model/MLmodel"},
                  data="swapped")
    assert r.status_code >= 400, r.text
    got = http.get(url(server, "/model-versions/get-artifact"), params={"name": name, "version": 1, "path": "MLmodel"})
    assert got.status_code == 200 and got.text == "flavors: {}"


def test_prompt_lab_run(http, server):
    eid = new_experiment(http, server)
    body = {"experiment_id": eid, "run_name": "try-1", "prompt_template": "Say {{ word }}",
            "prompt_parameters": [{"key": "word", "value": "hi"}], "model_route": "chat",
            "model_parameters": [{"key": "temperature", "value": 0.1}], "model_input": "Say hi",
            "model_output": "hi!", "model_output_parameters": [{"key": "latency", "value": 100}],
            "mlflow_version": "2.12.0", "user_id": "ann", "start_time": 456}
    run = ok(http.post(url(server, f"{AJAX}/runs/create-promptlab-run"), json=body))["run"]
    assert run["info"]["status"] == "FINISHED" and run["info"]["start_time"] == 456
    assert run["info"]["user_id"] == "ann" and run["info"]["run_name"] == "try-1"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"temperature": "0.1", "model_route": "chat", "prompt_template": "Say {{ word }}"}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["mlflow.runSourceType"] == "PROMPT_ENGINEERING"
    assert json.loads(tags["mlflow.log-model.history"])[0]["artifact_path"] == "model"
    table = http.get(url(server, "/get-artifact"), params={"run_id": run["info"]["run_id"],
                                                           "path": "eval_results_table.json"})
    assert table.json() == {"columns": ["word", "prompt", "output", "latency"],
                            "data": [["hi", "Say hi", "hi!", "100"]]}
    mlmodel = http.get(url(server, "/get-artifact"), params={"run_id": run["info"]["run_id"], "path": "model/MLmodel"})
    assert "loader_module: mlflow.promptlab" in mlmodel.text and run["info"]["run_id"] in mlmodel.text
    for missing in ["experiment_id", "prompt_template", "prompt_parameters", "model_route", "model_input",
                    "mlflow_version"]:
        partial = {k: v for k, v in body.items() if k != missing}
        err = mlflow_error(http.post(url(server, f"{AJAX}/runs/create-promptlab-run"), json=partial),
                           400, "INVALID_PARAMETER_VALUE")
        assert err["message"] == f"CreatePromptlabRun request must specify {missing}.", err


class _Gateway(BaseHTTPRequestHandler):
    """A stand-in deployments server: echoes what it was asked."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(200 if "fail" not in self.path else 503,
                     {"path": self.path, "got": json.loads(body or b"null")})

    def do_GET(self):  # noqa: N802
        self._answer(200, {"path": self.path})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_gateway_proxy(http, server, server_factory):
    # Without a deployments server: an empty gateway.
    assert ok(http.get(url(server, f"{AJAX}/gateway-proxy"))) == {"endpoints": []}
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        proxied = server_factory.new(extra_args=["--deployments-target",
                                                 f"http://127.0.0.1:{gateway.server_port}/base"])
        proxied.start()
        got = ok(http.post(url(proxied, f"{AJAX}/gateway-proxy"),
                           json={"gateway_path": "api/2.0/endpoints/chat/invocations", "json_data": {"q": 1}}))
        assert got == {"path": "/base/api/2.0/endpoints/chat/invocations", "got": {"q": 1}}
        err = mlflow_error(http.post(url(proxied, f"{AJAX}/gateway-proxy"), json={}), 400, "INVALID_PARAMETER_VALUE")
        assert err["message"] == "Deployments proxy request must specify a gateway_path.", err
        err = mlflow_error(http.post(url(proxied, f"{AJAX}/gateway-proxy"), json={"gateway_path": "fail"}),
                           400, "INVALID_PARAMETER_VALUE")
        assert err["message"].startswith("Deployments proxy request failed with error code 503."), err
        # A path cannot smuggle a second request line or header to the gateway.
        r = http.post(url(proxied, f"{AJAX}/gateway-proxy"), json={"gateway_path": "x HTTP/1.1\r\nHost: evil"})
        assert r.status_code == 400, r.text
    finally:
        gateway.shutdown()
