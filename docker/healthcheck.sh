#!/bin/sh
# The image's health check, for the API and for workers alike (Dockerfile HEALTHCHECK, compose,
# Kubernetes exec probes of workers). Exit 0: healthy.
#   healthcheck.sh            what PID 1 is: a Celery worker is pinged, anything else is the API
#   healthcheck.sh /readyz    the API's path to ask (default /healthz: the process answers)
#   healthcheck.sh worker     ping this container's worker whatever PID 1 is
# A worker is asked over the broker (`celery inspect ping` to its own node name, celery@$HOSTNAME):
# its main process answers even while a child process runs a long training.
set -eu
what="${1:-}"
if [ -z "$what" ] && tr '\0' ' ' </proc/1/cmdline 2>/dev/null | grep -Eq 'celery|run_one_job'; then
    what=worker
fi
if [ "$what" = worker ]; then
    exec celery -A ximilar_platform inspect ping --destination "celery@${HOSTNAME:-$(hostname)}" \
        --timeout "${HEALTHCHECK_PING_TIMEOUT:-10}"
fi
exec python -c 'import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=10)' \
    "${HEALTHCHECK_PORT:-8000}" "${what:-/healthz}"
