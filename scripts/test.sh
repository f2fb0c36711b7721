#!/usr/bin/env bash
# Command 2: install what the tests need and run the whole suite.
# With DATABASE_URL / CELERY_BROKER_URL set (as .ci/run does) the tests use PostgreSQL and
# the real broker, and fail if they are unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi

scripts/setup.sh test
PY=.venv/bin/python

echo "== checking services"
$PY scripts/check_services.py

echo "== lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

if [ -f frontend/package.json ]; then
  echo "== browser geometry twin against the Python test vectors"
  mkdir -p frontend/build
  $PY -m label360.sphere.parity frontend/build/sphere_vectors.json
  npm run --prefix frontend --silent typecheck
  npm test --prefix frontend --silent
fi

echo "== pytest"
exec $PY -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
