"""Regressions for the black-box security probe (issue 18) on the HTTP layer, the
cross-site checks and server-side training-set files, against a real `cairn server`.

Each test names the finding it pins down; each failed on the code the probe ran
against (b1db5a0): the server died, or the request was served.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BINARY, cairn_cli
from test_feature_server import start_feature_server, historical

API = "/api/2.0/mlflow"


def raw_exchange(server, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends raw bytes on a fresh connection, half-closes, reads until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def assert_serving(server):
    assert server.proc.poll() is None, "the server process died:\n" + server.log_tail()
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


# ------------------------------------------------------------------ critical: HTTP parsing


def test_an_oversized_header_is_431_and_the_server_lives(server):
    """Finding: a 65,534-byte header value (or a 70,000-byte name) ended the process."""
    value = b"a" * 65534
    for head in (b"X-Foo: " + value, b"N" * 70000 + b": v"):
        answer = raw_exchange(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head +
                              b"\r\n\r\n")
        assert status_of(answer) == 431, answer[:200]
        assert b"Connection: close" in answer
        assert_serving(server)


def test_many_header_fields_are_431(server):
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(1000))
    answer = raw_exchange(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + b"\r\n")
    assert status_of(answer) == 431
    assert_serving(server)


def test_bad_framing_is_400_and_the_next_request_is_not_served(server):
    """Finding: `Transfer-Encoding: chunked, identity` was accepted, and after a 400 the
    connection stayed open and served the next pipelined request."""
    smuggled = (b"POST " + API.encode() + b"/experiments/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                b"0\r\n\r\n"
                b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = raw_exchange(server, smuggled)
    assert status_of(answer) == 400, answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1, "the pipelined request was served: " + answer.decode()
    assert b"Transfer-Encoding" in answer
    answer = raw_exchange(server, b"GARBAGE\r\n\r\n")
    assert status_of(answer) == 400 and b"Malformed HTTP request" in answer
    assert_serving(server)


def test_host_localhost_is_accepted(server_factory):
    """Finding: `--host localhost` was refused as invalid."""
    s = server_factory.new()  # CairnServer passes --host 127.0.0.1: this one runs by hand.
    data = s.data_dir
    data.mkdir(parents=True, exist_ok=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cmd = [str(BINARY), "server", "--host", "localhost", "--port", str(port), "--data-dir",
           str(data)]
    if s.store_uri:
        cmd += ["--store", s.store_uri]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if requests.get(f"http://localhost:{port}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the server on --host localhost never answered")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------- high: cross-site requests, DNS rebinding


def test_dns_rebinding_hosts_are_refused(server):
    """Finding: any Host was served, so a rebinding page could read and drive the API."""
    r = requests.get(server.url + API + "/experiments/search", params={"max_results": 1},
                     headers={"Host": "attacker.example:5000"}, timeout=10)
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert "DNS rebinding" in r.json()["message"] and "--allowed-hosts" in r.json()["message"]
    # A name that starts like a private address is a name (review finding).
    r = requests.get(server.url + API + "/experiments/search", params={"max_results": 1},
                     headers={"Host": "10.attacker.example:5000"}, timeout=10)
    assert r.status_code == 403, r.text
    ok = requests.get(server.url + API + "/experiments/search", params={"max_results": 1},
                      headers={"Host": "localhost:5000"}, timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_simple_cross_site_bodies_change_nothing(server):
    """Finding: text/plain and form bodies were parsed as JSON, so any page could post them."""
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name})
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        r = requests.post(server.url + API + "/experiments/create", data=body,
                          headers={"Content-Type": content_type}, timeout=10)
        assert r.status_code == 400, (content_type, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "application/json" in r.json()["message"]
    r = requests.post(server.url + API + "/experiments/create", json={"name": name},
                      headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 403 and "Cross-origin request blocked" in r.json()["message"], r.text
    got = requests.get(server.url + API + "/experiments/get-by-name",
                       params={"experiment_name": name}, timeout=10)
    assert got.status_code == 404, "a refused request created the experiment"
    # A local web app (any localhost origin) is allowed, as in MLflow.
    r = requests.post(server.url + API + "/experiments/create", json={"name": name},
                      headers={"Origin": "http://localhost:3000"}, timeout=10)
    assert r.status_code == 200, r.text


def test_allowed_hosts_origins_and_the_off_switch(server_factory):
    s = server_factory.new(extra_args=["--allowed-hosts", "cairn.example.com,*.corp.example",
                                       "--cors-allowed-origins", "https://ui.example.com",
                                       "--x-frame-options", "DENY"])
    s.start()
    search = s.url + API + "/experiments/search"
    assert requests.get(search, headers={"Host": "api.corp.example"}, timeout=10).status_code == 200
    # The list replaces the defaults: loopback names are no longer in it.
    assert requests.get(search, headers={"Host": "localhost"}, timeout=10).status_code == 403
    r = requests.post(s.url + API + "/experiments/create", json={"name": "from-ui"},
                      headers={"Host": "cairn.example.com", "Origin": "https://ui.example.com"},
                      timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["X-Frame-Options"] == "DENY"
    off = server_factory.new(extra_args=["--disable-security-middleware"])
    off.start()
    r = requests.get(off.url + API + "/experiments/search", headers={"Host": "anything"},
                     timeout=10)
    assert r.status_code == 200 and "X-Frame-Options" not in r.headers


# ----------------------------------------------- high: server-side files of training sets


def test_training_set_files_are_off_without_a_root(server_factory, tmp_path):
    """Finding: entities_path/out_path read and wrote any file the server's user could."""
    server = start_feature_server(server_factory, tmp_path, [])
    server.stop()
    server.extra_args = [a for a in server.extra_args if a != "--training-data-root" and
                         a != str(server.training_root)]
    server.start()
    policy = server.data_dir / "policies" / "default.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("approvals: 2\n")
    for field, path in (("entities_path", "/etc/passwd"), ("out_path", str(policy))):
        body = {"features": ["driver_stats:trips"], field: path}
        if field == "out_path":
            body["entities"] = {"driver_id": [1001], "event_timestamp": ["2026-01-01T12:00:00Z"]}
        r = historical(server, body)
        assert r.status_code == 403, r.text
        assert "--training-data-root" in r.json()["message"], r.text
    assert policy.read_text() == "approvals: 2\n"


