"""Online features (issue 4): materialization rows/s into the embedded store and
Redis, then Feast's /get-online-features on `cairn server` under wrk, with
redis-benchmark GET measured against the same Redis in the same run.

    /usr/bin/python3 bench/online_bench.py [--entities 1000000] [--seconds 10]
                                           [--baseline OTHER_CAIRN_BINARY]

--baseline serves the same data with another build of cairn (an earlier
commit's) in the same run, and prints this build's figures against it.

Targets: materialization >= 1,000,000 rows/s (embedded) and >= 300,000 (Redis);
1 entity x 10 features at 32 connections: p99 < 1 ms and >= 30,000 requests/s
(embedded), >= 50% of redis-benchmark GET (Redis); 100 entities x 50 features:
p99 < 5 ms. The 1 x 10 load runs four ways: wrk and bench/http_load.cc in a
closed loop (each connection sends when answered, so latency is 32 divided by
the rate reached), wrk paced to about 31,000 requests/s (each connection pauses
between requests; wrk times each request from its send), and http_load at a fixed
30,000 requests/s (latency from each request's due time, as wrk2 counts it).
wrk, redis-benchmark and the server share the machine's 2 cores.
Needs `scripts/build release` and scripts/bootstrap (wrk, redis-server).
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tracking_bench as tb  # noqa: E402  (free_port, wait_health)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
CAIRN = os.path.join(BUILD, "cairn")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def wrk(port, connections, seconds, entities, features, max_id, threads=2, delay_ms=0.0):
    return tb.wrk(port, "online_features.lua", connections, seconds,
                  extra_env={"ENTITIES": str(entities), "FEATURES": ",".join(features),
                             "MAX_ID": str(max_id), "DELAY_MS": str(delay_ms)}, threads=threads)


def paced_wrk(port, seconds, features, max_id, low=30_500, high=33_000):
    """wrk, 32 connections, at between `low` and `high` requests/s: each
    connection pauses between requests (online_features.lua's DELAY_MS). The
    rate falls as the pause grows, but not in proportion (wrk's timers tick in
    whole milliseconds), so the pause is found by bisection on short runs."""
    shortest, longest = 0.0, 1.5
    delay = 0.8
    for _ in range(7):
        rps, _, _ = wrk(port, 32, 2, 1, features, max_id, threads=1, delay_ms=delay)
        if low <= rps <= high:
            break
        if rps < low:
            longest = delay
        else:
            shortest = delay
        delay = (shortest + longest) / 2
    return wrk(port, 32, seconds, 1, features, max_id, threads=1, delay_ms=delay)


def write_bodies(path, entities, features, max_id, count=4096, seed=1234):
    """`count` request bodies for http_load, random entity ids as the wrk script draws them."""
    rng = random.Random(seed)
    feature_list = ",".join(f'"{f}"' for f in features)
    with open(path, "w") as f:
        for _ in range(count):
            ids = ",".join(str(rng.randrange(max_id)) for _ in range(entities))
            f.write(f'{{"features":[{feature_list}],"entities":{{"user_id":[{ids}]}}}}\n')


def http_load(port, bodies, connections, seconds, rate=0):
    """Runs bench/http_load.cc: closed loop (rate 0) or a fixed request rate,
    latency then counted from each request's due time. Returns its JSON."""
    out = subprocess.run([os.path.join(BUILD, "bench", "http_load"), "--port", str(port),
                          "--path", "/get-online-features", "--bodies", bodies,
                          "--connections", str(connections), "--seconds", str(seconds),
                          "--rate", str(rate)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"http_load failed: {out.stderr[:500]}")
    return json.loads(out.stdout)


def serve(data_dir, extra, binary=CAIRN):
    port = tb.free_port()
    log = open(os.path.join(data_dir, f"server-{port}.log"), "wb")
    proc = subprocess.Popen([binary, "server", "--port", str(port), "--data-dir", data_dir,
                             "--log-level", "warn", *extra], stdout=log, stderr=subprocess.STDOUT)
    tb.wait_health(port)
    return proc, port


def measure_http(label, port, seconds, entities_total, results):
    narrow = [f"narrow:f{i}" for i in range(10)]
    wide = [f"wide:f{i}" for i in range(50)]
    wrk(port, 32, 2, 1, narrow, entities_total)  # warm-up
    rps, p50, p99 = wrk(port, 32, seconds, 1, narrow, entities_total)
    results[f"{label}: 1 entity x 10 features, 32 conn, requests/s"] = rps
    results[f"{label}: 1 entity x 10 features, 32 conn, p50 ms"] = p50
    results[f"{label}: 1 entity x 10 features, 32 conn, p99 ms"] = p99
    # wrk's two threads and the server's two IO threads time-share the 2
    # cores; with one wrk thread the server has a core's worth to itself.
    rps, p50, p99 = wrk(port, 32, seconds, 1, narrow, entities_total, threads=1)
    results[f"{label}: 1 entity x 10 features, 32 conn, wrk -t1, requests/s"] = rps
    results[f"{label}: 1 entity x 10 features, 32 conn, wrk -t1, p99 ms"] = p99
    # wrk, as the target names it, at the target's rate rather than flat out.
    rps, p50, p99 = paced_wrk(port, seconds, narrow, entities_total)
    results[f"{label}: 1 entity x 10 features, 32 conn, wrk -t1 paced, requests/s"] = rps
    results[f"{label}: 1 entity x 10 features, 32 conn, wrk -t1 paced, p50 ms"] = p50
    results[f"{label}: 1 entity x 10 features, 32 conn, wrk -t1 paced, p99 ms"] = p99
    # The same load from http_load (one epoll thread, bodies formatted up
    # front), closed loop, then at a fixed 30,000 requests/s: the target's
    # rate, where p99 is the latency a client sending that load would see.
    fd, bodies = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    write_bodies(bodies, 1, narrow, entities_total)
    r = http_load(port, bodies, 32, seconds)
    results[f"{label}: 1 entity x 10 features, 32 conn, http_load, requests/s"] = r["requests_per_second"]
    results[f"{label}: 1 entity x 10 features, 32 conn, http_load, p99 ms"] = r["p99_ms"]
    r = http_load(port, bodies, 32, seconds, rate=30000)
    results[f"{label}: 1 entity x 10 features, 32 conn at 30,000 requests/s, answered/s"] = \
        r["requests_per_second"]
    results[f"{label}: 1 entity x 10 features, 32 conn at 30,000 requests/s, p50 ms"] = r["p50_ms"]
    results[f"{label}: 1 entity x 10 features, 32 conn at 30,000 requests/s, p99 ms"] = r["p99_ms"]
    results[f"{label}: 1 entity x 10 features, 32 conn at 30,000 requests/s, p99.9 ms"] = r["p999_ms"]
    os.remove(bodies)
    # The wide view's pages and connections warm up as the narrow ones did
    # (each page's first touch is a page fault, each new connection's TCP
    # buffers start small): the target is a steady-state figure.
    wrk(port, 8, 2, 100, wide, entities_total)
    rps, p50, p99 = wrk(port, 1, seconds, 100, wide, entities_total)
    results[f"{label}: 100 entities x 50 features, 1 conn, p50 ms"] = p50
    results[f"{label}: 100 entities x 50 features, 1 conn, p99 ms"] = p99
    rps, p50, p99 = wrk(port, 8, seconds, 100, wide, entities_total)
    results[f"{label}: 100 entities x 50 features, 8 conn, requests/s"] = rps
    results[f"{label}: 100 entities x 50 features, 8 conn, p99 ms"] = p99
    print(f"  [{label}] done", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--baseline", help="another cairn binary (an earlier build) to compare with")
    args = parser.parse_args()
    for binary in (CAIRN, os.path.join(BUILD, "bench", "materialize_bench")):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run scripts/build release first")
    for tool in ("wrk", "redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: run scripts/bootstrap")

    work = tempfile.mkdtemp(prefix="cairn-online-bench-")
    redis_dir = os.path.join(work, "redis")
    redis_uri = run([os.path.join(ROOT, "scripts", "redis-test-server"), "start", redis_dir]).stdout.strip().splitlines()[-1]
    redis_port = int(re.search(r":(\d+)/", redis_uri).group(1))
    results = {}
    procs = []
    try:
        print(f"online features: {args.entities:,} entities, wrk and the server on the same 2 cores",
              flush=True)
        print("  [materialize] generating data and materializing (in-process)", flush=True)
        out = run([os.path.join(BUILD, "bench", "materialize_bench"), "--dir", work, "--entities",
                   str(args.entities), "--redis", redis_uri])
        for line in out.stdout.splitlines():
            r = json.loads(line)
            results[f"materialize into {r['store']} ({r['pass']}), 10 features, rows/s"] = \
                r["rows_per_s"]

        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        shutil.copy(os.path.join(work, "defs.yaml"), os.path.join(repo, "defs.yaml"))
        with open(os.path.join(repo, "cairn_features.yaml"), "w") as f:
            f.write("project: bench\n")
        data = os.path.join(work, "cairn-data")
        run([CAIRN, "features", "apply", "--repo", repo, "--data-dir", data])
        for store in ([], ["--online-store", redis_uri]):
            start = time.perf_counter()
            run([CAIRN, "features", "materialize", "2020-01-01T00:00:00", "2030-01-01T00:00:00",
                 "--data-dir", data, *store])
            label = "redis" if store else "embedded"
            results[f"cairn features materialize (CLI, narrow + wide), {label}, s"] = \
                time.perf_counter() - start

        builds = [("", CAIRN)] + ([("baseline ", args.baseline)] if args.baseline else [])
        for store, extra in (("embedded", []), ("redis", ["--online-store", redis_uri])):
            for prefix, binary in builds:
                proc, port = serve(data, extra, binary)
                procs.append(proc)
                measure_http(prefix + store, port, args.seconds, args.entities, results)
                proc.terminate()
                proc.wait()

        out = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(redis_port), "-t", "get",
                   "-c", "32", "-n", str(max(200_000, 40_000 * args.seconds)), "-q"])
        get_rps = float(re.search(r"GET: ([\d.]+) requests per second", out.stdout).group(1))
        results["redis-benchmark GET, 32 conn, requests/s"] = get_rps
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        subprocess.run([os.path.join(ROOT, "scripts", "redis-test-server"), "stop", redis_dir])
        shutil.rmtree(work, ignore_errors=True)

    print()
    for key, value in results.items():
        print(f"{key:<70} {value:>12,.3f}" if value < 100 else f"{key:<70} {value:>12,.0f}")
    ratio = results["redis: 1 entity x 10 features, 32 conn, requests/s"] / \
        results["redis-benchmark GET, 32 conn, requests/s"]
    print(f"\ncairn on Redis serves {ratio:.0%} of redis-benchmark's GET rate (target >= 50%)")
    if args.baseline:
        print("\nthis build vs baseline (above 1.00: this build is better)")
        for key, value in results.items():
            before = results.get("baseline " + key)
            if before is None or key.startswith("baseline ") or not before or not value:
                continue
            better = value / before if "/s" in key or "answered" in key else before / value
            print(f"{key:<70} {better:>8.2f}x")


if __name__ == "__main__":
    main()
