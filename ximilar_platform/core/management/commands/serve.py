"""``manage.py serve``: print the demo token, then run the API server and a Celery worker.

Both run in the foreground as child processes; Ctrl-C (or SIGTERM) stops both. If either dies it
is started again (a killed worker's job is retried by the sweep of the new one); one that keeps
dying at once stops both, so nothing is left running half-alive.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ximilar_platform.accounts.demo import ensure_demo_password, ensure_demo_token

CRASH_LOOP_SECONDS = 10  # a child that exits this soon after its start died at once
CRASH_LOOP_RESTARTS = 5  # that many times in a row: stop rather than restart forever


class Command(BaseCommand):
    help = "Run the API server and a Celery worker (the embedded install started by `make run`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Run only the API server: jobs wait for a worker started elsewhere (the API fuzz test uses it).",
        )

    def handle(self, *args, **options) -> int:
        key = ensure_demo_token(username=settings.DEMO_USERNAME, token_file=settings.DATA_DIR / "demo_token")
        password = ensure_demo_password(
            username=settings.DEMO_USERNAME, password_file=settings.DATA_DIR / "demo_password"
        )
        self.stdout.write(f"API token: {key}")
        self.stdout.write(f"API: http://localhost:{settings.PORT}/")
        self.stdout.write(f"Docs: http://localhost:{settings.PORT}/api/docs/")
        self.stdout.write(
            f"Web app: http://localhost:{settings.PORT}/app/ (user {settings.DEMO_USERNAME}, password {password})"
        )
        self.stdout.flush()
        commands = [self.server_command()] + ([] if options["no_worker"] else [self.worker_command()])
        children = [subprocess.Popen(command) for command in commands]
        started = [time.monotonic()] * len(children)
        quick_deaths = [0] * len(children)
        stop = False

        def request_stop(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        stop_code = 0
        while not stop and not stop_code:
            time.sleep(0.5)
            for index, child in enumerate(children):
                if stop or stop_code or child.poll() is None:
                    continue
                # a dead API or worker is started again, so the embedded install heals; one that
                # keeps dying at once (a broken configuration) stops everything instead
                quick = time.monotonic() - started[index] < CRASH_LOOP_SECONDS
                quick_deaths[index] = quick_deaths[index] + 1 if quick else 0
                name = ("API server", "worker")[index]
                if quick_deaths[index] >= CRASH_LOOP_RESTARTS:
                    self.stderr.write(f"The {name} keeps exiting (code {child.returncode}); stopping.")
                    stop_code = 1
                    continue
                self.stderr.write(f"The {name} exited (code {child.returncode}); starting it again.")
                children[index], started[index] = subprocess.Popen(commands[index]), time.monotonic()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(stop_code)

    def server_command(self) -> list[str]:
        addresses = [a for a in settings.BIND_ADDRESSES if socket.has_ipv6 or not a.startswith("[")]
        binds = [arg for address in addresses for arg in ("--bind", f"{address}:{settings.PORT}")]
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "ximilar_platform.wsgi:application",
            "--config",
            "python:ximilar_platform.gunicorn_conf",  # the metrics of every worker together; the access log
            *binds,
            "--workers",
            str(settings.WEB_CONCURRENCY),
            "--threads",
            str(settings.WEB_THREADS),
            # pooled client connections idle between polls; gunicorn's 2 s default closed them under
            # a client polling every 2 s ("connection reset by peer"); 75 s is nginx's default
            "--timeout",
            "120",
            "--keep-alive",
            "75",
            "--access-logfile",
            "-",
        ]

    def worker_command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ximilar_platform",
            "worker",
            "--queues",
            f"default,{settings.TRAINING_QUEUE},{settings.INFERENCE_QUEUE}",  # one worker does every kind of work
            "--concurrency",
            str(settings.WORKER_CONCURRENCY),
            "--loglevel",
            "INFO",
        ]
