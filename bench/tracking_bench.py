"""Tracking benchmarks: cairn server side by side with MLflow's own Python
server (SQLite, 4 gunicorn workers), over loopback HTTP with keep-alive, from
separate processes (wrk with Lua scripts, bench/log_batch_load.cc for
log-batch; a keep-alive Python client for single-request latencies). Prints a table with ratios.

    /usr/bin/python3 bench/tracking_bench.py [--quick] [--no-mlflow] [--postgres URI]
                                             [--baseline OTHER_CAIRN_BINARY]

--baseline runs the same workloads against another build of cairn (an earlier
commit's) in the same run, and prints this build's figures against it.

Workloads (targets from issue 2, on SQLite, 2 cores):
  log-metric      wrk, 16 connections: p50 < 0.3 ms, >= 20,000 calls/s
  log-batch       log_batch_load, 8 connections, 1000 points/request, after 3 s of
                  warm-up: >= 500,000 points/s
  search-runs     100,000 runs x (20 params, 10 metrics), metric filter + order_by,
                  first page of 1000: < 50 ms
  get-history     100,000 points of one metric: < 50 ms
The load generators share the 2 cores with the server, as the issue's figures assume.
"""
import argparse
import concurrent.futures
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRK_DIR = os.path.join(REPO, "bench", "wrk")
CLIENTS = os.environ.get("CAIRN_MLFLOW_CLIENTS") or subprocess.run(
    [os.path.join(REPO, "scripts", "find-shared"), "clients"],
    capture_output=True, text=True, check=True).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not become healthy")


class Client:
    """A keep-alive JSON client for one server."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call_raw(self, method, path, body=None):
        """The response body's bytes, read to the last one."""
        data = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, "/api/2.0/mlflow/" + path, body=data,
                              headers={"Content-Type": "application/json"})
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closes keep-alive connections idle for minutes (during seeding).
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            self.conn.request(method, "/api/2.0/mlflow/" + path, body=data,
                              headers={"Content-Type": "application/json"})
            response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return payload

    def call(self, method, path, body=None):
        return json.loads(self.call_raw(method, path, body))

    def timed(self, method, path, body=None, repeat=7):
        """Median ms from sending the request to the response's last byte: the
        server's latency as any client sees it, without Python's JSON decoding
        (about 30 ms for a 1.7 MB page of runs, 110 ms for 100k history points)."""
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            payload = self.call_raw(method, path, body)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), json.loads(payload)


class Server:
    def __init__(self, name, argv, port, env=None):
        self.name = name
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=env,
                                     start_new_session=True)
        wait_health(port)

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def start_cairn(tmp, store=None, extra=(), binary=None):
    port = free_port()
    argv = [binary or os.path.join(REPO, "build", "release", "cairn"), "server", "--port", str(port),
            "--data-dir", os.path.join(tmp, "cairn"), "--log-level", "warn", *extra]
    if store:
        argv += ["--store", store]
    return Server("cairn-" + ("postgres" if store else "sqlite") + ("-baseline" if binary else ""),
                  argv, port)


def start_mlflow(tmp):
    port = free_port()
    shim = os.path.join(REPO, "bench", "mlflow_shim")  # querystring_parser, missing from Debian
    env = dict(os.environ, PYTHONPATH=os.path.join(CLIENTS, "mlflow-2.12") + os.pathsep + shim)
    argv = ["/usr/bin/python3", "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "4", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
            "--artifacts-destination", f"{tmp}/mlflow-artifacts"]
    return Server("mlflow", argv, port, env)


def new_runs(client, n, experiment="bench"):
    try:
        exp = client.call("POST", "experiments/create", {"name": experiment})["experiment_id"]
    except RuntimeError:
        exp = client.call("GET", f"experiments/get-by-name?experiment_name={experiment}")["experiment"]["experiment_id"]
    return exp, [client.call("POST", "runs/create", {"experiment_id": exp, "start_time": 1700000000000 + i})
                 ["run"]["info"]["run_id"] for i in range(n)]


_wrk_runs = itertools.count(1)


