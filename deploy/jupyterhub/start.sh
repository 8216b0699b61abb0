#!/usr/bin/env bash
# `make hub`: JupyterHub on http://127.0.0.1:${KMEANS_TUTOR_HUB_PORT:-8000}/ for a try-out,
# with a throw-away password printed here. Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
export KMEANS_TUTOR_HUB_IP="${KMEANS_TUTOR_HUB_IP:-127.0.0.1}"
export KMEANS_TUTOR_HUB_PORT="${KMEANS_TUTOR_HUB_PORT:-8000}"
export KMEANS_TUTOR_HUB_PASSWORD="${KMEANS_TUTOR_HUB_PASSWORD:-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(9))')}"
cat <<MSG

  JupyterHub for the K-means lessons (try-out)
  open     http://${KMEANS_TUTOR_HUB_IP}:${KMEANS_TUTOR_HUB_PORT}/
  log in   any user name (one per student, e.g. alice, bob)
  password ${KMEANS_TUTOR_HUB_PASSWORD}    (throw-away: a new one each start)
  stop     Ctrl+C

MSG
exec "$PYTHON" -m jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
