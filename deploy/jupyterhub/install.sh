#!/usr/bin/env bash
# Install what the Hub needs: the `hub` extra (jupyterhub, jhsingle-native-proxy,
# jupyterhub-idle-culler) into the project's Python, and configurable-http-proxy from npm
# under .venv/hub/node (not global). Used by `make hub`, .ci/run (for tests/hub) and the
# single-user image (deploy/kubernetes/Dockerfile, with KMEANS_TUTOR_NO_NODE=1: the image
# needs no proxy). Safe to run again; exits non-zero if something could not be installed.
#
#   PYTHON=.venv/bin/python   the interpreter to install into
#   EXTRAS=hub                pip extras of kmeans-tutor to install ("dev,hub" in CI)
#   KMEANS_TUTOR_NO_NODE=1    skip configurable-http-proxy
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON="${PYTHON:-.venv/bin/python}"
EXTRAS="${EXTRAS:-hub}"
NODE_PREFIX="${NODE_PREFIX:-.venv/hub/node}"
CHP_VERSION="${CHP_VERSION:-^5}"

"$PYTHON" -m pip install --quiet -e ".[${EXTRAS}]"
"$PYTHON" -c 'import jupyterhub, jhsingle_native_proxy, jupyterhub_idle_culler; print("jupyterhub", jupyterhub.__version__)'

if [ "${KMEANS_TUTOR_NO_NODE:-0}" = 1 ]; then
    exit 0
fi
if [ -x "$NODE_PREFIX/node_modules/.bin/configurable-http-proxy" ]; then
    echo "configurable-http-proxy already in $NODE_PREFIX"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
    else
        echo "error: npm not found; install Node.js (with npm) to get configurable-http-proxy" >&2
        exit 1
    fi
fi
mkdir -p "$NODE_PREFIX"
npm install --prefix "$NODE_PREFIX" --no-audit --no-fund "configurable-http-proxy@${CHP_VERSION}"
"$NODE_PREFIX/node_modules/.bin/configurable-http-proxy" --version