def wrk(port, script, connections, seconds, run_ids=(), extra_env=None, threads=2):
    """Runs a bench/wrk script; returns (requests/s, p50 ms, p99 ms). Errors
    (a Lua-reported failure or any non-2xx answer) stop the bench."""
    # Each run counts from its own base: log_metric.lua's points must never
    # repeat an earlier run's (a repeated point is skipped, nothing to fsync).
    env = dict(os.environ, RUN_IDS=",".join(run_ids), COUNTER_BASE=str(next(_wrk_runs) * 10**10),
               **(extra_env or {}))
    out = subprocess.run(["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(WRK_DIR, script), f"http://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True, check=True)
    if "failed:" in out.stderr or "Non-2xx" in out.stdout:
        raise SystemExit(f"wrk saw errors: {out.stderr[:500]} {out.stdout[-300:]}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))

    def pct(p):
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)", out.stdout)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rps, pct(50), pct(99)


def log_batch_load(port, connections, seconds, targets, warmup=3):
    """Runs bench/log_batch_load.cc (1000 points per request); returns
    (requests/s, p50 ms, p99 ms). Targets are "<run>" or "<run>:<model>".
    The first `warmup` seconds are not counted (a fresh server's first WAL
    blocks are new file blocks; see log_batch_load.cc)."""
    out = subprocess.run([os.path.join(REPO, "build", "release", "bench", "log_batch_load"),
                          "--port", str(port), "--connections", str(connections),
                          "--seconds", str(seconds), "--warmup", str(warmup),
                          "--targets", ",".join(targets)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"log_batch_load failed: {out.stderr[:500]}")
    result = json.loads(out.stdout)
    return result["requests_per_second"], result["p50_ms"], result["p99_ms"]


def seed_search(client, runs, workers=4):
    """runs x (20 params, 10 metrics) through log-batch, several connections at once."""
    exp, _ = new_runs(client, 0, "search-bench")

    def work(chunk):
        c = Client(client.port)
        for i in chunk:
            run = c.call("POST", "runs/create", {"experiment_id": exp, "start_time": 1700000000000 + i})
            run_id = run["run"]["info"]["run_id"]
            c.call("POST", "runs/log-batch", {
                "run_id": run_id,
                "params": [{"key": f"p{k}", "value": f"v{(i * 7 + k) % 13}"} for k in range(20)],
                "metrics": [{"key": f"m{k}", "value": ((i * 7919 + k * 104729) % 10007) / 10007.0,
                             "timestamp": 1700000000000 + i, "step": 0} for k in range(10)]})
    chunks = [range(w, runs, workers) for w in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, chunks))
    return exp


def seed_history(client, points):
    _, (run_id,) = new_runs(client, 1, "history-bench")
    for start in range(0, points, 1000):
        client.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": "loss", "value": 1.0 / (s + 1), "timestamp": 1700000000000 + s, "step": s}
            for s in range(start, min(points, start + 1000))]})
    return run_id


def fdatasync_floor_ms(folder, samples=300):
    """p50 of one 4 KiB write + fdatasync in `folder`: the least a durable commit costs here."""
    path = os.path.join(folder, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        times = []
        for i in range(samples):
            os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
            start = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)
    finally:
        os.close(fd)
        os.unlink(path)


def measure_process_durability(tmp, write_seconds):
    """log-metric latency when commits are not fsynced (--durability process)."""
    server = start_cairn(os.path.join(tmp, "process"), extra=("--durability", "process"))
    try:
        _, run_ids = new_runs(Client(server.port), 8)
        _, p50_one, _ = wrk(server.port, "log_metric.lua", 1, write_seconds, run_ids)
        rps, p50, p99 = wrk(server.port, "log_metric.lua", 16, write_seconds, run_ids)
        return p50_one, rps, p50, p99
    finally:
        server.stop()


