"""Training-set retrieval (issue 4): Cairn's point-in-time join beside pandas
merge_asof and a hand-written DuckDB ASOF JOIN, on the same data, in one run.

    /usr/bin/python3 bench/historical_bench.py [--entities 3000000] [--feature-rows 400000]
                                               [--keys 100000] [--repeat 3] [--no-pandas]

Data: a feature view of --feature-rows rows keyed by a string entity
("driver_<n>", --keys distinct), event and created timestamps and three
features; an entity table of --entities rows (10% unknown keys) with labels;
ttl 7 days. Target: at least 2x faster than both pandas and DuckDB.

Measured:
  in-memory           inputs already loaded (pandas DataFrames; a DuckDB table for the
                      entities, features read from Parquet by both DuckDB and Cairn),
                      the answer materialised in memory. pandas' time includes the
                      sorts merge_asof needs, not restoring the input order.
  parquet-to-parquet  entity Parquet in, training-set Parquet out (DuckDB COPY; Cairn's
                      retrieval in-process).
  cairn CLI           `cairn features historical` as a user runs it, process start included.
  cairn HTTP          POST /api/cairn/v1/features/historical on a running `cairn server`:
                      entities_path -> out_path (Parquet to Parquet, like the CLI), and
                      --http-rows entity rows sent inline as JSON columns with the training
                      set answered as JSON (Python's json encoding and decoding included).
Every engine's answer is fingerprinted (rows with a match, sum of f1); they must agree.
Needs `scripts/build release` (bench/historical_bench and cairn).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")


def run_native(args, workdir):
    cmd = [os.path.join(BUILD, "bench", "historical_bench"), "--dir", workdir,
           "--entities", str(args.entities), "--feature-rows", str(args.feature_rows),
           "--keys", str(args.keys), "--repeat", str(args.repeat)]
    if not args.no_pandas or args.http_rows > 0:
        cmd.append("--csv")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def run_pandas(args, workdir):
    import numpy as np  # noqa: F401  (pandas needs it; imported here to fail clearly)
    import pandas as pd
    print("  [pandas] reading the CSV copies (not timed)", flush=True)
    features = pd.read_csv(os.path.join(workdir, "features.csv"),
                           parse_dates=["event_timestamp", "created"])
    entities = pd.read_csv(os.path.join(workdir, "entities.csv"), parse_dates=["event_timestamp"])
    results = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        f = features.sort_values(["event_timestamp", "created"], kind="stable")
        e = entities.sort_values("event_timestamp", kind="stable")
        out = pd.merge_asof(e, f[["driver_id", "event_timestamp", "f1", "f2", "f3"]],
                            on="event_timestamp", by="driver_id", direction="backward",
                            tolerance=pd.Timedelta(days=7))
        seconds = time.perf_counter() - start
        results.append({"engine": "pandas-merge_asof", "mode": "in-memory", "seconds": seconds,
                        "matched": int(out["f1"].count()), "checksum": float(out["f1"].sum())})
    return results


def run_cli(args, workdir):
    repo = os.path.join(workdir, "repo")
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "cairn_features.yaml"), "w") as f:
        f.write("project: bench\n")
    with open(os.path.join(repo, "defs.yaml"), "w") as f:
        f.write(f"""entities:
  - {{name: driver, join_keys: [driver_id], value_type: String}}
sources:
  - {{name: src, path: {workdir}/features.parquet, timestamp_field: event_timestamp,
     created_timestamp_field: created}}
feature_views:
  - name: stats
    entities: [driver]
    source: src
    ttl: 7d
    schema: [{{name: f1, type: Float64}}, {{name: f2, type: Float64}}, {{name: f3, type: Int64}}]
