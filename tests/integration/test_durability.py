"""Every acknowledged write survives kill -9.

Four writers stream log-batch calls (50 metric points each, unique steps) and record
each batch the server acknowledged with HTTP 200. The server is SIGKILLed mid-stream,
restarted on the same data dir / database, and every acknowledged point must be there.
A batch is atomic: its points are all there or none is.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

API = "/api/2.0/mlflow"
WRITERS = 4
BATCH = 50
TS = 1700000000000


def _writer(base_url, run_id, key, acked, problems, stop):
    with requests.Session() as s:
        batch = 0
        while not stop.is_set():
            metrics = [{"key": key, "value": float(batch * BATCH + j), "timestamp": TS + batch,
                        "step": batch * BATCH + j} for j in range(BATCH)]
            try:
                r = s.post(f"{base_url}{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics},
                           timeout=30)
            except requests.RequestException:
                return  # the server died: this batch was never acknowledged
            if r.status_code == 200:
                acked.append(batch)
            else:
                problems.append(f"{key} batch {batch}: HTTP {r.status_code} {r.text[:300]}")
                return
            batch += 1


def _history(session, base_url, run_id, key):
    """All points of a metric, paged the way the MLflow client pages get-history."""
    points, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            params["page_token"] = token
        r = session.get(f"{base_url}{API}/metrics/get-history", params=params, timeout=120)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        points += body.get("metrics", [])
        token = body.get("next_page_token")
        if not token:
            return points


@pytest.mark.parametrize("durability", ["full", "process"])
def test_acknowledged_log_batches_survive_kill_9(server_factory, durability):
    # "process" promises exactly this much: a crash of Cairn loses nothing acknowledged.
    srv = server_factory.new(extra_args=["--durability", durability])
    srv.start()
    with requests.Session() as s:
        r = s.post(f"{srv.url}{API}/experiments/create", json={"name": "durability"})
        assert r.status_code == 200, r.text
        eid = r.json()["experiment_id"]
        r = s.post(f"{srv.url}{API}/runs/create", json={"experiment_id": eid, "start_time": TS})
        assert r.status_code == 200, r.text
        run_id = r.json()["run"]["info"]["run_id"]

    keys = [f"w{i}" for i in range(WRITERS)]
    acked = {k: [] for k in keys}
    problems: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(srv.url, run_id, k, acked[k], problems, stop), daemon=True)
               for k in keys]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a writer hung after the server was killed"

    assert not problems, f"log-batch failed before the kill: {problems[:5]}"
    total = sum(len(v) for v in acked.values())
    assert total >= 8, f"only {total} batches acknowledged in 1.5 s: the test proves nothing"

    print(f"acknowledged batches per writer: { {k: len(v) for k, v in acked.items()} }")
    srv.start()  # same data dir and store
    with requests.Session() as s:
        run = s.get(f"{srv.url}{API}/runs/get", params={"run_id": run_id})
        assert run.status_code == 200, run.text
        for key in keys:
            history = _history(s, srv.url, run_id, key)
            points = {m["step"]: m["value"] for m in history}
            assert len(points) == len(history), f"{key}: duplicated points after restart"
            missing = [b for b in acked[key] if any(b * BATCH + j not in points for j in range(BATCH))]
            assert not missing, (f"{key}: {len(missing)} of {len(acked[key])} acknowledged batches lost "
                                 f"or partial after kill -9, e.g. batches {missing[:10]}")
            assert all(points[st] == float(st) for st in points), f"{key}: wrong values after restart"
            batches_seen = {st // BATCH for st in points}
            partial = [b for b in batches_seen if any(b * BATCH + j not in points for j in range(BATCH))]
            assert not partial, f"{key}: batches {partial[:10]} are half written (log-batch must be atomic)"
            extra = batches_seen - set(acked[key])
            assert len(extra) <= 1, f"{key}: batches {sorted(extra)} present but never sent/acknowledged"

    code = srv.stop(timeout=30)
    assert code == 0, f"restarted server did not exit 0 within 30 s of SIGTERM (got {code})"


def test_sigterm_drains_in_flight_upload(server_factory):
    """SIGTERM during an artifact upload: the upload completes, then the server exits 0."""
    import hashlib
    import os
    import signal
    import socket

    srv = server_factory.new()
    srv.start()
    with requests.Session() as s:
        r = s.post(f"{srv.url}{API}/runs/create", json={"experiment_id": "0"})
        assert r.status_code == 200, r.text
        uri = r.json()["run"]["info"]["artifact_uri"]
    path = f"/api/2.0/mlflow-artifacts/artifacts/{uri.split(':/', 1)[1].lstrip('/')}/drain.bin"
    chunk = 1 << 20
    blob = os.urandom(8 * chunk)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=45)
    try:
        sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(blob)}\r\n\r\n".encode())
        sock.sendall(blob[:chunk])
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        for i in range(1, 8):
            time.sleep(0.1)
            sock.sendall(blob[i * chunk:(i + 1) * chunk])
        resp = b""
        while b"\r\n\r\n" not in resp:
            try:
                part = sock.recv(65536)
            except OSError:  # timeout or reset: no response
                break
            if not part:
                break
            resp += part
    finally:
        sock.close()
    assert resp.startswith(b"HTTP/1.1 200"), f"in-flight upload not completed during drain: {resp[:300]!r}"
    try:
        code = srv.proc.wait(timeout=30)
    except Exception:
        code = None
    assert code == 0, f"server did not exit 0 within 30 s of SIGTERM (got {code})"

    srv.start()
    with requests.Session() as s:
        r = s.get(f"{srv.url}{path}")
        assert r.status_code == 200, r.text[:300]
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(blob).hexdigest()
    assert srv.stop(timeout=30) == 0
