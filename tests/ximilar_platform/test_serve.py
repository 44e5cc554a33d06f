"""`make run`'s last step, `manage.py serve`, on the embedded defaults: no Postgres, no Redis."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from ximilar.client import RecognitionClient

from tests.factories import image_bytes

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_line_starting(process: subprocess.Popen, prefix: str, lines: list[str]) -> str:
    while True:
        line = process.stdout.readline()
        assert line, "serve exited early:\n" + "".join(lines)
        lines.append(line)
        if line.startswith(prefix):
            return line.removeprefix(prefix).strip()


def celery_child(parent: int) -> int | None:
    """The pid of serve's worker process (its direct child running celery), if one runs."""
    for pid in subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except FileNotFoundError:  # it exited since pgrep saw it
            continue
        if "celery" in command:
            return int(pid)
    return None


def test_serve_prints_token_and_runs_api_and_worker_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"}}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), WEB_CONCURRENCY="1", PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        token = read_line_starting(process, "API token: ", lines)
        assert read_line_starting(process, "API: ", lines) == f"http://localhost:{port}/"
        web_line = read_line_starting(process, "Web app: ", lines)
        assert web_line.startswith(f"http://localhost:{port}/app/ (user demo, password ")
        password = web_line.rsplit(" ", 1)[1].rstrip(")")
        endpoint = f"http://localhost:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(endpoint, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        client = RecognitionClient(token=token, endpoint=endpoint)
        task, _ = client.create_task("served")
        assert client.get_task(task.id)[0].name == "served"
        (image,), _ = client.upload_images([{"_base64": base64.b64encode(image_bytes()), "noresize": True}])
        stored = list((tmp_path / "data" / "media").rglob("*.*"))
        assert len(stored) == 2
        client.remove_image(image.id)
        while any(path.exists() for path in stored) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not any(path.exists() for path in stored), "the worker did not run the deletion job"
        assert (tmp_path / "data" / "demo_token").read_text() == token
        browser = requests.Session()
        login = browser.get(endpoint + "app/login/", timeout=10)
        csrf = login.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        signed_in = browser.post(
            endpoint + "app/login/",
            data={"username": "demo", "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": endpoint + "app/login/"},
            timeout=10,
        )
        assert signed_in.url == endpoint + "app/" and "served" in signed_in.text  # the dashboard lists the task

        # a killed worker is started again, and the API never stops answering meanwhile (issue 12)
        worker = celery_child(process.pid)
        os.kill(worker, signal.SIGKILL)
        while time.monotonic() < deadline and celery_child(process.pid) in (None, worker):
            assert requests.get(endpoint, timeout=5).status_code == 200
            time.sleep(0.3)
        assert celery_child(process.pid) not in (None, worker), "serve did not start a new worker"
        (image,), _ = client.upload_images(
            [{"_base64": base64.b64encode(image_bytes(color=(1, 2, 3))), "noresize": True}]
        )
        stored = [path for path in (tmp_path / "data" / "media").rglob("*.*")]
        client.remove_image(image.id)
        while any(path.exists() for path in stored) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not any(path.exists() for path in stored), "the new worker did not run the deletion job"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(lines) + output
    leftovers = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "children still running after Ctrl-C"
