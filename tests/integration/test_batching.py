"""Dynamic batching (issue 21) over HTTP: concurrent requests to a deployment
that batches are answered by fewer model calls, each answer equal to the one
the same request gets from a deployment that does not batch, over every
protocol; requests that cannot share a call (another width or datatype, bad
input) are answered on their own; the policy is checked, stored and shown.
"""
import json
import random
import re
import threading

import pytest
import requests

from conftest import run_client
from test_rollouts import LOG_TWO, deploy, status, two_versions  # noqa: F401 (fixture)
from test_serving import serving_url

pytestmark = pytest.mark.usefixtures("backend")

ROWS = 48


def v2_body(rows, datatype="FP64"):
    return json.dumps({"inputs": [{"name": "x", "shape": [len(rows), 3], "datatype": datatype,
                                   "data": [v for row in rows for v in row]}]})


def metric(server, name, labels):
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    m = re.search(re.escape(name + "{" + labels + "}") + r" ([0-9.e+]+)", text)
    assert m, f"{name}{{{labels}}} not in /metrics"
    return float(m.group(1))


def concurrently(calls):
    """Runs every call at once (one thread each) and returns their results in order."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i):
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_batched_answers_equal_unbatched_ones_over_every_protocol(two_versions):  # noqa: F811
    server, base, _ = two_versions
    deploy(server, {"name": "solo", "model_uri": "models:/churn/2"})
    # A long delay so that requests sent together surely meet in the queue.
    d = deploy(server, {"name": "batched", "model_uri": "models:/churn/2",
                        "batching": {"max_batch_rows": 16, "max_queue_delay_us": 50000}})
    assert d["batching"] == {"max_batch_rows": 16, "max_queue_delay_us": 50000,
                             "max_queue_requests": 1024, "queue_timeout_ms": 1000}
    rng = random.Random(5)
    rows = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(ROWS)]

    def v2(name, i):
        return lambda: requests.post(f"{base}/v2/models/{name}/infer", data=v2_body([rows[i]]),
                                     timeout=30)

    def v1(name, i):
        return lambda: requests.post(f"{base}/v1/models/{name}:predict",
                                     json={"instances": [rows[i]]}, timeout=30)

    def mlflow(name, i):
        return lambda: requests.post(f"{base}/deployments/{name}/invocations",
                                     json={"inputs": [rows[i]]}, timeout=30)

    def answer(r):
        assert r.status_code == 200, r.text
        body = r.json()
        return body["outputs"][0]["data"] if "outputs" in body else body["predictions"]

    protocols = [v2, v1, mlflow]
    # Each request's answer alone, one at a time, through the same protocol.
    expected = [answer(protocols[i % 3]("solo", i)()) for i in range(ROWS)]
    calls = [protocols[i % 3]("batched", i) for i in range(ROWS)]
    # Two requests of three rows each, split back to their own rows.
    calls.append(lambda: requests.post(f"{base}/v2/models/batched/infer",
                                       data=v2_body(rows[:3]), timeout=30))
    calls.append(lambda: requests.post(f"{base}/v2/models/batched/infer",
                                       data=v2_body(rows[3:6]), timeout=30))
    answers = concurrently(calls)
    for i, r in enumerate(answers[:ROWS]):
        assert answer(r) == expected[i], (i, answer(r), expected[i])
        assert r.headers["x-cairn-variant"] == "primary"
    for r, first in ((answers[ROWS], 0), (answers[ROWS + 1], 3)):
        assert r.status_code == 200, r.text
        out = r.json()["outputs"][0]
        assert out["shape"][0] == 3
        assert out["data"] == [v for i in range(first, first + 3)
                               for v in answer(v2("solo", i)())]

    labels = 'deployment="batched",variant="primary",version="2"'
    calls_made = metric(server, "cairn_serving_batch_rows_count", labels)
    rows_scored = metric(server, "cairn_serving_batch_rows_sum", labels)
    assert rows_scored == ROWS + 6
    # At most 16 rows per call, and far fewer calls than requests.
    assert (ROWS + 6) / 16 <= calls_made <= (ROWS + 2) / 2, calls_made
    assert metric(server, "cairn_serving_requests_total", labels) == ROWS + 2
    assert metric(server, "cairn_serving_queue_seconds_count", labels) == ROWS + 2
    assert status(server, "batched")["batch_queue"] == 0


def test_requests_that_cannot_share_a_call_are_answered_on_their_own(two_versions):  # noqa: F811
    server, base, _ = two_versions
    deploy(server, {"name": "batched", "model_uri": "models:/churn/1",
                    "batching": {"max_batch_rows": 64, "max_queue_delay_us": 50000}})
    row = [0.5, -1.0, 2.0]
    good = v2_body([row])
    fp32 = v2_body([row], "FP32")
    wide = json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                   "data": [1, 2, 3, 4]}]})
    bad_type = json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "BYTES",
                                       "data": ["a", "b", "c"]}]})
    bodies = [good] * 8 + [fp32, wide, bad_type]
    answers = concurrently([
        (lambda b=b: requests.post(f"{base}/v2/models/batched/infer", data=b, timeout=30))
        for b in bodies])
    ok = [r.json()["outputs"][0]["data"] for r in answers[:9]]
    assert all(r.status_code == 200 for r in answers[:9]), [r.text for r in answers[:9]]
    assert all(o == ok[0] for o in ok[:8])
    # FP32 rows round the inputs: close, from its own call.
    assert abs(ok[8][0] - ok[0][0]) < 1e-5
    assert answers[9].status_code == 400 and "takes [N, 3]" in answers[9].json()["error"], \
        answers[9].text
    assert answers[10].status_code == 400, answers[10].text
    assert "error" in answers[10].json()


def test_bad_batching_policies_are_refused_naming_the_field(two_versions):  # noqa: F811
    server, _, _ = two_versions
    for batching, message in (
            ({"max_batch_rows": 0}, "batching.max_batch_rows must be 1-65536 rows, got 0"),
            ({"max_queue_delay_us": 2000000}, "batching.max_queue_delay_us must be 0-1000000"),
            ({"max_queue_delay_us": 5000, "queue_timeout_ms": 1},
             "must be longer than max_queue_delay_us"),
            ("fast", "batching must be an object")):
        r = requests.post(f"{server.url}/api/cairn/v1/deployments",
                          json={"name": "b", "model_uri": "models:/churn/1", "batching": batching},
                          timeout=30)
        assert r.status_code == 400, r.text
        assert message in r.json()["message"], r.text
    assert requests.get(f"{server.url}/api/cairn/v1/deployments/b", timeout=30).status_code == 404


def test_the_policy_survives_a_restart_and_a_redeploy_without_it_stops_batching(server_factory):
    server = server_factory.new(extra_args=["--serving-port", "0"]).start()
    run_client("2.12", LOG_TWO, server.url)
    deploy(server, {"name": "b", "model_uri": "models:/churn/1",
                    "batching": {"max_batch_rows": 8, "max_queue_delay_us": 100}})
    assert server.stop() == 0
    server.start()
    assert status(server, "b")["batching"]["max_batch_rows"] == 8
    base = serving_url(server)
    r = requests.post(f"{base}/v2/models/b/infer", data=v2_body([[1, 2, 3]]), timeout=30)
    assert r.status_code == 200, r.text
    deploy(server, {"name": "b", "model_uri": "models:/churn/1"})
    d = status(server, "b")
    assert "batching" not in d and "batch_queue" not in d
