"""MLflow 3 logged models over HTTP, the way the 3.x client calls them
(docs/research/mlflow3-logged-models.md): create, get, finalize, tags,
params, delete, runs/outputs, and their error paths, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest

from test_http_api import API, TS, api_post, http, mlflow_error, new_experiment, new_run, ok, url  # noqa: F401


def api_patch(http, server, endpoint, body):
    return http.patch(url(server, f"{API}/{endpoint}"), json=body)


def api_delete(http, server, endpoint, body=None):
    return http.delete(url(server, f"{API}/{endpoint}"), json=body)


def create_model(http, server, experiment_id, **fields):
    body = {"experiment_id": experiment_id, **fields}
    return ok(api_post(http, server, "logged-models", body))["model"]


def test_create_get_finalize(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    model = create_model(http, server, eid, name="model", source_run_id=run_id, model_type="agent",
                         params=[{"key": "alpha", "value": "0.5"}],
                         tags=[{"key": "mlflow.user", "value": "me"}])
    info = model["info"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", info["model_id"]), info["model_id"]
    assert info["experiment_id"] == eid
    assert info["name"] == "model"
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["source_run_id"] == run_id and info["model_type"] == "agent"
    assert info["artifact_uri"].endswith(f"{eid}/models/{info['model_id']}/artifacts")
    assert info["artifact_uri"].startswith("mlflow-artifacts:/")
    assert info["creation_timestamp_ms"] == info["last_updated_timestamp_ms"] > TS
    assert info["tags"] == [{"key": "mlflow.user", "value": "me"}]
    assert model["data"]["params"] == [{"key": "alpha", "value": "0.5"}]

    got = ok(http.get(url(server, f"{API}/logged-models/{info['model_id']}")))["model"]
    assert got == model

    done = ok(api_patch(http, server, f"logged-models/{info['model_id']}",
                        {"model_id": info["model_id"], "status": "LOGGED_MODEL_READY"}))["model"]
    assert done["info"]["status"] == "LOGGED_MODEL_READY"
    assert done["info"]["last_updated_timestamp_ms"] >= info["last_updated_timestamp_ms"]
    # Numbers are the same enum on the wire; finalizing again is allowed.
    failed = ok(api_patch(http, server, f"logged-models/{info['model_id']}",
                          {"model_id": info["model_id"], "status": 3}))["model"]
    assert failed["info"]["status"] == "LOGGED_MODEL_UPLOAD_FAILED"


def test_unnamed_model_gets_a_generated_name_and_optional_fields_are_omitted(http, server):
    info = create_model(http, server, new_experiment(http, server))["info"]
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", info["name"]), info["name"]
    for absent in ("source_run_id", "model_type", "tags"):
        assert absent not in info


def test_tags_params_and_delete(http, server):
    eid = new_experiment(http, server)
    mid = create_model(http, server, eid, params=[{"key": "p", "value": "1"}])["info"]["model_id"]
    assert ok(api_patch(http, server, f"logged-models/{mid}/tags",
                        {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]})) == {}
    ok(api_patch(http, server, f"logged-models/{mid}/tags", {"tags": [{"key": "a", "value": "3"}]}))
    assert ok(api_delete(http, server, f"logged-models/{mid}/tags/b")) == {}
    err = mlflow_error(api_delete(http, server, f"logged-models/{mid}/tags/b"), 404,
                       "RESOURCE_DOES_NOT_EXIST")
    assert "'b'" in err["message"] and mid in err["message"]

    ok(api_post(http, server, f"logged-models/{mid}/params",
                {"model_id": mid, "params": [{"key": "p", "value": "1"}, {"key": "q", "value": "2"}]}))
    err = mlflow_error(api_post(http, server, f"logged-models/{mid}/params",
                                {"model_id": mid, "params": [{"key": "q", "value": "changed"}]}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "'q'" in err["message"]

    model = ok(http.get(url(server, f"{API}/logged-models/{mid}")))["model"]
    assert model["info"]["tags"] == [{"key": "a", "value": "3"}]
    assert model["data"]["params"] == [{"key": "p", "value": "1"}, {"key": "q", "value": "2"}]

    assert ok(api_delete(http, server, f"logged-models/{mid}", {"model_id": mid})) == {}
    err = mlflow_error(http.get(url(server, f"{API}/logged-models/{mid}")), 404, "RESOURCE_DOES_NOT_EXIST")
    assert err["message"] == f"Logged model with ID '{mid}' not found."


def test_runs_outputs_links_models_idempotently(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    mid = create_model(http, server, eid, source_run_id=run_id)["info"]["model_id"]
    body = {"run_id": run_id, "models": [{"model_id": mid, "step": 0}]}
    assert ok(api_post(http, server, "runs/outputs", body)) == {}
    # The client retries and re-logs; MLflow's 400 here would fail log_model.
    assert ok(api_post(http, server, "runs/outputs", body)) == {}
    mlflow_error(api_post(http, server, "runs/outputs", {"run_id": run_id}), 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(api_post(http, server, "runs/outputs", {"run_id": "f" * 32, "models": []}), 404,
                 "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("body,status,code,needle", [
    ({}, 400, "INVALID_PARAMETER_VALUE", "experiment_id"),
    ({"experiment_id": "987654321"}, 404, "RESOURCE_DOES_NOT_EXIST", "987654321"),
    ({"experiment_id": "0", "name": "a/b"}, 400, "INVALID_PARAMETER_VALUE", "a/b"),
    ({"experiment_id": "0", "params": [{"value": "x"}]}, 400, "INVALID_PARAMETER_VALUE", "params[0].key"),
    ({"experiment_id": "0", "tags": "oops"}, 400, "INVALID_PARAMETER_VALUE", "tags"),
])
def test_create_bad_input_names_the_field(http, server, body, status, code, needle):
    err = mlflow_error(api_post(http, server, "logged-models", body), status, code)
    assert needle in err["message"], err


def test_finalize_and_unknown_model_errors(http, server):
    mid = create_model(http, server, "0")["info"]["model_id"]
    for bad in ["READY", 7, None]:
        body = {"model_id": mid} if bad is None else {"model_id": mid, "status": bad}
        err = mlflow_error(api_patch(http, server, f"logged-models/{mid}", body), 400, "INVALID_PARAMETER_VALUE")
        assert "status" in err["message"]
    # The refused finalizes changed nothing.
    assert ok(http.get(url(server, f"{API}/logged-models/{mid}")))["model"]["info"]["status"] == \
        "LOGGED_MODEL_PENDING"
    unknown = "m-" + "0" * 32
    for resp in [http.get(url(server, f"{API}/logged-models/{unknown}")),
                 api_patch(http, server, f"logged-models/{unknown}", {"status": "LOGGED_MODEL_READY"}),
                 api_patch(http, server, f"logged-models/{unknown}/tags", {"tags": []}),
                 api_delete(http, server, f"logged-models/{unknown}"),
                 api_post(http, server, f"logged-models/{unknown}/params", {"params": []})]:
        err = mlflow_error(resp, 404, "RESOURCE_DOES_NOT_EXIST")
        assert unknown in err["message"]


def test_deleted_experiment_refuses_new_models(http, server):
    eid = new_experiment(http, server)
    ok(api_post(http, server, "experiments/delete", {"experiment_id": eid}))
    err = mlflow_error(api_post(http, server, "logged-models", {"experiment_id": eid}), 400,
                       "INVALID_PARAMETER_VALUE")
    assert "active" in err["message"]


def _search(http, server, **body):
    return ok(api_post(http, server, "logged-models/search", body))


def test_model_metrics_runs_outputs_and_inputs(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    mid = create_model(http, server, eid, name="model", source_run_id=run_id)["info"]["model_id"]
    ok(api_post(http, server, "runs/outputs", {"run_id": run_id, "models": [{"model_id": mid, "step": 3}]}))
    ok(api_post(http, server, "runs/log-inputs", {"run_id": run_id, "models": [{"model_id": mid}]}))
    ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "acc", "value": 0.8, "timestamp": TS, "step": 0, "model_id": mid,
         "dataset_name": "val", "dataset_digest": "d1"},
        {"key": "acc", "value": 0.9, "timestamp": TS + 1, "step": 1, "model_id": mid}]}))
    ok(api_post(http, server, "runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.1,
                                                   "timestamp": TS, "model_id": mid}))
    run = ok(http.get(url(server, f"{API}/runs/get"), params={"run_id": run_id}))["run"]
    assert run["outputs"]["model_outputs"] == [{"model_id": mid, "step": 3}]
    assert run["inputs"]["model_inputs"] == [{"model_id": mid}]
    # The run's own metrics never carry model ids (the 3.x client relies on it).
    assert all("model_id" not in m for m in run["data"]["metrics"])
    metrics = ok(http.get(url(server, f"{API}/logged-models/{mid}")))["model"]["data"]["metrics"]
    assert [(m["key"], m["value"], m["step"], m.get("dataset_name")) for m in metrics] == [
        ("acc", 0.8, 0, "val"), ("acc", 0.9, 1, None), ("loss", 0.1, 0, None)]
    assert all(m["model_id"] == mid and m["run_id"] == run_id for m in metrics)
    # A metric naming an unknown model writes nothing at all.
    err = mlflow_error(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "x", "value": 1, "timestamp": TS}, {"key": "y", "value": 1, "timestamp": TS,
                                                   "model_id": "m-" + "1" * 32}]}),
        404, "RESOURCE_DOES_NOT_EXIST")
    assert "m-" + "1" * 32 in err["message"]
    run = ok(http.get(url(server, f"{API}/runs/get"), params={"run_id": run_id}))["run"]
    assert {m["key"] for m in run["data"]["metrics"]} == {"acc", "loss"}


def test_search_filters_orders_datasets_and_pages(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    ids = {}
    for i, (name, acc, ds) in enumerate([("a", 0.5, "val"), ("b", 0.9, "val"), ("c", 0.7, "test"),
                                         ("d", None, None)]):
        mid = create_model(http, server, eid, name=name, params=[{"key": "lr", "value": f"0.{i}"}],
                           tags=[{"key": "team", "value": "x" if i % 2 else "y"}])["info"]["model_id"]
        ids[mid] = name
        if acc is not None:
            ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": [
                {"key": "acc", "value": acc, "timestamp": TS + i, "model_id": mid,
                 "dataset_name": ds, "dataset_digest": "dg"}]}))

    def names(**body):
        return [ids[m["info"]["model_id"]] for m in _search(http, server, experiment_ids=[eid], **body).get("models", [])]

    assert names() == ["d", "c", "b", "a"]  # newest first
    assert sorted(names(filter="metrics.acc > 0.6")) == ["b", "c"]
    assert names(filter="metrics.acc > 0.6", datasets=[{"dataset_name": "val"}]) == ["b"]
    assert sorted(names(datasets=[{"dataset_name": "test", "dataset_digest": "dg"}])) == ["c"]
    assert names(filter="params.lr = '0.2'") == ["c"]
    assert sorted(names(filter="tags.team = 'x' AND name != 'd'")) == ["b"]
    assert names(filter="name IN ('a', 'c')", order_by=[{"field_name": "name", "ascending": True}]) == ["a", "c"]
    assert names(filter="status = 'LOGGED_MODEL_PENDING' AND name LIKE 'b%'") == ["b"]
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": False}]) == ["b", "c", "a", "d"]
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": True}]) == ["a", "c", "b", "d"]
    assert names(order_by=[{"field_name": "metrics.acc", "dataset_name": "val"}]) == ["a", "b", "d", "c"]

    got, token = [], None
    for _ in range(10):
        body = {"experiment_ids": [eid], "max_results": 3}
        if token:
            body["page_token"] = token
        page = _search(http, server, **body)
        got += [ids[m["info"]["model_id"]] for m in page.get("models", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert got == ["d", "c", "b", "a"]

    for bad, needle in [({"filter": "metrics.acc >"}, "'>'"),
                        ({"order_by": [{"field_name": "params.lr"}]}, "Only metrics"),
                        ({"order_by": [{"field_name": "nope"}]}, "nope"),
                        ({"datasets": [{"dataset_digest": "x"}]}, "dataset_name"),
                        ({"filter": "foo = 'x'"}, "foo")]:
        err = mlflow_error(api_post(http, server, "logged-models/search", {"experiment_ids": [eid], **bad}),
                           400, "INVALID_PARAMETER_VALUE")
        assert needle in err["message"], (bad, err)
    mlflow_error(api_post(http, server, "logged-models/search", {}), 400, "INVALID_PARAMETER_VALUE")


def test_order_by_uses_the_latest_value_and_pages_across_missing(http, server):
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    ids = {}
    # (name, [(value, timestamp, step)]): "a" was 0.9 but is now 0.1.
    for name, points in [("a", [(0.9, TS, 0), (0.1, TS + 5, 0)]), ("b", [(0.5, TS, 0)]),
                         ("c", [(0.3, TS, 0), (0.7, TS, 1)]), ("d", [])]:
        mid = create_model(http, server, eid, name=name)["info"]["model_id"]
        ids[mid] = name
        for value, ts, step in points:
            ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": [
                {"key": "acc", "value": value, "timestamp": ts, "step": step, "model_id": mid}]}))

    def paged(size, **body):
        names, token = [], None
        for _ in range(10):
            req = {"experiment_ids": [eid], "max_results": size, **body}
            if token:
                req["page_token"] = token
            page = _search(http, server, **req)
            names += [ids[m["info"]["model_id"]] for m in page.get("models", [])]
            token = page.get("next_page_token")
            if not token:
                return names
        raise AssertionError("paging did not end")

    desc = [{"field_name": "metrics.acc", "ascending": False}]
    for size in (1, 2, 3, 50):
        assert paged(size, order_by=desc) == ["c", "b", "a", "d"], size
    # A filter matches any value the model ever had; the order uses the latest.
    assert paged(50, filter="metrics.acc > 0.8", order_by=desc) == ["a"]


def test_every_filter_operator_and_key_type_with_missing_keys_and_nan(http, server):
    """Each comparison on metrics, params, tags and attributes. A model without
    the key never matches (not even `!=`), and a NaN point satisfies no
    comparison: the rules search-runs follows."""
    eid = new_experiment(http, server)
    run_id = new_run(http, server, eid)["info"]["run_id"]
    ids = {}
    # name, acc (None: never logged), lr param, team tag (None: unset)
    for name, acc, lr, team in [("m1", 0.2, "0.1", "Vision"), ("m2", 0.5, "0.01", "nlp"),
                                ("m3", 0.8, "0.1", None), ("m4", None, None, "vision"),
                                ("m5", float("nan"), "0.3", "nlp")]:
        fields = {"name": name}
        if lr is not None:
            fields["params"] = [{"key": "lr", "value": lr}]
        if team is not None:
            fields["tags"] = [{"key": "team", "value": team}]
        mid = create_model(http, server, eid, **fields)["info"]["model_id"]
        ids[mid] = name
        if acc is not None:
            value = "NaN" if acc != acc else acc
            ok(api_post(http, server, "runs/log-batch", {"run_id": run_id, "metrics": [
                {"key": "acc", "value": value, "timestamp": TS, "step": 0, "model_id": mid}]}))

    def names(flt):
        found = _search(http, server, experiment_ids=[eid], filter=flt).get("models", [])
        return sorted(ids[m["info"]["model_id"]] for m in found)

    assert names("metrics.acc < 0.5") == ["m1"]
    assert names("metrics.acc <= 0.5") == ["m1", "m2"]
    assert names("metrics.acc > 0.5") == ["m3"]
    assert names("metrics.acc >= 0.5") == ["m2", "m3"]
    assert names("metrics.acc = 0.8") == ["m3"]
    assert names("metrics.acc != 0.8") == ["m1", "m2"]  # m4 has no acc, m5's is NaN
    assert names("metric.`acc` > -1e308") == ["m1", "m2", "m3"]  # alias, backticks; NaN never
    assert names("params.lr = '0.1'") == ["m1", "m3"]
    assert names("params.lr != '0.1'") == ["m2", "m5"]  # m4 has no lr
    assert names("param.lr LIKE '0.0%'") == ["m2"]
    assert names("params.lr ILIKE '0.%'") == ["m1", "m2", "m3", "m5"]
    assert names("tags.team = 'nlp'") == ["m2", "m5"]
    assert names("tags.team != 'nlp'") == ["m1", "m4"]  # m3 has no team tag
    assert names("tags.team LIKE 'vision'") == ["m4"]  # LIKE is case-sensitive
    assert names("tag.team ILIKE 'VISION'") == ["m1", "m4"]
    assert names("tags.missing = 'x'") == []
    assert names("name = 'm2'") == ["m2"]
    assert names("name != 'm2'") == ["m1", "m3", "m4", "m5"]
    assert names("attributes.name ILIKE 'M%'") == ["m1", "m2", "m3", "m4", "m5"]
    assert names("name NOT IN ('m1', 'm2')") == ["m3", "m4", "m5"]
    assert names("creation_timestamp_ms > 0 AND metrics.acc < 0.6") == ["m1", "m2"]
    assert names("creation_timestamp_ms < 0") == []
    assert names("metrics.acc > 0.1 AND params.lr = '0.1' AND tags.team ILIKE 'vis%'") == ["m1"]


def test_list_logged_model_artifacts(http, server):
    eid = new_experiment(http, server)
    model = create_model(http, server, eid, name="with-files")
    mid = model["info"]["model_id"]
    uri = model["info"]["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/") and uri.endswith(f"/models/{mid}/artifacts"), uri
    base = url(server, f"/api/2.0/mlflow-artifacts/artifacts/{uri[len('mlflow-artifacts:/'):].lstrip('/')}")
    assert http.put(f"{base}/MLmodel", data=b"flavors: {}\n").status_code == 200
    assert http.put(f"{base}/data/model.pkl", data=b"x" * 10).status_code == 200

    def listing(**params):
        return ok(http.get(url(server, f"{API}/logged-models/{mid}/artifacts/directories"), params=params))

    top = listing()
    assert top["root_uri"] == uri
    files = {f["path"]: f for f in top["files"]}
    assert files == {"MLmodel": {"path": "MLmodel", "is_dir": False, "file_size": 12},
                     "data": {"path": "data", "is_dir": True}}, top
    sub = listing(artifact_directory_path="data")
    assert sub["files"] == [{"path": "data/model.pkl", "is_dir": False, "file_size": 10}], sub
    err = mlflow_error(http.get(url(server, f"{API}/logged-models/{mid}/artifacts/directories"),
                                params={"artifact_directory_path": "../../x"}), 400, "INVALID_PARAMETER_VALUE")
    # MLflow's validate_path_is_safe answers exactly this; clients match it.
    assert err["message"] == "Invalid path", err
    mlflow_error(http.get(url(server, f"{API}/logged-models/m-{'0' * 32}/artifacts/directories")), 404,
                 "RESOURCE_DOES_NOT_EXIST")


def test_source_run_must_log_to_the_models_experiment(http, server):
    eid = new_experiment(http, server)
    other = new_experiment(http, server)
    run_id = new_run(http, server, other)["info"]["run_id"]
    err = mlflow_error(api_post(http, server, "logged-models", {"experiment_id": eid, "source_run_id": run_id}),
                       400, "INVALID_PARAMETER_VALUE")
    assert "source_run_id" in err["message"] and other in err["message"], err
    # Nothing was written: the experiment still has no models.
    assert _search(http, server, experiment_ids=[eid]).get("models", []) == []
    own = new_run(http, server, eid)["info"]["run_id"]
    assert create_model(http, server, eid, source_run_id=own)["info"]["source_run_id"] == own
    # A run this server does not hold (tracked elsewhere) is stored as given, as MLflow does,
    # and its file can be read back through MLflow 3's artifact route.
    remote = create_model(http, server, eid, source_run_id="f" * 32)["info"]
    assert remote["source_run_id"] == "f" * 32
    uri = remote["artifact_uri"]
    root = uri[len("mlflow-artifacts:"):].lstrip("/")
    assert http.put(url(server, f"/api/2.0/mlflow-artifacts/artifacts/{root}/MLmodel"), data=b"m").status_code == 200
    got = http.get(url(server, f"/ajax-api/2.0/mlflow/logged-models/{remote['model_id']}/artifacts/files"),
                   params={"artifact_file_path": "MLmodel"})
    assert got.status_code == 200 and got.text == "m", got.text
    err = mlflow_error(http.get(url(server, f"/ajax-api/2.0/mlflow/logged-models/{remote['model_id']}"
                                            "/artifacts/files"), params={"artifact_file_path": "../../x"}),
                       400, "INVALID_PARAMETER_VALUE")
    assert err["message"] == "Invalid path", err


def test_page_sizes_default_to_50_and_zero_means_100(http, server):
    eid = new_experiment(http, server)
    for i in range(51):
        create_model(http, server, eid, name=f"p{i}")
    page = _search(http, server, experiment_ids=[eid])
    assert len(page["models"]) == 50 and page.get("next_page_token"), len(page["models"])
    rest = _search(http, server, experiment_ids=[eid], page_token=page["next_page_token"])
    assert len(rest["models"]) == 1 and not rest.get("next_page_token")
    everything = _search(http, server, experiment_ids=[eid], max_results=0)
    assert len(everything["models"]) == 51 and not everything.get("next_page_token")
    mlflow_error(api_post(http, server, "logged-models/search", {"experiment_ids": [eid], "max_results": -1}),
                 400, "INVALID_PARAMETER_VALUE")


def test_a_page_token_only_pages_the_search_that_issued_it(http, server):
    eid = new_experiment(http, server)
    for i in range(3):
        create_model(http, server, eid, name=f"t{i}", params=[{"key": "k", "value": str(i)}])
    first = _search(http, server, experiment_ids=[eid], filter="params.k != 'x'", max_results=1)
    token = first["next_page_token"]
    assert _search(http, server, experiment_ids=[eid], filter="params.k != 'x'", max_results=1,
                   page_token=token)["models"], "the same search pages on"
    for changed in [{"filter": "params.k != 'y'"}, {"experiment_ids": [eid, "0"]},
                    {"order_by": [{"field_name": "name"}]}, {"datasets": [{"dataset_name": "d"}]}]:
        body = {"experiment_ids": [eid], "filter": "params.k != 'x'", "max_results": 1, "page_token": token,
                **changed}
        err = mlflow_error(api_post(http, server, "logged-models/search", body), 400, "INVALID_PARAMETER_VALUE")
        assert "different search" in err["message"], (changed, err)
    mlflow_error(api_post(http, server, "logged-models/search",
                          {"experiment_ids": [eid], "page_token": "not-a-token"}), 400, "INVALID_PARAMETER_VALUE")
