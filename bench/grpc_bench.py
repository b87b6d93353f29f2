#!/usr/bin/env python3
"""The gRPC inference protocol (ModelInfer, raw contents) on Cairn, side by side with
what a user would otherwise run for gRPC inference of an XGBoost model here: a Python
grpcio server calling python3-xgboost's inplace_predict (the shape of a KServe custom
predictor; Triton itself is not installable on this machine), and with Cairn's own v2
REST on the same deployment.

Model: the 100-tree depth-6 XGBoost regression on 10 features of serving_bench.py,
logged and registered with the MLflow 3.6 client. Load: bench/grpc_load (C++, async
calls over one HTTP/2 connection, as tritonclient.grpc makes them) and bench/http_load
for REST; 1-row and 64-row requests.

    /usr/bin/python3 bench/grpc_bench.py [--seconds 8] [--calls 16]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import tracking_bench as tb  # noqa: E402
from serving_bench import (BUILD, FEATURES, SETUP, deploy, http_load, start_cairn_with_models,  # noqa: E402
                           stop_processes)

GRPC_SERVER = """
import concurrent.futures, sys, grpc, numpy as np, xgboost as xgb
sys.path.insert(0, "{proto}")
from grpc_inference import inference_pb2 as pb
booster = xgb.Booster()
booster.load_model("{model}")
booster.set_param({{"nthread": 1}})

def infer(request, context):
    t = request.inputs[0]
    x = np.frombuffer(request.raw_input_contents[0], dtype=np.float32).reshape(list(t.shape))
    y = booster.inplace_predict(x).astype(np.float32)
    response = pb.ModelInferResponse(model_name=request.model_name, id=request.id)
    response.outputs.add(name="predict", datatype="FP32", shape=[len(y)])
    response.raw_output_contents.append(y.tobytes())
    return response

handler = grpc.method_handlers_generic_handler("inference.GRPCInferenceService", {{
    "ModelInfer": grpc.unary_unary_rpc_method_handler(
        infer, request_deserializer=pb.ModelInferRequest.FromString,
        response_serializer=pb.ModelInferResponse.SerializeToString)}})
server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=16))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port("127.0.0.1:{port}")
server.start()
print("ready", flush=True)
server.wait_for_termination()
"""


def grpc_load(address, request_file, calls, seconds):
    out = subprocess.run([os.path.join(BUILD, "bench", "grpc_load"), "--address", address, "--request",
                          request_file, "--calls", str(calls), "--seconds", str(seconds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"grpc_load on {address} failed: {out.stderr[:500]} {out.stdout[:300]}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=16, help="requests in flight at once")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="grpc-bench-")
    procs = []
    try:
        proto = os.path.join(work, "proto")
        os.makedirs(proto)
        subprocess.run(["protoc", f"--python_out={proto}", f"-I{os.path.join(ROOT, 'src')}",
                        os.path.join(ROOT, "src", "grpc_inference", "inference.proto")], check=True)
        sys.path.insert(0, proto)
        from grpc_inference import inference_pb2 as pb
        import numpy as np

        grpc_port = tb.free_port()
        server, port, _ = start_cairn_with_models(work, SETUP.format(features=FEATURES, work=work),
                                                  ["--serving-grpc-port", str(grpc_port)])
        procs.append(server)
        deploy(port, {"name": "bench", "model_uri": "models:/bench/1"})

        python_port = tb.free_port()
        with open(os.path.join(work, "grpc_server.py"), "w") as f:
            f.write(GRPC_SERVER.format(proto=proto, model=os.path.join(work, "model", "model.ubj"),
                                       port=python_port))
        plog = open(os.path.join(work, "python-grpc.log"), "wb")
        procs.append(subprocess.Popen(["/usr/bin/python3", "grpc_server.py"], cwd=work, stdout=plog,
                                      stderr=subprocess.STDOUT))
        time.sleep(2)

        rng = np.random.default_rng(7)
        results = []
        for rows in (1, 64):
            x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
            request = pb.ModelInferRequest(model_name="bench", id="b")
            request.inputs.add(name="x", datatype="FP32", shape=[rows, FEATURES])
            request.raw_input_contents.append(x.tobytes())
            request_file = os.path.join(work, f"request-{rows}.bin")
            with open(request_file, "wb") as f:
                f.write(request.SerializeToString())
            bodies = os.path.join(work, f"v2-{rows}.jsonl")
            with open(bodies, "w") as f:
                f.write(json.dumps({"inputs": [{"name": "x", "shape": [rows, FEATURES], "datatype": "FP32",
                                                "data": [float(v) for v in x.ravel()]}]}) + "\n")
            for calls in (args.calls, 1):
                for label, run in (
                        ("cairn gRPC", lambda: grpc_load(f"127.0.0.1:{grpc_port}", request_file, calls,
                                                         args.seconds)),
                        ("python grpcio + python3-xgboost", lambda: grpc_load(
                            f"127.0.0.1:{python_port}", request_file, calls, args.seconds)),
                        ("cairn v2 REST (JSON)", lambda: http_load(port, "/v2/models/bench/infer", bodies,
                                                                    calls, args.seconds))):
                    print(f"  {label}: {rows} rows, {calls} in flight, {args.seconds}s ...", flush=True)
                    r = run()
                    r.update(label=label, rows=rows, calls=calls)
                    results.append(r)

        print(f"\nModelInfer, {args.seconds}s each; 'cairn gRPC is': cairn gRPC's req/s over that row's")
        print(f"  {'server':34} {'rows':>4} {'calls':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cairn gRPC is':>14}")
        for r in results:
            base = next(b for b in results if b["label"] == "cairn gRPC" and b["rows"] == r["rows"]
                        and b["calls"] == r["calls"])
            ratio = base["requests_per_second"] / r["requests_per_second"]
            print(f"  {r['label']:34} {r['rows']:4} {r['calls']:5} {r['requests_per_second']:9,.0f} "
                  f"{r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {ratio:13.2f}x")
    finally:
        stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