def test_training_set_paths_stay_under_the_root(server_factory, tmp_path):
    server = start_feature_server(server_factory, tmp_path, [])
    root = server.training_root
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("driver_id,event_timestamp\n1001,2026-01-01 12:00:00\n")
    (root / "escape").symlink_to(outside)
    policy = server.data_dir / "policies" / "default.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("approvals: 2\n")
    metadata = server.data_dir / "metadata.db"
    before = metadata.read_bytes() if metadata.exists() else None
    inline = {"driver_id": [1001], "event_timestamp": ["2026-01-01T12:00:00Z"]}
    messages = set()
    for path in ("/etc/passwd", "/etc/no-such-file", str(outside / "secret.csv"),
                 "escape/secret.csv", "../outside/secret.csv"):
        r = historical(server, {"features": ["driver_stats:trips"], "entities_path": path})
        assert r.status_code == 403, (path, r.text)
        messages.add(r.json()["message"])
    # Whether the file exists or not, the answer is the same: no existence oracle.
    assert len(messages) == 1, messages
    assert "root:" not in next(iter(messages))
    for path in (str(policy), str(metadata), "../" + policy.name, "escape/planted.csv"):
        r = historical(server, {"features": ["driver_stats:trips"], "entities": inline,
                                "out_path": path if path.endswith(".csv") else path + ".csv"})
        assert r.status_code in (400, 403), (path, r.text)
    r = historical(server, {"features": ["driver_stats:trips"], "entities": inline,
                            "out_path": str(policy)})
    assert r.status_code in (400, 403), r.text
    assert policy.read_text() == "approvals: 2\n"
    if before is not None:
        assert metadata.exists()
    assert not (outside / "planted.csv").exists()

    # A link planted in the root is followed as the OS would, and leads out: refused,
    # and the file it points at is untouched.
    secret = (outside / "secret.csv").read_text()
    (root / "swap.csv").symlink_to(outside / "secret.csv")
    r = historical(server, {"features": ["driver_stats:trips"], "entities": inline,
                            "out_path": "swap.csv"})
    assert r.status_code == 403, r.text
    assert (outside / "secret.csv").read_text() == secret
    # Inside the root it works, and answers the path relative to the root.
    r = historical(server, {"features": ["driver_stats:trips"], "entities": inline,
                            "out_path": "inner.csv"})
    assert r.status_code == 200 and r.json()["out_path"] == "inner.csv", r.text
    assert (root / "inner.csv").read_text().startswith("driver_id,event_timestamp,trips")
    assert not [p for p in root.iterdir() if p.name.startswith(".cairn-")], "temp files left"


def test_a_root_overlapping_the_data_dir_is_refused_at_start(server_factory):
    s = server_factory.new()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(BINARY), "server", "--port", "0", "--data-dir", str(s.data_dir),
                           "--training-data-root", str(s.data_dir.parent)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "overlaps --data-dir" in done.stderr


