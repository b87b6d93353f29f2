"""The model registry's REST surface over plain HTTP: wire format, error codes and
messages, and bad input that must change nothing (spec:
docs/research/mlflow-model-registry.md). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import urllib.parse

import uuid

import pytest
import requests

from test_http_api import API, AJAX, api_get, api_post, mlflow_error, new_run, ok


@pytest.fixture(scope="module")
def http(server):
    s = requests.Session()
    yield s
    s.close()


def name(prefix="reg"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def delete(http, server, endpoint, body):
    return http.delete(f"{server.url}{API}/{endpoint}", json=body, timeout=60)


def register(http, server, model, sources=("s3://bucket/m",)):
    ok(api_post(http, server, "registered-models/create", {"name": model}))
    return [ok(api_post(http, server, "model-versions/create", {"name": model, "source": s}))
            ["model_version"] for s in sources]


def test_version_wire_format(http, server):
    model = name()
    created = ok(api_post(http, server, "registered-models/create",
                          {"name": model, "description": "d", "tags": [{"key": "k", "value": "v"}]}))
    rm = created["registered_model"]
    assert rm["name"] == model and rm["description"] == "d" and rm["tags"] == [{"key": "k", "value": "v"}]
    assert isinstance(rm["creation_timestamp"], int)
    run = new_run(http, server)
    v = ok(api_post(http, server, "model-versions/create",
                    {"name": model, "source": run["info"]["artifact_uri"] + "/model",
                     "run_id": run["info"]["run_id"], "tags": [{"key": "a", "value": "b"}]}))["model_version"]
    # Strings for versions; status always present (else clients poll for 5 minutes).
    assert v["version"] == "1" and v["status"] == "READY" and v["current_stage"] == "None"
    assert v["tags"] == [{"key": "a", "value": "b"}]
    got = ok(api_get(http, server, "model-versions/get", {"name": model, "version": "1"}))["model_version"]
    assert got == v
    # The ajax prefix serves the same.
    assert ok(http.get(f"{server.url}{AJAX}/registered-models/get", params={"name": model}))[
        "registered_model"]["latest_versions"][0]["version"] == "1"
    uri = ok(api_get(http, server, "model-versions/get-download-uri", {"name": model, "version": "1"}))
    assert uri == {"artifact_uri": run["info"]["artifact_uri"] + "/model"}


def test_create_errors_and_codes(http, server):
    model = name()
    register(http, server, model)
    body = mlflow_error(api_post(http, server, "registered-models/create", {"name": model}),
                        400, "RESOURCE_ALREADY_EXISTS")
    assert body["message"] == f"Registered Model (name={model}) already exists."
    body = mlflow_error(api_post(http, server, "registered-models/create", {}), 400, "INVALID_PARAMETER_VALUE")
    assert "'name'" in body["message"]
    body = mlflow_error(api_post(http, server, "model-versions/create", {"name": model}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "'source'" in body["message"]
    body = mlflow_error(api_get(http, server, "registered-models/get", {"name": "nope-" + model}),
                        404, "RESOURCE_DOES_NOT_EXIST")
    assert body["message"] == f"Registered Model with name=nope-{model} not found"
    body = mlflow_error(api_get(http, server, "model-versions/get", {"name": model, "version": "9"}),
                        404, "RESOURCE_DOES_NOT_EXIST")
    assert body["message"] == f"Model Version (name={model}, version=9) not found"
    mlflow_error(api_get(http, server, "model-versions/get", {"name": model, "version": "x"}),
                 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("source", ["/etc/passwd", "file:///etc/passwd", "model", "s3://b/../etc",
                                    "s3://b/%252e%252e/etc", "mlflow-artifacts:/0/./x"])
def test_traversal_and_local_sources_are_refused(http, server, source):
    model = name()
    register(http, server, model, sources=())
    body = mlflow_error(api_post(http, server, "model-versions/create", {"name": model, "source": source}),
                        400, "INVALID_PARAMETER_VALUE")
    decoded = source  # MLflow names the source as it decoded it
    while (unquoted := urllib.parse.unquote_plus(decoded)) != decoded:
        decoded = unquoted
    assert decoded in body["message"]
    rm = ok(api_get(http, server, "registered-models/get", {"name": model}))["registered_model"]
    assert "latest_versions" not in rm, "a refused version must not be created"


def test_names_long_unicode_and_sql_looking(http, server):
    long_name = "x" * 300
    body = mlflow_error(api_post(http, server, "registered-models/create", {"name": long_name}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "256" in body["message"]
    mlflow_error(api_post(http, server, "registered-models/create", {"name": "a/../b"}),
                 400, "INVALID_PARAMETER_VALUE")
    uni = name("modèle-日本")
    assert ok(api_post(http, server, "registered-models/create", {"name": uni}))["registered_model"]["name"] == uni
    sql = name("x'; DROP TABLE registered_models; --")
    ok(api_post(http, server, "registered-models/create", {"name": sql}))
    found = ok(api_get(http, server, "registered-models/search", {"filter": f"name = \"{sql}\""}))
    assert [m["name"] for m in found["registered_models"]] == [sql]
    # A filter that tries to inject SQL is a parse error, not a query.
    mlflow_error(api_get(http, server, "registered-models/search",
                         {"filter": "name = 'a' OR 1=1; DROP TABLE registered_models"}),
                 400, "INVALID_PARAMETER_VALUE")
    assert ok(api_get(http, server, "registered-models/get", {"name": uni}))["registered_model"]["name"] == uni


def test_aliases_over_http(http, server):
    model = name()
    register(http, server, model, sources=("s3://b/1", "s3://b/2"))
    ok(api_post(http, server, "registered-models/alias", {"name": model, "alias": "champion", "version": "1"}))
    ok(api_post(http, server, "registered-models/alias", {"name": model, "alias": "champion", "version": "2"}))
    v = ok(api_get(http, server, "registered-models/alias", {"name": model, "alias": "champion"}))["model_version"]
    assert v["version"] == "2" and v["aliases"] == ["champion"]
    rm = ok(api_get(http, server, "registered-models/get", {"name": model}))["registered_model"]
    assert rm["aliases"] == [{"alias": "champion", "version": "2"}]
    body = mlflow_error(api_post(http, server, "registered-models/alias",
                                 {"name": model, "alias": "latest", "version": "1"}),
                        400, "INVALID_PARAMETER_VALUE")
    assert "reserved" in body["message"]
    ok(delete(http, server, "model-versions/delete", {"name": model, "version": "2"}))
    mlflow_error(api_get(http, server, "registered-models/alias", {"name": model, "alias": "champion"}),
                 404, "RESOURCE_DOES_NOT_EXIST")
    ok(delete(http, server, "registered-models/alias", {"name": model, "alias": "champion"}))


def test_latest_versions_both_methods_and_stages(http, server):
    model = name()
    register(http, server, model, sources=("s3://b/1", "s3://b/2", "s3://b/3"))
    ok(api_post(http, server, "model-versions/transition-stage",
                {"name": model, "version": "1", "stage": "staging", "archive_existing_versions": False}))
    moved = ok(api_post(http, server, "model-versions/transition-stage",
                        {"name": model, "version": "2", "stage": "Staging", "archive_existing_versions": True}))
    assert moved["model_version"]["current_stage"] == "Staging"
    post = ok(api_post(http, server, "registered-models/get-latest-versions", {"name": model}))
    assert [(v["version"], v["current_stage"]) for v in post["model_versions"]] == [
        ("1", "Archived"), ("2", "Staging"), ("3", "None")]
    got = ok(http.get(f"{server.url}{API}/registered-models/get-latest-versions",
                      params=[("name", model), ("stages", "staging"), ("stages", "None")]))
    assert [v["version"] for v in got["model_versions"]] == ["2", "3"]
    mlflow_error(api_post(http, server, "registered-models/get-latest-versions",
                          {"name": model, "stages": ["Live"]}), 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(api_post(http, server, "model-versions/transition-stage",
                          {"name": model, "version": "3", "stage": "Archived", "archive_existing_versions": True}),
                 400, "INVALID_PARAMETER_VALUE")


def test_search_paging_and_prompt_exclusion(http, server):
    prefix = name("page")
    for i in range(5):
        ok(api_post(http, server, "registered-models/create", {"name": f"{prefix}-{i}"}))
    ok(api_post(http, server, "registered-models/create",
                {"name": f"{prefix}-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}))
    seen, token = [], None
    for _ in range(10):
        params = {"filter": f"name LIKE '{prefix}-%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
                  "max_results": 2}
        if token:
            params["page_token"] = token
        page = ok(api_get(http, server, "registered-models/search", params))
        seen += [m["name"] for m in page.get("registered_models", [])]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == [f"{prefix}-{i}" for i in range(5)]
    prompts = ok(api_get(http, server, "registered-models/search",
                         {"filter": f"name LIKE '{prefix}-%' AND tags.`mlflow.prompt.is_prompt` = 'true'"}))
    assert [m["name"] for m in prompts["registered_models"]] == [f"{prefix}-prompt"]
    mlflow_error(api_get(http, server, "registered-models/search", {"page_token": "garbage"}),
                 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(api_get(http, server, "registered-models/search", {"max_results": 5000}),
                 400, "INVALID_PARAMETER_VALUE")


def test_model_versions_search_and_tags(http, server):
    model = name()
    register(http, server, model, sources=("s3://b/1", "s3://b/2"))
    ok(api_post(http, server, "model-versions/set-tag", {"name": model, "version": "2", "key": "ok", "value": "1"}))
    found = ok(api_get(http, server, "model-versions/search",
                       {"filter": f"name = '{model}' AND tags.ok = '1'", "max_results": 10000}))
    assert [v["version"] for v in found["model_versions"]] == ["2"]
    ok(delete(http, server, "model-versions/delete-tag", {"name": model, "version": "2", "key": "ok"}))
    ok(delete(http, server, "model-versions/delete-tag", {"name": model, "version": "2", "key": "ok"}))
    none = ok(api_get(http, server, "model-versions/search", {"filter": f"name = '{model}' AND tags.ok = '1'"}))
    assert none == {}
    mlflow_error(api_get(http, server, "model-versions/search", {"filter": "current_stage = 'None'"}),
                 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(api_post(http, server, "model-versions/set-tag",
                          {"name": model, "version": "1", "key": "../x", "value": "1"}),
                 400, "INVALID_PARAMETER_VALUE")


def test_rename_update_delete(http, server):
    model = name()
    register(http, server, model, sources=("s3://b/1",))
    other = name()
    register(http, server, other, sources=())
    body = mlflow_error(api_post(http, server, "registered-models/rename", {"name": model, "new_name": other}),
                        400, "RESOURCE_ALREADY_EXISTS")
    assert body["message"] == f"Registered Model (name={other}) already exists."
    renamed = ok(api_post(http, server, "registered-models/rename", {"name": model, "new_name": model + "-r"}))
    assert renamed["registered_model"]["latest_versions"][0]["name"] == model + "-r"
    upd = ok(http.patch(f"{server.url}{API}/registered-models/update",
                        json={"name": model + "-r", "description": "new"}))
    assert upd["registered_model"]["description"] == "new"
    mv = ok(http.patch(f"{server.url}{API}/model-versions/update",
                       json={"name": model + "-r", "version": "1", "description": "v"}))
    assert mv["model_version"]["description"] == "v"
    ok(delete(http, server, "registered-models/delete", {"name": model + "-r"}))
    mlflow_error(delete(http, server, "registered-models/delete", {"name": model + "-r"}),
                 404, "RESOURCE_DOES_NOT_EXIST")
    # Registered again, numbering starts over.
    assert register(http, server, model + "-r")[0]["version"] == "1"
