"""Benchmark: images per second through the API with concurrent clients, against the bare predictor on every core.

Self-contained like ``serving_overhead.py`` (whose tiny models and registration it reuses): in a
fresh data folder it trains a 64 px categorizer and a 160 px detector, then per run:

- **bare**: the predictor in a process of its own (no torch loaded), as fast as every core allows: ``--threads`` Python
  threads each decoding and predicting the payload in a loop (onnxruntime releases the GIL), each
  session with ``INFERENCE_THREADS`` intra-op threads; the best of the thread counts tried;
- **API**: ``manage.py serve --no-worker`` started once per server configuration (``--configs``:
  ``workers x threads x onnxruntime threads``), ``--clients`` client threads in a child process
  sending the payload for ``--seconds`` after a warm-up, each waiting for its answer.

The goal: with 8 clients the API reaches at least 80 % of the bare images/s. The clients run on the
same cores as the server (this box has two), so they take part of the CPU the bare predictor
had to itself; the report gives the client process's CPU seconds too.

    .venv/bin/python bench/concurrency.py --runs 3 --seconds 20 --configs 2x4x1,2x2x1,1x8x2,4x2x1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from serving_overhead import ROOT, bare_call, free_port, jpeg, register, start, train_models, wait_for

CLIENTS = """
import json, sys, threading, time, requests
url, token, body = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())
clients, seconds, warmup = map(float, sys.argv[3:6])
done, failed, lock = [0], [0], threading.Lock()
start = time.monotonic() + warmup
stop = start + seconds
def client():
    session = requests.Session()
    session.headers["Authorization"] = "Token " + token
    while (now := time.monotonic()) < stop:
        answer = session.post(url, json=body, timeout=120)
        ok = answer.status_code == 200 and all(r["_status"]["code"] == 200 for r in answer.json()["records"])
        if now >= start:
            with lock:
                (done if ok else failed)[0] += 1
threads = [threading.Thread(target=client) for _ in range(int(clients))]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(json.dumps({"requests": done[0], "failed": failed[0], "seconds": seconds, "cpu": time.process_time()}))
"""


def bare_rate(call, threads: int, seconds: float) -> float:
    """Calls per second of ``call`` from ``threads`` threads at once."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        while time.monotonic() < stop:
            call()
            counts[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--records", type=int, default=1, help="640 px JPEGs per request")
    parser.add_argument("--configs", default="2x4x1,2x4x2,1x8x2,4x2x1", help="workers x threads x onnxruntime threads")
    parser.add_argument("--bare-threads", default="1,2,4")
    parser.add_argument("--bare", nargs=5, help=argparse.SUPPRESS)  # the bare predictor's own process
    args = parser.parse_args()
    if args.bare:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
        endpoint, artifact, payload, threads, seconds = args.bare
        call = bare_call(endpoint, artifact, json.loads(Path(payload).read_text()))
        for _ in range(5):
            call()
        print(bare_rate(call, int(threads), float(seconds)))
        return
    data = Path(tempfile.mkdtemp(prefix="concurrency-bench-"))
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATA_DIR=str(data), PYTHONUNBUFFERED="1", THROTTLE_RATE_PREDICT="")
    os.environ.update(DATA_DIR=str(data))
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    results = train_models(data / "work")
    token, tasks = register(results)
    records = [{"_base64": jpeg(640, 7 + i)} for i in range(args.records)]
    paths = {"classify": "recognition/v2/classify", "detect": "detection/v2/detect"}
    rows: dict[tuple[str, str], list[float]] = {}
    for run in range(args.runs):
        for endpoint, path in paths.items():
            for threads in (int(n) for n in args.bare_threads.split(",")):
                for onnx_threads in (1, 2):
                    payload = data / "records.json"
                    payload.write_text(json.dumps(records))
                    command = [sys.executable, __file__, "--bare", endpoint, results[endpoint].artifact_dir]
                    command += [str(payload), str(threads), str(args.seconds / 2)]
                    child = {**env, "INFERENCE_THREADS": str(onnx_threads)}  # a fresh process: no torch in it
                    done = subprocess.run(command, cwd=ROOT, env=child, capture_output=True, text=True, check=True)
                    rate = float(done.stdout.strip().splitlines()[-1]) * args.records
                    rows.setdefault((endpoint, f"bare {threads} threads x {onnx_threads}"), []).append(rate)
                    print(f"run {run + 1} {endpoint} bare {threads}x{onnx_threads}: {rate:.1f} images/s", flush=True)
            for config in args.configs.split(","):
                workers, web_threads, onnx_threads = config.split("x")
                port = free_port()
                server_env = {
                    **env,
                    "PORT": str(port),
                    "WEB_CONCURRENCY": workers,
                    "WEB_THREADS": web_threads,
                    "INFERENCE_THREADS": onnx_threads,
                }
                server = start(
                    [sys.executable, "manage.py", "serve", "--no-worker"], server_env, data / f"{config}.log"
                )
                try:
                    wait_for(f"http://127.0.0.1:{port}/healthz", server)
                    url = f"http://127.0.0.1:{port}/{path}"
                    body = json.dumps({"task_id": tasks[endpoint], "records": records})
                    for _ in range(3):
                        requests.post(url, data=body, headers={"Authorization": f"Token {token}"}, timeout=120)
                    command = [sys.executable, "-c", CLIENTS, url, token, str(args.clients), str(args.seconds)]
                    done = subprocess.run(
                        [*command, str(args.warmup)], input=body, capture_output=True, text=True, check=True
                    )
                    answer = json.loads(done.stdout)
                    rate = answer["requests"] * args.records / answer["seconds"]
                    rows.setdefault((endpoint, f"API {config}"), []).append(rate)
                    print(f"run {run + 1} {endpoint} API {config}: {rate:.1f} images/s, {answer}", flush=True)
                finally:
                    server.send_signal(signal.SIGINT)
                    server.wait(timeout=60)
    print(f"\n{args.clients} clients, {args.records} x 640 px JPEG per request; images/s, median of {args.runs} runs")
    for endpoint in paths:
        best_bare = max(statistics.median(v) for (e, name), v in rows.items() if e == endpoint and "bare" in name)
        for (e, name), values in rows.items():
            if e == endpoint:
                median = statistics.median(values)
                runs = " / ".join(f"{v:.1f}" for v in values)
                print(f"| {endpoint} | {name} | {runs} | {median:.1f} | {median / best_bare:.2f} |")


if __name__ == "__main__":
    main()
