#!/usr/bin/env bash
# Production: Label360 behind gunicorn, DEBUG off (docs/deploy.md).
#
#   SECRET_KEY=… ALLOWED_HOSTS=labels.example.org DATABASE_URL=postgres://… \
#   CELERY_BROKER_URL=redis://… CACHE_URL=redis://… scripts/serve.sh
#
# Runs the deployment checks, migrates (LABEL360_MIGRATE=0 skips it, e.g. on all but one of
# several web machines), collects static files for WhiteNoise, then execs gunicorn.
#   LABEL360_BIND        addresses, comma separated (default 127.0.0.1:8000: a reverse proxy
#                        on this machine terminates TLS; use 0.0.0.0:8000 in a container)
#   WEB_CONCURRENCY      worker processes (default 2)
#   GUNICORN_THREADS     threads per worker (default 4)
#   GUNICORN_TIMEOUT     seconds before a silent worker is restarted (default 120: uploads)
#   FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers gunicorn trusts (default 127.0.0.1)
# The Celery worker runs separately: .venv/bin/celery -A label360 worker -Q interactive,batch -B
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-0}"
PY="${PYTHON:-.venv/bin/python}"

$PY manage.py check --deploy
if [[ "${LABEL360_MIGRATE:-1}" != "0" ]]; then
  $PY manage.py migrate --noinput
fi
$PY manage.py collectstatic --noinput --verbosity 0

binds=()
IFS=',' read -ra addresses <<<"${LABEL360_BIND:-127.0.0.1:8000}"
for address in "${addresses[@]}"; do
  address="${address// /}"
  [[ -n "$address" ]] && binds+=(--bind "$address")
done

exec $PY -m gunicorn label360.wsgi:application \
  "${binds[@]}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --threads "${GUNICORN_THREADS:-4}" \
  --timeout "${GUNICORN_TIMEOUT:-120}" \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
  --access-logfile - \
  --error-logfile -
