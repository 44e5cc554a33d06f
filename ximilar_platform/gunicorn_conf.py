"""gunicorn's configuration (``--config python:ximilar_platform.gunicorn_conf``: `manage.py serve`, the image).

Request metrics are counted in each worker process, and a scrape reaches one of them: each worker
writes its counts to files in a folder of this server's own (prometheus_client's multiprocess mode)
and ``/metrics`` merges them. The folder is made when gunicorn reads this file, before any worker
imports prometheus_client (which picks the mode at import), and removed when gunicorn exits. It is
per server, never shared through ``DATA_DIR``, so servers sharing a volume do not mix their counts.
A dead worker's files stay: its counts are part of the server's totals. ``mark_process_dead`` is not
called, since it only drops live gauges and the workers keep none.
"""

from __future__ import annotations

import os
import shutil
import tempfile

os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ximilar-metrics-")

# the combined format, plus the time taken and the answer's X-Request-ID (core.request_id)
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'


def on_exit(server: object) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