""")
    cairn = os.path.join(BUILD, "cairn")
    data = os.path.join(workdir, "cairn-data")
    subprocess.run([cairn, "features", "apply", "--repo", repo, "--data-dir", data], check=True,
                   capture_output=True)
    results = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run([cairn, "features", "historical", "--data-dir", data, "--project", "bench",
                        "--entities", os.path.join(workdir, "entities.parquet"),
                        "--features", "stats", "--out", os.path.join(workdir, "cli_out.parquet")],
                       check=True, capture_output=True)
        results.append({"engine": "cairn CLI", "mode": "parquet-to-parquet",
                        "seconds": time.perf_counter() - start})
    return results


def run_http(args, workdir):
    import csv
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # Server-side files only under --training-data-root, a folder apart from the
    # data dir: the entity file is linked in, not copied.
    training = os.path.join(workdir, "training")
    os.makedirs(training, exist_ok=True)
    if not os.path.exists(os.path.join(training, "entities.parquet")):
        os.link(os.path.join(workdir, "entities.parquet"), os.path.join(training, "entities.parquet"))
    server = subprocess.Popen([os.path.join(BUILD, "cairn"), "server", "--port", str(port),
                               "--data-dir", os.path.join(workdir, "cairn-data"),
                               "--training-data-root", training],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def post(body):
        request = urllib.request.Request(url + "/api/cairn/v1/features/historical",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())

    results = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(args.repeat):
            start = time.perf_counter()
            post({"features": ["stats"], "entities_path": "entities.parquet",
                  "out_path": "http_out.parquet"})
            results.append({"engine": "cairn HTTP", "mode": "parquet-to-parquet",
                            "seconds": time.perf_counter() - start})
        if args.http_rows > 0:
            with open(os.path.join(workdir, "entities.csv")) as f:
                reader = csv.reader(f)
                header = next(reader)
                columns = {name: [] for name in header}
                for row, values in zip(range(args.http_rows), reader):
                    for name, value in zip(header, values):
                        columns[name].append(value)
            columns["label"] = [int(v) for v in columns["label"]]
            for _ in range(args.repeat):
                start = time.perf_counter()
                answer = post({"features": ["stats"], "entities": columns})
                seconds = time.perf_counter() - start
                f1 = [v for v in answer["data"]["f1"] if v is not None]
                results.append({"engine": "cairn HTTP", "mode": f"JSON {len(columns['label']):,} rows",
                                "seconds": seconds})
            print(f"  [http] JSON answer: {answer['row_count']:,} rows, {len(f1):,} with features",
                  flush=True)
    finally:
        server.terminate()
        server.wait()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=3_000_000)
    parser.add_argument("--feature-rows", type=int, default=400_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--http-rows", type=int, default=100_000,
                        help="entity rows sent inline over HTTP (0: skip)")
    args = parser.parse_args()
    for binary in (os.path.join(BUILD, "bench", "historical_bench"), os.path.join(BUILD, "cairn")):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run scripts/build release first")

    with tempfile.TemporaryDirectory(prefix="cairn-historical-") as workdir:
        print(f"historical retrieval: {args.entities:,} entity rows x {args.feature_rows:,} feature "
              f"rows ({args.keys:,} string keys), ttl 7d, best of {args.repeat}", flush=True)
        print("  [native] generating data, timing DuckDB ASOF and Cairn", flush=True)
        results = run_native(args, workdir)
        if not args.no_pandas:
            results += run_pandas(args, workdir)
        print("  [cli] timing `cairn features historical`", flush=True)
        results += run_cli(args, workdir)
        print("  [http] timing POST /api/cairn/v1/features/historical", flush=True)
        results += run_http(args, workdir)

    best = {}
    fingerprints = {}
    for r in results:
        key = (r["engine"], r["mode"])
        best[key] = min(best.get(key, float("inf")), r["seconds"])
        if "matched" in r:
            fingerprints.setdefault(key, (r["matched"], round(r["checksum"], 3)))
    distinct = set(fingerprints.values())
    print()
    print(f"{'engine':<20} {'mode':<20} {'best s':>8}  {'matched rows':>12}")
    for key, seconds in best.items():
        matched = fingerprints.get(key, ("-",))[0]
        print(f"{key[0]:<20} {key[1]:<20} {seconds:>8.3f}  {matched:>12}")
    print()
    cairn_mem = best[("cairn", "in-memory")]
    for other in ("pandas-merge_asof", "duckdb-asof"):
        if (other, "in-memory") in best:
            print(f"in-memory: cairn is {best[(other, 'in-memory')] / cairn_mem:.2f}x faster than {other}")
    e2e = best[("cairn", "parquet-to-parquet")]
    print(f"parquet-to-parquet: cairn is {best[('duckdb-asof', 'parquet-to-parquet')] / e2e:.2f}x "
          f"faster than duckdb-asof")
    print("answers agree" if len(distinct) == 1 else f"ANSWERS DIFFER: {fingerprints}")
    if len(distinct) != 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