def test_feature_writes_are_audited(server_factory, tmp_path):
    """Finding: /push, /materialize, /write-to-online-store and training-set files left no
    audit entry."""
    server = start_feature_server(server_factory, tmp_path, [])
    url = server.url
    wrote = {"feature_view_name": "driver_stats",
             "df": {"driver_id": [77], "event_timestamp": ["2026-01-02T00:00:00Z"],
                    "created": ["2026-01-02T00:00:00Z"], "conv_rate": [0.1], "trips": [1],
                    "tier": ["gold"]}}
    assert requests.post(url + "/write-to-online-store", json=wrote, timeout=30).status_code == 200
    assert requests.post(url + "/materialize-incremental", json={"end_ts": "2026-01-03T00:00:00", "feature_views": ["driver_stats"]},
                         timeout=60).status_code == 200
    r = historical(server, {"features": ["driver_stats:trips"], "out_path": "audited.csv",
                            "entities": {"driver_id": [77],
                                         "event_timestamp": ["2026-01-02T00:00:00Z"]}})
    assert r.status_code == 200, r.text
    entries = requests.get(url + "/api/cairn/v1/audit", timeout=30).json()["entries"]
    seen = {(e["action"], e["target"]) for e in entries}
    assert ("POST /write-to-online-store", "feature_view driver_stats") in seen, seen
    assert ("POST /materialize-incremental", "feature_views driver_stats") in seen, seen
    assert ("POST /api/cairn/v1/features/historical", "training_set_file audited.csv") in seen, seen
    verify = cairn_cli(server, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


# ------------------------------------------------------------ medium: descriptor exhaustion


def test_idle_connections_are_capped_per_address_and_logs_stay_small(server_factory):
    """Finding: ~20k idle connections exhausted descriptors; accept then spun and logged
    23 million lines in 40 s."""
    s = server_factory.new(extra_args=["--max-connections-per-address", "20"])
    s.start()
    held = []
    try:
        for _ in range(200):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            held.append(c)
        time.sleep(1.0)
        # Past the cap, connections are closed at once; the held ones still work.
        closed = 0
        for c in held[20:]:
            c.settimeout(5)
            try:
                if c.recv(1) == b"":
                    closed += 1
            except (ConnectionResetError, socket.timeout):
                closed += 1
        assert closed == 180, closed
        held[0].sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert held[0].recv(100).startswith(b"HTTP/1.1 200")
    finally:
        for c in held:
            c.close()
    # Once they are gone, new clients are served again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if requests.get(s.url + "/health", timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    assert_serving(s)
    log_lines = Path(s.log_path).read_text().count("too many open connections")
    assert 1 <= log_lines <= 5, f"{log_lines} log lines for 180 refusals (rate-limited to 1/s)"


# ------------------------------------------------------------------------- low: input ranges


def test_out_of_range_times_and_control_characters_are_refused(server_factory, tmp_path):
    """Findings: an event_timestamp of 1e300 wrapped to year -290308 and INT64_MIN became
    1970; a NUL in a path reached DuckDB's SQL text."""
    server = start_feature_server(server_factory, tmp_path, [])
    for when in (1e300, -9223372036854775808, 253402300800, float("nan")):
        row = {"feature_view_name": "driver_stats",
               "df": {"driver_id": [88], "event_timestamp": [when], "created": [0],
                      "conv_rate": [0.1], "trips": [1], "tier": ["x"]}}
        r = requests.post(server.url + "/write-to-online-store", data=json.dumps(row),
                          headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 400, (when, r.text)
        assert "df.event_timestamp[0]: out of range" in r.json()["detail"], r.text
    got = requests.post(server.url + "/get-online-features", timeout=30,
                        json={"features": ["driver_stats:trips"], "entities": {"driver_id": [88]}})
    assert got.json()["results"][1]["statuses"] == ["NOT_FOUND"]
    r = historical(server, {"features": ["driver_stats:trips"], "entities_path": "e\u0000.csv"})
    assert r.status_code == 400 and "control character" in r.json()["message"], r.text


def test_error_answers_do_not_show_the_servers_paths(server):
    """Finding: error messages showed the data dir and policy file paths."""
    data_dir = str(server.data_dir.resolve())
    r = requests.put(server.url + "/api/2.0/mlflow-artifacts/artifacts/0", data=b"x", timeout=10)
    assert r.status_code >= 400
    assert data_dir not in r.text, r.text


def test_numbers_below_1e_minus_320_do_not_take_the_server_down(server):
    """RapidJSON 1.1's full-precision reader read past a table for such numbers
    (0.000...0715 with 340 zeros crashed it; 0.7e-324 came back NaN)."""
    tiny = "0." + "0" * 340 + "715555555555"
    exp = requests.post(f"{server.url}/api/2.0/mlflow/experiments/create",
                        json={"name": f"tiny-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
    run_id = requests.post(f"{server.url}/api/2.0/mlflow/runs/create",
                           json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    for step, value in enumerate((tiny, "0.715555555555e-324", "0." + "0" * 50 + "7e-300")):
        body = ('{"run_id": "%s", "key": "tiny", "value": %s, "timestamp": 1, "step": %d}'
                % (run_id, value, step))
        r = requests.post(f"{server.url}/api/2.0/mlflow/runs/log-metric", data=body,
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
    history = requests.get(f"{server.url}/api/2.0/mlflow/metrics/get-history",
                           params={"run_id": run_id, "metric_key": "tiny"}).json()["metrics"]
    assert [m["value"] for m in history] == [0.0, 0.0, 0.0]
    assert_serving(server)
