#!/usr/bin/env bash
# Command 1: set up a fresh machine and run Label360 with a demo project.
# Embedded defaults (no servers needed): SQLite in var/, kombu's filesystem broker in var/broker.
# Set DATABASE_URL / CELERY_BROKER_URL to use PostgreSQL and Redis/RabbitMQ instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py ensure_admin
$PY manage.py load_demo

echo "== starting a Celery worker (queues: interactive, batch) with beat (the job sweep)"
.venv/bin/celery -A label360 worker -Q interactive,batch -c "${WORKER_CONCURRENCY:-2}" \
  -B -s var/celerybeat-schedule --loglevel=INFO >var/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM

# Local use only: the development server answers on this machine unless LABEL360_HOST says otherwise
# (production: scripts/serve.sh).
host="${LABEL360_HOST:-127.0.0.1}"
port="${PORT:-8000}"
echo "== Label360 at http://${host}:${port}/  (admin: /admin/, API docs: /api/docs/; worker log: var/worker.log)"
$PY manage.py runserver "${host}:${port}"
