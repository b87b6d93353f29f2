"""Authentication end to end: the same cairn server workloads with no users
(no authentication) and with a user's API token on every request, side by
side in one run. The per-request cost of the check itself is in auth_bench
(C++): this shows what a client sees.

    /usr/bin/python3 bench/auth_http_bench.py [--seconds 8]

For scale: MLflow's basic-auth app verifies the password hash (werkzeug
pbkdf2, 260,000 rounds) on every request; this script times one such check
with Debian's werkzeug.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracking_bench as tb  # noqa: E402

CAIRN = os.path.join(tb.REPO, "build", "release", "cairn")


def wrk(port, script, connections, seconds, run_ids, token):
    """tracking_bench's wrk, with the bearer token (if any) on every request."""
    extra = {"AUTHORIZATION": f"Bearer {token}"} if token else None
    return tb.wrk(port, script, connections, seconds, run_ids, extra)


class AuthClient(tb.Client):
    def __init__(self, port, token):
        super().__init__(port)
        self.token = token

    def call_raw(self, method, path, body=None):
        import http.client
        import json
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, "/api/2.0/mlflow/" + path, body=json.dumps(body) if body else None,
                     headers=headers)
        r = conn.getresponse()
        payload = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {payload[:200]!r}")
        return payload


def measure(tmp, with_auth, seconds):
    data = os.path.join(tmp, "auth" if with_auth else "open")
    token = None
    if with_auth:
        subprocess.run([CAIRN, "users", "add", "bench", "--role", "editor", "--password", "bench-pass-1",
                        "--data-dir", data], check=True, capture_output=True)
        token = subprocess.run([CAIRN, "tokens", "create", "bench", "--data-dir", data], check=True,
                               capture_output=True, text=True).stdout.strip()
    server = tb.start_cairn(data) if not with_auth else start_existing(data)
    try:
        client = AuthClient(server.port, token)
        _, run_ids = tb.new_runs(client, 8, "auth-bench")
        one = wrk(server.port, "log_metric.lua", 1, seconds, run_ids, token)
        many = wrk(server.port, "log_metric.lua", 16, seconds, run_ids, token)
        return {"log-metric p50 ms (1 conn)": one[1], "log-metric calls/s (16 conn)": many[0],
                "log-metric p50 ms (16 conn)": many[1]}
    finally:
        server.stop()


def start_existing(data):
    port = tb.free_port()
    argv = [CAIRN, "server", "--port", str(port), "--data-dir", data, "--log-level", "warn"]
    return tb.Server("cairn-auth", argv, port)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cairn-auth-bench-")
    try:
        # Alternating order: the first server started in a run measures a little slower.
        results = {}
        for with_auth in (False, True):
            results[with_auth] = measure(tmp, with_auth, args.seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'workload':36}{'no users':>14}{'API token':>14}{'difference':>14}")
    for key in results[False]:
        a, b = results[False][key], results[True][key]
        print(f"{key:36}{a:>14,.3f}{b:>14,.3f}{b - a:>+14,.3f}")
    try:
        import werkzeug.security as ws
        h = ws.generate_password_hash("bench-pass-1")
        start = time.perf_counter()
        ws.check_password_hash(h, "bench-pass-1")
        print(f"\nMLflow basic-auth's per-request password check (werkzeug {h.split('$')[0]}): "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
