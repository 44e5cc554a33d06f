"""Benchmark: images per second that one API server classifies, with every client waiting for its answer.

Start the server pinned to the cores it may use, with as many gunicorn processes and onnxruntime
threads as it has cores, e.g. one core:

    DATA_DIR=/tmp/tput WEB_CONCURRENCY=1 WEB_THREADS=2 INFERENCE_THREADS=1 TRAINING_IMAGE_SIZE=224 \\
        taskset -c 1 .venv/bin/python manage.py serve
    taskset -c 0 .venv/bin/python bench/classify_throughput.py --token <API token> --clients 4

Without ``--task`` it first trains the tiny red-vs-blue categorizer of ``flow_overhead.py`` (the
server's ``TRAINING_IMAGE_SIZE`` sets the model's input size). Then ``--clients`` threads send
classify requests of ``--records`` JPEGs of ``--side`` px for ``--seconds``, after a warm-up, and the
report gives records (images) per second, requests per second and the latency percentiles. Run the
clients on other cores than the server, or they take its CPU. ``--server-pids`` (the gunicorn
processes, e.g. ``$(pgrep -d, -f 'gunicorn.*:8000')``) adds the CPU seconds they used in the measured
window and images per CPU second: the per-core figure, which holds on a machine busy with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np
import requests
from flow_overhead import colour_jpeg, train_colours  # bench/ is on sys.path when run as a script


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of these processes (all their threads), from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--task", help="a trained recognition task; default: train a tiny one first")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients, each waiting for its answer")
    parser.add_argument("--records", type=int, default=1, help="images per request")
    parser.add_argument("--side", type=int, default=256, help="side of the JPEGs sent")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--server-pids", default="", help="comma-separated pids of the server's processes")
    args = parser.parse_args()
    url = args.endpoint.rstrip("/") + "/"
    setup = requests.Session()
    setup.headers["Authorization"] = f"Token {args.token}"
    task_id = args.task or train_colours(setup, url)
    body = {
        "task_id": task_id,
        "records": [{"_base64": colour_jpeg(index, index % 2 * 2, args.side)} for index in range(args.records)],
    }
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = time.monotonic() + args.warmup
    stop = start + args.seconds

    def client() -> None:
        api = requests.Session()
        api.headers["Authorization"] = f"Token {args.token}"
        while (now := time.monotonic()) < stop:
            answer = api.post(url + "recognition/v2/classify", json=body)
            elapsed = time.monotonic() - now
            ok = answer.status_code == 200 and all(r["_status"]["code"] == 200 for r in answer.json()["records"])
            if now >= start:  # requests sent during the warm-up do not count
                with lock:
                    latencies.append(elapsed) if ok else failures.__setitem__(0, failures[0] + 1)

    pids = [int(pid) for pid in args.server_pids.split(",") if pid]
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start - time.monotonic()))
    cpu_before = cpu_seconds(pids)
    for thread in threads:
        thread.join()
    measured = time.monotonic() - start
    cpu = cpu_seconds(pids) - cpu_before  # includes the few requests that end after the window
    ms = np.array(latencies) * 1000
    report = {
        "task": task_id,
        "payload": f"{args.records} x {args.side}x{args.side} JPEG per request",
        "clients": args.clients,
        "seconds": round(measured, 1),
        "requests": len(latencies),
        "failed": failures[0],
        "requests_per_s": round(len(latencies) / measured, 1),
        "images_per_s": round(len(latencies) * args.records / measured, 1),
        "latency_ms": {q: round(float(np.percentile(ms, q)), 1) for q in (50, 95, 99)} if latencies else None,
        "load_average": os.getloadavg(),
    }
    if pids:
        report["server_cpu_seconds"] = round(cpu, 1)
        report["images_per_cpu_second"] = round(len(latencies) * args.records / cpu, 1) if cpu else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
