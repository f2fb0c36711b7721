#!/usr/bin/env bash
# Shared set-up for the run and test commands: a virtualenv with the project installed,
# and the browser application built. Idempotent; safe to run on every start.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv/bin/python ]; then
  echo "== creating virtualenv (.venv) with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "== installing Python packages${extras:+ [$extras]}"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch==2.13.0 resolves to the local CPU wheel (see pyproject.toml); constraints.txt holds
  # every package at the version the suite last passed with
  .venv/bin/python -m pip install -q -c constraints.txt -e ".${extras:+[$extras]}"
  # opencv-contrib provides cv2 too: a plain opencv wheel left from an older install would shadow it
  if .venv/bin/python -m pip show -q opencv-python-headless >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall -y -q opencv-python-headless
    .venv/bin/python -m pip install -q --force-reinstall --no-deps -c constraints.txt \
      opencv-contrib-python-headless
  fi
  touch "$stamp"
fi
# compile the rasteriser's numba kernels once (cached on disk next to the module)
.venv/bin/python -c "from label360.sphere.kernels import compile_kernels; compile_kernels()"
# pretrained face/text detector weights, extracted from their PyPI wheels (hash-pinned)
.venv/bin/python -m inference.detectors.weights

if [ -f frontend/package.json ]; then
  if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules ]; then
    echo "== installing front-end packages"
    npm ci --prefix frontend --no-audit --no-fund --loglevel=error
  fi
  echo "== building the front end"
  npm run --prefix frontend --silent build
fi
