"""Feast's feature server HTTP API on `cairn server`, end to end, on SQLite and
PostgreSQL metadata and on both online stores (embedded LMDB; Redis when
CAIRN_TEST_REDIS_URI is set, as scripts/test does):

- `cairn features apply` and `cairn features materialize` run as separate processes
  while the server runs; the server serves what they wrote without a restart;
- /get-online-features answers column by column exactly in Feast's shape, with
  PRESENT / NULL_VALUE / NOT_FOUND / OUTSIDE_MAX_AGE, full feature names and services;
- /push and /write-to-online-store write online; an older row never replaces a newer one;
- /push to offline: training sets and materialization read the pushed rows;
- /materialize and /materialize-incremental; a materialization killed with -9 part-way
  is finished by running it again;
- bad requests get 4xx with the field named; nothing stored changes.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BINARY, cairn_cli

REDIS_URI = os.environ.get("CAIRN_TEST_REDIS_URI", "").strip()

DEFINITIONS = """
entities:
  - {name: driver, join_keys: [driver_id], value_type: Int64}
sources:
  - name: stats_src
    path: data/stats.csv
    timestamp_field: event_timestamp
    created_timestamp_field: created
  - {name: live, type: push, batch_source: stats_src}
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 0
    source: stats_src
    schema: [{name: conv_rate, type: Float32}, {name: trips, type: Int64}, {name: tier, type: String}]
  - name: fresh_stats
    entities: [driver]
    ttl: 1h
    source: stats_src
    schema: [{name: trips, type: Int64}]
  - name: live_stats
    entities: [driver]
    source: live
    schema: [{name: conv_rate, type: Float64}, {name: active, type: Bool}]
on_demand_feature_views:
  - name: derived
    sources: [driver_stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: trips_plus, type: Float64, expression: trips + bonus}
      - {name: tier_label, type: String, expression: "coalesce(upper(tier), 'NONE')"}
feature_services:
  - name: svc
    features:
      - {view: driver_stats, features: [trips], alias: ds}
      - fresh_stats
