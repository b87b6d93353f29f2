#!/usr/bin/env python3
"""What fronting another server's v2 endpoint costs: 1-row v2 REST requests sent to the
endpoint itself, and through a Cairn deployment whose variant is that endpoint (the
hop Cairn adds: its routing, payload-log sampling and one HTTP call per request).

The endpoint is a second Cairn serving the serving bench's model (100 trees, depth 6,
10 features): MLServer, KServe and Triton are not installable here, and Cairn's own
v2 server is the fastest endpoint on this machine, so the hop's cost shows in full.

    /usr/bin/python3 bench/external_bench.py [--seconds 8] [--connections 16]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import tracking_bench as tb  # noqa: E402
from serving_bench import (CAIRN, FEATURES, SETUP, deploy, http_load, start_cairn_with_models,  # noqa: E402
                           stop_processes, write_v2_bodies)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="external-bench-")
    procs = []
    try:
        endpoint, port, _ = start_cairn_with_models(work, SETUP.format(features=FEATURES, work=work))
        procs.append(endpoint)
        deploy(port, {"name": "bench", "model_uri": "models:/bench/1"})
        front_port = tb.free_port()
        log = open(os.path.join(work, "front.log"), "wb")
        procs.append(subprocess.Popen([CAIRN, "server", "--port", str(front_port), "--data-dir",
                                       f"{work}/front", "--log-level", "warn", "--serving-external-hosts",
                                       "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT))
        tb.wait_health(front_port)
        deploy(front_port, {"name": "bench", "model_uri": f"http://127.0.0.1:{port}/v2/models/bench"})

        bodies = write_v2_bodies(os.path.join(work, "v2.jsonl"))
        results = []
        for connections in (args.connections, 1):
            for label, p in (("the endpoint itself", port), ("through a Cairn variant", front_port)):
                print(f"  {label}: {connections} connections, {args.seconds}s ...", flush=True)
                r = http_load(p, "/v2/models/bench/infer", bodies, connections, args.seconds)
                r.update(label=label, connections=connections)
                results.append(r)
        print(f"\n1-row v2 requests, {args.seconds}s each")
        print(f"  {'path':26} {'conn':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'of direct':>10}")
        for r in results:
            direct = next(d for d in results if d["connections"] == r["connections"])
            print(f"  {r['label']:26} {r['connections']:4} {r['requests_per_second']:9,.0f} {r['p50_ms']:8.3f} "
                  f"{r['p99_ms']:8.3f} {r['requests_per_second'] / direct['requests_per_second']:9.2f}x")
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