def measure(server, args, search_runs, history_points, write_seconds):
    client = Client(server.port)
    _, run_ids = new_runs(client, 8)
    results = {}
    _, results["log-metric p50 ms (1 conn)"], _ = wrk(server.port, "log_metric.lua", 1,
                                                      write_seconds, run_ids)
    results["log-metric calls/s (16 conn)"], results["log-metric p50 ms (16 conn)"], \
        results["log-metric p99 ms (16 conn)"] = wrk(server.port, "log_metric.lua", 16,
                                                     write_seconds, run_ids)
    try:
        rps, p50, _ = log_batch_load(server.port, 8, write_seconds, run_ids)
    except SystemExit as failure:  # MLflow's gunicorn workers can drop connections under it
        print(f"  [{server.name}] log-batch load failed, reported as nan: {failure}", flush=True)
        rps, p50 = float("nan"), float("nan")
    results["log-batch points/s (8 conn)"] = rps * 1000
    results["log-batch p50 ms"] = p50
    seed_start = time.time()
    exp = seed_search(client, search_runs)
    print(f"  [{server.name}] seeded {search_runs} runs in {time.time() - seed_start:.1f}s", flush=True)
    results["search-runs first page ms"], page = client.timed("POST", "runs/search", {
        "experiment_ids": [exp], "filter": "metrics.m0 > 0.5 and params.p1 != 'v3'",
        "order_by": ["metrics.m1 DESC"], "max_results": 1000}, repeat=5)
    assert len(page["runs"]) == min(1000, search_runs // 2) or len(page["runs"]) > 0
    run_id = seed_history(client, history_points)
    results["get-history ms"], history = client.timed(
        "GET", f"metrics/get-history?run_id={run_id}&metric_key=loss&max_results={history_points}", repeat=5)
    assert len(history["metrics"]) == history_points, len(history["metrics"])
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow's Python server")
    parser.add_argument("--postgres", help="PostgreSQL URI for the cairn-on-PostgreSQL column")
    parser.add_argument("--no-sqlite", action="store_true", help="skip cairn on SQLite")
    parser.add_argument("--search-runs", type=int, help="runs seeded for search (default 100,000)")
    parser.add_argument("--baseline", help="another cairn binary (an earlier build) to compare with")
    args = parser.parse_args()
    search_runs = args.search_runs or (2000 if args.quick else 100_000)
    history_points = 10_000 if args.quick else 100_000
    write_seconds = 3 if args.quick else 10
    tmp = tempfile.mkdtemp(prefix="cairn-bench-")
    columns = {}
    try:
        servers = [] if args.no_sqlite else [("cairn sqlite", lambda: start_cairn(tmp), search_runs)]
        if args.baseline:
            servers.append(("baseline sqlite", lambda: start_cairn(tmp + "/baseline", binary=args.baseline),
                            search_runs))
        if args.postgres:
            servers.append(("cairn postgres", lambda: start_cairn(tmp + "/pg", args.postgres), search_runs))
        if not args.no_mlflow:
            # MLflow's server seeds at ~100 runs/s: give it a tenth of the runs.
            servers.append(("mlflow 2.12 (4 gunicorn)", lambda: start_mlflow(tmp), max(1000, search_runs // 100)))
        for name, start, runs in servers:
            print(f"benchmarking {name} ...", flush=True)
            server = start()
            try:
                columns[name] = measure(server, args, runs, history_points if "mlflow" not in name
                                        else history_points // 10, write_seconds)
            finally:
                server.stop()
        process = None if args.no_sqlite else measure_process_durability(tmp, write_seconds)
        os.makedirs(os.path.join(tmp, "probe"), exist_ok=True)
        floor = fdatasync_floor_ms(os.path.join(tmp, "probe"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    names = list(columns)
    keys = list(columns[names[0]])
    print()
    vs_baseline = "baseline sqlite" in columns and "cairn sqlite" in columns
    print(f"{'workload':44}" + "".join(f"{n:>26}" for n in names) + "   cairn sqlite vs mlflow"
          + ("   this build vs baseline" if vs_baseline else ""))
    for i, key in enumerate(keys):
        row = f"{key:44}"
        values = [list(columns[n].values())[i] for n in names]
        for v in values:
            row += f"{v:>26,.2f}"
        if "mlflow 2.12 (4 gunicorn)" in columns and len(names) > 1:
            mine, theirs = values[0], values[-1]
            higher_is_better = "/s" in key
            ratio = mine / theirs if higher_is_better else theirs / mine
            row += f"   {ratio:8.1f}x"
        if vs_baseline:
            mine, before = columns["cairn sqlite"][key], columns["baseline sqlite"][key]
            # Above 1.00: this build is better (faster or more per second).
            better = mine / before if "/s" in key else before / mine
            row += f"   {better:8.2f}x"
        print(row)
    print(f"\nsearch-runs: {search_runs:,} runs x (20 params, 10 metrics) for cairn, "
          f"{max(1000, search_runs // 100):,} for MLflow (its seeding is too slow for more);")
    print(f"get-history: {history_points:,} points for cairn, {history_points // 10:,} for MLflow. "
          "Ratios compare per-request figures, so MLflow's are flattered by its smaller sets.")
    print(f"\nEvery cairn figure above acknowledges a write only once it is fsynced; one 4 KiB "
          f"write + fdatasync on this disk takes {floor:.3f} ms (p50), the floor under any durable "
          "1-connection commit.")
    if process:
        p50_one, rps, p50, p99 = process
        print(f"cairn sqlite --durability process (survives kill -9, not power loss): log-metric "
              f"p50 {p50_one:.3f} ms at 1 conn; {rps:,.0f} calls/s, p50 {p50:.2f} ms, "
              f"p99 {p99:.2f} ms at 16 conn")


if __name__ == "__main__":
    main()