"""

STATS = """driver_id,event_timestamp,created,conv_rate,trips,tier
1001,2026-01-01 10:00:00,2026-01-01 10:00:00,0.5,10,gold
1001,2026-01-01 11:00:00,2026-01-01 11:00:00,0.7037263512611389,11,
1002,2026-01-01 09:00:00,2026-01-01 09:00:00,0.25,3,silver
"""


@pytest.fixture(params=["lmdb", "redis"])
def feature_server(request, server_factory, tmp_path):
    extra = []
    if request.param == "redis":
        if not REDIS_URI:
            pytest.skip("Redis online store skipped: set CAIRN_TEST_REDIS_URI")
        extra = ["--online-store", REDIS_URI]
    return start_feature_server(server_factory, tmp_path, extra)


def start_feature_server(server_factory, tmp_path, extra):
    """A server with the test repo applied; `extra` are more server flags."""
    project = f"fs{uuid.uuid4().hex[:8]}"
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "cairn_features.yaml").write_text(f"project: {project}\n")
    (repo / "defs.yaml").write_text(DEFINITIONS)
    (repo / "data" / "stats.csv").write_text(STATS)
    # Server-side training-set files may only live here (--training-data-root).
    training = tmp_path / "training"
    training.mkdir(exist_ok=True)
    server = server_factory.new(extra_args=extra + ["--training-data-root", str(training)])
    server.training_root = training
    server.data_dir.mkdir(parents=True, exist_ok=True)
    applied = cairn_cli(server, "features", "apply", "--repo", str(repo))
    assert applied.returncode == 0, applied.stderr
    server.start()
    server.repo = repo
    server.project = project
    server.online_args = extra
    return server


def cli(server, *args):
    done = cairn_cli(server, "features", *args, *server.online_args
                     if args[0].startswith("materialize") or args[0] == "apply" else ())
    return done


def get(server, body):
    return requests.post(server.url + "/get-online-features", json=body, timeout=30)


def test_materialized_values_are_served_in_feasts_shape(feature_server):
    done = cli(feature_server, "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00",
               "--views", "driver_stats")
    assert done.returncode == 0, done.stderr
    assert "driver_stats: 2 entities" in done.stdout

    r = get(feature_server, {"features": ["driver_stats:conv_rate", "driver_stats:tier",
                                          "driver_stats:trips"],
                             "entities": {"driver_id": [1001, 1002, 9999]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metadata"] == {"feature_names": ["driver_id", "conv_rate", "tier", "trips"]}
    key, conv, tier, trips = body["results"]
    assert key == {"values": [1001, 1002, 9999], "statuses": ["PRESENT"] * 3,
                   "event_timestamps": ["1970-01-01T00:00:00Z"] * 3}
    # Float32 widened to double as Feast prints it.
    assert conv["values"] == [pytest.approx(0.7037263512611389, rel=1e-7), 0.25, None]
    assert conv["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    assert conv["event_timestamps"] == ["2026-01-01T11:00:00Z", "2026-01-01T09:00:00Z",
                                        "1970-01-01T00:00:00Z"]
    assert tier["values"] == [None, "silver", None]
    assert tier["statuses"] == ["NULL_VALUE", "PRESENT", "NOT_FOUND"]
    assert trips["values"] == [11, 3, None]


def test_on_demand_features_online(feature_server):
    assert cli(feature_server, "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00",
               "--views", "driver_stats").returncode == 0
    r = get(feature_server, {"features": ["derived:trips_plus", "derived:tier_label"],
                             "entities": {"driver_id": [1001, 1002], "bonus": [0.5, 2]},
                             "full_feature_names": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metadata"]["feature_names"] == ["driver_id", "bonus", "derived__trips_plus",
                                                 "derived__tier_label"]
    assert body["results"][2]["values"] == [11.5, 5.0]
    assert body["results"][3]["values"] == ["NONE", "SILVER"]
    assert body["results"][2]["statuses"] == ["PRESENT", "PRESENT"]
    r = get(feature_server, {"features": ["derived:trips_plus"], "entities": {"driver_id": [1]}})
    assert r.status_code == 400 and "missing 'bonus'" in r.json()["detail"]


def test_statistics_in_the_api_and_prometheus(feature_server):
    done = cli(feature_server, "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00",
               "--views", "driver_stats")
    assert done.returncode == 0, done.stderr
    r = requests.get(feature_server.url + "/api/cairn/v1/features/stats",
                     params={"view": "driver_stats"}, timeout=30)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["view"] == "driver_stats" and stats["rows"] == 3
    trips = next(f for f in stats["features"] if f["name"] == "trips")
    assert (trips["min"], trips["max"]) == (3, 11)
    tier = next(f for f in stats["features"] if f["name"] == "tier")
    assert tier["nulls"] == 1
    assert tier["top"] == [{"value": "gold", "count": 1}, {"value": "silver", "count": 1}]
    metrics = requests.get(feature_server.url + "/metrics", timeout=30).text
    line = next(l for l in metrics.splitlines()
                if l.startswith("cairn_feature_view_freshness_seconds") and 'view="driver_stats"' in l)
    assert float(line.split()[-1]) > 3600 * 24 * 300  # 2026-01-01 is long ago
    assert 'cairn_feature_null_ratio{project="%s",view="driver_stats",feature="tier"} 0.333' % \
        feature_server.project in metrics
    cli_stats = cairn_cli(feature_server, "features", "stats", "driver_stats")
    assert cli_stats.returncode == 0, cli_stats.stderr
    assert "driver_stats (project" in cli_stats.stdout and "3 rows" in cli_stats.stdout
    r = requests.get(feature_server.url + "/api/cairn/v1/features/stats",
                     params={"view": "fresh_stats"}, timeout=30)
    assert r.status_code == 404 and "cairn features stats fresh_stats" in r.json()["message"]


def test_ttl_full_names_and_services(feature_server):
    done = cli(feature_server, "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00",
               "--views", "driver_stats,fresh_stats")
    assert done.returncode == 0, done.stderr
    r = get(feature_server, {"feature_service": "svc", "full_feature_names": True,
                             "entities": {"driver_id": [1001]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["metadata"]["feature_names"] == ["driver_id", "ds__trips", "fresh_stats__trips"]
    # fresh_stats has a 1 hour ttl and its row is from 2026-01-01: too old to serve.
    assert body["results"][1]["values"] == [11]
    assert body["results"][2]["statuses"] == ["OUTSIDE_MAX_AGE"]
    assert body["results"][2]["values"] == [None]


def test_push_and_write_to_online_store_keep_the_newest(feature_server):
    url = feature_server.url
    push = {"push_source_name": "live", "to": "online",
            "df": {"driver_id": [1001, 1002], "event_timestamp": ["2026-02-01T10:00:00Z",
                                                                  "2026-02-01 10:00:00"],
                   "conv_rate": [0.9, 0.1], "active": [True, False]}}
    r = requests.post(url + "/push", json=push, timeout=30)
    assert r.status_code == 200 and r.json() is None, r.text
    older = {"push_source_name": "live", "df": {"driver_id": [1001],
                                                "event_timestamp": ["2026-01-01T00:00:00Z"],
                                                "conv_rate": [0.0], "active": [False]}}
    assert requests.post(url + "/push", json=older, timeout=30).status_code == 200
    body = get(feature_server, {"features": ["live_stats:conv_rate", "live_stats:active"],
                                "entities": {"driver_id": [1001, 1002]}}).json()
    assert body["results"][1]["values"] == [0.9, 0.1]
    assert body["results"][2]["values"] == [True, False]
    assert body["results"][1]["event_timestamps"] == ["2026-02-01T10:00:00Z"] * 2

    write = {"feature_view_name": "driver_stats",
             "df": {"driver_id": [7], "event_timestamp": [1767261600],  # Unix seconds
                    "conv_rate": [0.5], "trips": [70], "tier": ["bronze"]}}
    r = requests.post(url + "/write-to-online-store", json=write, timeout=30)
    assert r.status_code == 200, r.text
    body = get(feature_server, {"features": ["driver_stats:trips", "driver_stats:tier"],
                                "entities": {"driver_id": [7]}}).json()
    assert body["results"][1]["values"] == [70]
    assert body["results"][2]["values"] == ["bronze"]
    assert body["results"][1]["event_timestamps"] == ["2026-01-01T10:00:00Z"]


def test_materialize_endpoints(feature_server):
    url = feature_server.url
    r = requests.post(url + "/materialize", json={"start_ts": "2026-01-01T00:00:00",
                                                  "end_ts": "2026-01-01T10:30:00",
                                                  "feature_views": ["driver_stats"]}, timeout=60)
    assert r.status_code == 200 and r.json() is None, r.text
    trips = get(feature_server, {"features": ["driver_stats:trips"],
                                 "entities": {"driver_id": [1001]}}).json()["results"][1]
    assert trips["values"] == [10]
    r = requests.post(url + "/materialize-incremental",
                      json={"end_ts": "2026-01-02T00:00:00", "feature_views": ["driver_stats"]},
                      timeout=60)
    assert r.status_code == 200, r.text
    trips = get(feature_server, {"features": ["driver_stats:trips"],
                                 "entities": {"driver_id": [1001]}}).json()["results"][1]
    assert trips["values"] == [11]


def wait_for_view(server, body, want_status):
    """The running server picks up an apply within moments; polls until it answers."""
    deadline = time.monotonic() + 5
    while True:
        r = get(server, body)
        if r.status_code == want_status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_an_apply_drops_the_online_tables_no_view_reads(feature_server):
    repo: Path = feature_server.repo
    view = ("feature_views:\n  - name: gone\n    entities: [driver]\n    ttl: 0\n"
            "    source: stats_src\n    schema: [{name: trips, type: Int64}]\n")
    (repo / "gone.yaml").write_text(view)
    assert cli(feature_server, "apply", "--repo", str(repo)).returncode == 0
    done = cli(feature_server, "materialize", "2026-01-01T00:00:00", "2026-01-02T00:00:00",
               "--views", "gone")
    assert done.returncode == 0, done.stderr
    body = {"features": ["gone:trips"], "entities": {"driver_id": [1001]}}
    assert wait_for_view(feature_server, body, 200).json()["results"][1]["values"] == [11]

    # Taken out: its table is dropped, and apply says so.
    (repo / "gone.yaml").unlink()
    done = cli(feature_server, "apply", "--repo", str(repo))
    assert done.returncode == 0, done.stderr
    assert f"Dropped online table {feature_server.project}/gone/" in done.stdout, done.stdout
    assert wait_for_view(feature_server, body, 404).status_code == 404

    # Brought back unchanged, it serves nothing until materialized again:
    # the old records are gone, not resurrected.
    (repo / "gone.yaml").write_text(view)
    done = cli(feature_server, "apply", "--repo", str(repo))
    assert done.returncode == 0 and "Dropped" not in done.stdout, done.stdout + done.stderr
    r = wait_for_view(feature_server, body, 200)
    assert r.status_code == 200, r.text
    assert r.json()["results"][1]["statuses"] == ["NOT_FOUND"]


def test_an_apply_reaches_the_running_server(feature_server):
    repo: Path = feature_server.repo
    (repo / "more.yaml").write_text(
        "feature_views:\n  - name: extra\n    entities: [driver]\n    source: stats_src\n"
        "    schema: [{name: trips, type: Int64}]\n")
    assert cairn_cli(feature_server, "features", "apply", "--repo", str(repo)).returncode == 0
    r = wait_for_view(feature_server, {"features": ["extra:trips"], "entities": {"driver_id": [1]}},
                      200)
    assert r.status_code == 200, r.text
    assert r.json()["results"][1]["statuses"] == ["NOT_FOUND"]


def test_training_sets_too_big_for_json_name_out_path(server_factory, tmp_path):
    server = start_feature_server(server_factory, tmp_path, ["--training-set-json-max-cells", "10"])
    body = {"features": ["driver_stats:trips"],
            "entities": {"driver_id": [1001] * 3, "event_timestamp": ["2026-01-01T12:00:00Z"] * 3}}
    # 3 rows x 3 columns (driver_id, event_timestamp, trips): within the cap.
    assert historical(server, body).json()["data"]["trips"] == [11, 11, 11]
    body["entities"] = {key: values + values[:1] for key, values in body["entities"].items()}
    r = historical(server, body)
    assert r.status_code == 400, r.text
    detail = r.json()["message"]
    assert "4 rows x 3 columns" in detail and "training_set_json_max_cells" in detail, detail
    assert "out_path" in detail, detail
    # The fix it names works: the same set, written to a file on the server.
    out = server.training_root / "big.csv"
    r = historical(server, {**body, "out_path": "big.csv"})
    assert r.status_code == 200 and r.json()["row_count"] == 4, r.text
    assert out.read_text().count("\n") == 5  # header + 4 rows


@pytest.mark.parametrize("body,status,needle", [
    ({"features": ["driver_stats:nope"], "entities": {"driver_id": [1]}}, 404,
     "feature view 'driver_stats' has no feature 'nope'"),
    ({"features": ["ghost:x"], "entities": {"driver_id": [1]}}, 404, "no feature view named 'ghost'"),
    ({"feature_service": "nosvc", "entities": {"driver_id": [1]}}, 404, "no feature service"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": ["x"]}}, 400,
     "'driver_id' must be an integer"),
    ({"features": ["driver_stats:trips"], "entities": {"other": [1]}}, 400, "missing 'driver_id'"),
    ({"features": ["driver_stats:trips"]}, 400, "entities"),
    ({"entities": {"driver_id": [1]}}, 400, "exactly one of features"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1.5]}}, 400,
     "'driver_id' must be an integer"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [True]}}, 400,
     "'driver_id' must be an integer"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [[1]]}}, 400,
     "entities.driver_id[0]: expected an integer, a number, a string or a boolean"),
])
def test_bad_requests_name_the_field(feature_server, body, status, needle):
    r = get(feature_server, body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]
    assert set(r.json()) == {"detail"}, "Feast's shape, as FastAPI words HTTP errors"


def test_bad_writes_change_nothing(feature_server):
    url = feature_server.url
    r = requests.post(url + "/get-online-features", data=b"{not json", timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "Malformed JSON" in r.json()["detail"]
    bad = {"feature_view_name": "driver_stats",
           "df": {"driver_id": [5, 6], "event_timestamp": ["2026-01-01", "yesterday"],
                  "trips": [1, 2]}}
    r = requests.post(url + "/write-to-online-store", json=bad, timeout=30)
    assert r.status_code == 400 and "df.event_timestamp[1]" in r.json()["detail"], r.text
    body = get(feature_server, {"features": ["driver_stats:trips"],
                                "entities": {"driver_id": [5, 6]}}).json()
    assert body["results"][1]["statuses"] == ["NOT_FOUND", "NOT_FOUND"]
    r = requests.post(url + "/push", json={"push_source_name": "nope", "df": {}}, timeout=30)
    assert r.status_code == 404
    r = requests.post(url + "/materialize", json={"end_ts": "2026-01-01"}, timeout=30)
    assert r.status_code == 400 and "start_ts" in r.json()["detail"]
    r = requests.post(url + "/push", json={"push_source_name": "live", "to": "sideways", "df": {}},
                      timeout=30)
    assert r.status_code == 400 and "to: 'sideways'" in r.json()["detail"]


def test_historical_from_the_cli(feature_server, tmp_path):
    entities = tmp_path / "entities.csv"
    entities.write_text("driver_id,event_timestamp,label\n1001,2026-01-01 10:30:00,1\n"
                        "1002,2026-01-01 12:00:00,0\n")
    out = tmp_path / "train.csv"
    done = cairn_cli(feature_server, "features", "historical", "--entities", str(entities),
                     "--features", "driver_stats:trips,fresh_stats:trips", "--full-feature-names",
                     "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "driver_id,event_timestamp,label,driver_stats__trips,fresh_stats__trips"
    assert lines[1].endswith(",1,10,10")
    assert lines[2].endswith(",0,3,")  # fresh_stats: 09:00 is more than 1h before 12:00


def test_historical_from_the_cli_with_another_time_column(feature_server, tmp_path):
    entities = tmp_path / "entities.csv"
    entities.write_text("driver_id,at,label\n1001,2026-01-01 10:30:00,1\n")
    out = tmp_path / "train.csv"
    twice = cairn_cli(feature_server, "features", "historical", "--entities", str(entities),
                      "--features", "driver_stats:trips,fresh_stats:trips", "--timestamp-column", "at",
                      "--out", str(out))
    assert twice.returncode != 0 and "--full-feature-names" in twice.stderr, twice.stderr
    done = cairn_cli(feature_server, "features", "historical", "--entities", str(entities),
                     "--features", "driver_stats:trips", "--timestamp-column", "at", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines() == ["driver_id,at,label,trips", "1001,2026-01-01 10:30:00,1,10"]


def test_plan_and_apply_check_the_repo_against_its_data(server_factory, tmp_path):
    """A typo in a path, a missing column or a key of the wrong type fails plan and apply with
    the YAML file and line, not later at training time; --skip-source-checks lets it through."""
    server = server_factory.new()
    server.data_dir.mkdir(parents=True, exist_ok=True)
    repo = tmp_path / "checked"
    (repo / "data").mkdir(parents=True)
    (repo / "cairn_features.yaml").write_text("project: checked\n")
    (repo / "data" / "flights.csv").write_text("origin,dep_time,delay\nANC,2026-01-01 10:00:00,3.5\n")
    (repo / "defs.yaml").write_text(
        "entities:\n"
        "  - {name: airport, join_keys: [origin]}\n"
        "sources:\n"
        "  - {name: flights, path: data/flight.csv, timestamp_field: dep_time}\n"
        "feature_views:\n"
        "  - {name: delays, entities: [airport], source: flights, schema: [{name: delay, type: Float64}]}\n")
    for action in ("plan", "apply"):
        done = cairn_cli(server, "features", action, "--repo", str(repo))
        assert done.returncode != 0, done.stdout
        assert "defs.yaml:4" in done.stderr and "data/flight.csv" in done.stderr, done.stderr
    (repo / "defs.yaml").write_text((repo / "defs.yaml").read_text().replace("flight.csv", "flights.csv"))
    done = cairn_cli(server, "features", "apply", "--repo", str(repo))
    assert done.returncode != 0
    assert "defs.yaml:2" in done.stderr and "set value_type: String" in done.stderr, done.stderr
    skipped = cairn_cli(server, "features", "apply", "--repo", str(repo), "--skip-source-checks")
    assert skipped.returncode == 0, skipped.stderr


def historical(server, body, **kwargs):
    return requests.post(server.url + "/api/cairn/v1/features/historical", json=body, timeout=60,
                         **kwargs)


def test_training_sets_over_http_equal_the_clis(feature_server, tmp_path):
    entities = {"driver_id": [1001, 1002, 1001, 9999, 1001, 1002],
                "event_timestamp": ["2026-01-01T10:30:00Z", "2026-01-01 12:00:00",
                                    "2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z",
                                    "2026-01-01T12:00:00Z", 1767261600],  # 10:00:00, Unix seconds
                "label": [1, 0, 1.5, None, 1.5, 0],
                "bonus": [0.5, 1.0, 2.0, 3.0, 2.0, 0.0]}
    features = ["driver_stats:trips", "fresh_stats:trips", "derived:trips_plus",
                "derived:tier_label"]
    r = historical(feature_server, {"features": features, "full_feature_names": True,
                                    "entities": entities})
    assert r.status_code == 200, r.text
    body = r.json()
    names = ["driver_id", "event_timestamp", "label", "bonus", "driver_stats__trips",
             "fresh_stats__trips", "derived__trips_plus", "derived__tier_label"]
    assert [c["name"] for c in body["columns"]] == names
    assert body["row_count"] == 6 and list(body["data"]) == names
    data = body["data"]
    # Every row kept, in order, duplicates (rows 2 and 4) included.
    assert data["driver_id"] == entities["driver_id"]
    assert data["event_timestamp"][5] == "2026-01-01T10:00:00Z"
    assert data["label"] == [1.0, 0.0, 1.5, None, 1.5, 0.0]  # integers among numbers read as numbers
    assert data["driver_stats__trips"] == [10, 3, 11, None, 11, 3]
    # fresh_stats has a 1 h ttl, inclusive: 09:00 serves 10:00:00 but not 12:00.
    assert data["fresh_stats__trips"] == [10, None, 11, None, 11, 3]
    assert data["derived__trips_plus"] == [10.5, 4.0, 13.0, None, 13.0, 3.0]
    assert data["derived__tier_label"] == ["GOLD", "SILVER", "NONE", "NONE", "NONE", "SILVER"]

    # The CLI, on the same rows, writes the same training set.
    csv = feature_server.training_root / "entities.csv"
    csv.write_text("driver_id,event_timestamp,label,bonus\n" + "".join(
        f"{d},{t},{'' if l is None else float(l)},{b}\n" for d, t, l, b in zip(
            entities["driver_id"], data["event_timestamp"], entities["label"], entities["bonus"])))
    out = tmp_path / "train.csv"
    done = cairn_cli(feature_server, "features", "historical", "--entities", str(csv),
                     "--features", ",".join(features), "--full-feature-names", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(names)
    for row, line in enumerate(lines[1:]):
        cells = line.split(",")
        for name, cell in zip(names[4:], cells[4:]):
            http = data[name][row]
            assert (cell == "") == (http is None), (row, name, line)
            if http is not None and not isinstance(http, str):
                assert float(cell) == pytest.approx(http), (row, name, line)
            elif http is not None:
                assert cell == http, (row, name, line)

    # The same through server-side files: the answer names the file, the
    # file holds what the CLI wrote.
    served = feature_server.training_root / "served.csv"
    r = historical(feature_server, {"features": features, "full_feature_names": True,
                                    "entities_path": str(csv), "out_path": "served.csv"})
    assert r.status_code == 200, r.text
    # Answers name files relative to the root, as the server's paths are its own.
    assert r.json()["out_path"] == "served.csv" and "data" not in r.json()
    assert r.json()["row_count"] == 6
    assert served.read_text() == out.read_text()
    # Parquet, by extension, read back through the same endpoint.
    parquet = feature_server.training_root / "served.parquet"
    r = historical(feature_server, {"feature_service": "svc", "full_feature_names": True,
                                    "entities_path": "entities.csv", "out_path": str(parquet)})
    assert r.status_code == 200, r.text
    assert parquet.read_bytes()[:4] == b"PAR1"
    back = historical(feature_server, {"features": ["driver_stats:conv_rate"],
                                       "entities_path": str(parquet)}).json()
    assert back["data"]["ds__trips"] == [10, 3, 11, None, 11, 3]  # the service's alias
    # Float32 values print in their own shortest form.
    assert back["data"]["conv_rate"][:3] == [0.5, 0.25, 0.70372635]


def test_training_sets_over_http_cut_off_late_rows_and_old_versions(feature_server):
    rows = {"driver_id": [1001, 1001], "event_timestamp": ["2026-01-01T12:00:00Z"] * 2}
    body = {"features": ["driver_stats:trips"], "entities": rows}
    assert historical(feature_server, body).json()["data"]["trips"] == [11, 11]
    # The 11:00 row was created at 11:00: a cutoff before it hides it.
    late = historical(feature_server, {**body, "as_of_created": "2026-01-01T10:30:00Z"}).json()
    assert late["data"]["trips"] == [10, 10]
    # Version 1 of the registry is what was applied; a version never applied is named.
    assert historical(feature_server, {**body, "registry_version": 1}).status_code == 200
    r = historical(feature_server, {**body, "registry_version": 99})
    assert r.status_code == 404 and "99" in r.json()["message"], r.text


@pytest.mark.parametrize("body,status,needle", [
    ({"features": ["driver_stats:nope"], "entities": {"driver_id": [1], "event_timestamp": [0]}},
     404, "feature view 'driver_stats' has no feature 'nope'"),
    ({"feature_service": "nosvc", "entities": {"driver_id": [1], "event_timestamp": [0]}}, 404,
     "no feature service"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1]}}, 400,
     "event_timestamp"),
    ({"features": ["driver_stats:trips"], "entities": {"event_timestamp": [0]}}, 400,
     "driver_id"),
    ({"features": ["driver_stats:trips"],
      "entities": {"driver_id": ["a"], "event_timestamp": [0]}}, 400, "driver_id"),
    ({"features": ["driver_stats:trips"],
      "entities": {"driver_id": [1, 2], "event_timestamp": [0]}}, 400,
     "entities: every column must have the same length"),
    ({"features": ["driver_stats:trips"],
      "entities": {"driver_id": [1], "event_timestamp": ["soon"]}}, 400,
     "entities.event_timestamp[0]"),
    ({"features": ["driver_stats:trips"],
      "entities": {"driver_id": [1, 2], "event_timestamp": [0, 0], "label": [1, "x"]}}, 400,
     "entities.label[1]: expected BIGINT"),
    ({"features": ["driver_stats:trips"]}, 400, "exactly one of entities"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1]},
      "entities_path": "/tmp/e.csv"}, 400, "exactly one of entities"),
    ({"features": ["driver_stats:trips"], "entities_path": "e.csv"}, 404,
     "entities_path: no file 'e.csv' under the root"),
    ({"features": ["driver_stats:trips"], "entities_path": "/nonexistent/e.parquet"}, 403,
     "entities_path: the path leads outside the server's training data root"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1], "event_timestamp": [0]},
      "as_of_created": "later"}, 400, "as_of_created"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1], "event_timestamp": [0]},
      "out_path": "/nonexistent/dir/train.parquet"}, 403, "out_path"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1], "event_timestamp": [0]},
      "out_path": "nodir/train.parquet"}, 404, "out_path: no folder 'nodir'"),
    ({"features": ["driver_stats:trips"], "entities": {"driver_id": [1], "event_timestamp": [0]},
      "out_path": "train.txt"}, 400, "out_path: name a .parquet or .csv file"),
    ({"entities": {"driver_id": [1], "event_timestamp": [0]}}, 400, "exactly one of features"),
])
def test_bad_training_set_requests_name_the_item(feature_server, body, status, needle):
    r = historical(feature_server, body)
    assert r.status_code == status, r.text
    assert needle in r.json()["message"], r.text


def test_offline_pushes_reach_training_sets_and_materialization(feature_server, tmp_path):
    url = feature_server.url
    pushed = {"push_source_name": "live", "to": "offline",
              "df": {"driver_id": [2001], "event_timestamp": ["2026-01-03T00:00:00Z"],
                     "conv_rate": [0.42], "active": [True]}}
    r = requests.post(url + "/push", json=pushed, timeout=30)
    assert r.status_code == 200 and r.json() is None, r.text
    both = {"push_source_name": "live", "to": "online_and_offline",
            "df": {"driver_id": [2002], "event_timestamp": ["2026-01-03 06:00:00"],
                   "conv_rate": [0.5], "active": [False]}}
    assert requests.post(url + "/push", json=both, timeout=30).status_code == 200
    # A push missing the event time is refused whole: no file, no online row.
    bad = {"push_source_name": "live", "to": "online_and_offline",
           "df": {"driver_id": [2003], "conv_rate": [0.9]}}
    r = requests.post(url + "/push", json=bad, timeout=30)
    assert r.status_code == 400 and "'event_timestamp'" in r.json()["detail"], r.text

    live = {"features": ["live_stats:conv_rate", "live_stats:active"],
            "entities": {"driver_id": [2001, 2002, 2003]}}
    body = get(feature_server, live).json()
    assert body["results"][1]["statuses"] == ["NOT_FOUND", "PRESENT", "NOT_FOUND"]

    entities = tmp_path / "entities.csv"
    entities.write_text("driver_id,event_timestamp\n2001,2026-01-04 00:00:00\n"
                        "2002,2026-01-04 00:00:00\n2003,2026-01-04 00:00:00\n"
                        "2001,2026-01-02 00:00:00\n")
    out = tmp_path / "train.csv"
    done = cairn_cli(feature_server, "features", "historical", "--entities", str(entities),
                     "--features", "live_stats:conv_rate,live_stats:active", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = out.read_text().splitlines()
    assert rows[1].endswith(",0.42,true"), rows
    assert rows[2].endswith(",0.5,false"), rows
    assert rows[3].endswith(",,"), rows  # never pushed
    assert rows[4].endswith(",,"), rows  # before its push

    r = requests.post(url + "/materialize", json={"start_ts": "2026-01-02T00:00:00",
                                                  "end_ts": "2026-01-05T00:00:00",
                                                  "feature_views": ["live_stats"]}, timeout=60)
    assert r.status_code == 200, r.text
    body = get(feature_server, live).json()
    assert body["results"][1]["values"] == [0.42, 0.5, None]
    assert body["results"][2]["values"] == [True, False, None]


BIG_ROWS = 1_500_000


def test_a_killed_materialization_is_finished_by_running_it_again(feature_server):
    """kill -9 part-way through: what was written stays valid, nothing is recorded,
    and running the command again completes the view with the right values."""
    repo: Path = feature_server.repo
    # DuckDB makes the rows itself; every value is a function of the id, so the
    # rerun must produce exactly the same answers.
    features = ", ".join(f"((i * {k + 3}) % 1000) / 8.0 AS f{k}" for k in range(20))
    schema = ", ".join(f"{{name: f{k}, type: Float64}}" for k in range(20))
    (repo / "big.yaml").write_text(
        "sources:\n  - name: gen\n    timestamp_field: ts\n"
        f"    query: \"SELECT i AS driver_id, TIMESTAMP '2026-01-01' + to_seconds(i % 3600) AS ts, "
        f"{features} FROM range({BIG_ROWS}) t(i)\"\n"
        "feature_views:\n  - name: big\n    entities: [driver]\n    source: gen\n"
        f"    schema: [{schema}]\n")
    assert cairn_cli(feature_server, "features", "apply", "--repo", str(repo)).returncode == 0

    command = [str(BINARY), "features", "materialize", "2025-12-31T00:00:00", "2026-01-02T00:00:00",
               "--views", "big", "--no-stats", "--data-dir", str(feature_server.data_dir),
               *feature_server.online_args]
    if feature_server.store_uri:
        command += ["--store", feature_server.store_uri]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    progress = b""
    while True:  # the progress line is redrawn with \r after every batch written
        chunk = proc.stderr.read1(256)
        progress += chunk
        if not chunk or re.search(rb"big\s+\d+% [1-9]\d*/", progress):
            break
    proc.kill()
    proc.wait()
    assert re.search(rb"big\s+\d+% [1-9]\d*/", progress), progress
    assert not re.search(rb"big\s+100%", progress), "finished before it could be killed"

    sample = list(range(0, BIG_ROWS, 7919))
    body = {"features": ["big:f0", "big:f19"], "entities": {"driver_id": sample}}
    statuses = get(feature_server, body).json()["results"][1]["statuses"]
    assert "PRESENT" in statuses and "NOT_FOUND" in statuses  # killed part-way

    done = cli(feature_server, "materialize-incremental", "2026-01-02T00:00:00", "--views", "big",
               "--no-stats")
    assert done.returncode == 0, done.stderr
    # Never recorded, so the incremental run redid the whole window (ttl 0: all history).
    assert f"big: {BIG_ROWS} entities" in done.stdout, done.stdout
    results = get(feature_server, body).json()["results"]
    assert results[1]["statuses"] == ["PRESENT"] * len(sample)
    assert results[1]["values"] == [((i * 3) % 1000) / 8.0 for i in sample]
    assert results[2]["values"] == [((i * 22) % 1000) / 8.0 for i in sample]
    # Removing the view drops its 1.5M records (in Redis, the server shared by the tests).
    (repo / "big.yaml").unlink()
    done = cli(feature_server, "apply", "--repo", str(repo))
    assert done.returncode == 0 and "Dropped online table" in done.stdout, done.stdout + done.stderr


def test_each_protocol_answers_the_servers_own_refusals_in_its_shape(server_factory, tmp_path):
    """One port serves MLflow's, Feast's and Cairn's APIs; a refusal the server makes before
    any handler runs (no credentials, wrong method, unknown path) is worded as the protocol
    of the route it was meant for: FastAPI's {"detail"} for Feast, MLflow's
    {"error_code", "message"} for MLflow and Cairn's API."""
    server = start_feature_server(server_factory, tmp_path, [])
    done = cairn_cli(server, "users", "add", "ada", "--role", "admin", "--password", "pw-ada-1")
    assert done.returncode == 0, done.stderr
    auth = ("ada", "pw-ada-1")

    def refused(method, path, **kwargs):
        return requests.request(method, server.url + path, timeout=30, **kwargs)

    # Feast: no credentials (the user was added to the running server: allow it a moment).
    deadline = time.time() + 10
    r = refused("POST", "/get-online-features", json={"features": [], "entities": {}})
    while r.status_code != 401 and time.time() < deadline:
        time.sleep(0.2)
        r = refused("POST", "/get-online-features", json={"features": [], "entities": {}})
    assert r.status_code == 401, r.text
    assert set(r.json()) == {"detail"} and r.headers["WWW-Authenticate"].startswith("Basic")
    r = refused("GET", "/get-online-features", auth=auth)
    assert r.status_code == 405 and set(r.json()) == {"detail"}, r.text
    assert r.headers["Allow"] == "POST"
    # A handler's own error on a Feast route has the same shape.
    r = refused("POST", "/get-online-features", auth=auth, json={"features": ["driver_stats:trips"]})
    assert r.status_code == 400 and set(r.json()) == {"detail"}, r.text

    # MLflow: the same refusals in MLflow's shape, unknown endpoints ENDPOINT_NOT_FOUND.
    r = refused("POST", "/api/2.0/mlflow/runs/create", json={})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED", r.text
    r = refused("GET", "/api/2.0/mlflow/no-such-endpoint", auth=auth)
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND", r.text
    assert "detail" not in r.json()
    r = refused("GET", "/api/cairn/v1/no-such-endpoint", auth=auth)
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND", r.text

    # The route listing names each route's protocol family.
    listed = requests.get(server.url + "/api/cairn/v1/routes", auth=auth, timeout=30).json()["routes"]
    protocol = {(r["method"], r["path"]): r["protocol"] for r in listed}
    assert protocol[("POST", "/get-online-features")] == "feast"
    assert protocol[("POST", "/api/2.0/mlflow/runs/create")] == "mlflow"
    assert protocol[("GET", "/api/cairn/v1/routes")] == "mlflow"
    assert all(p == "mlflow" for (m, path), p in protocol.items() if path.startswith("/api/2.0/mlflow/"))
