#!/usr/bin/env bash
# Start throwaway Redis and PostgreSQL servers on loopback, run pytest, stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash scripts/services.sh start)"
trap 'bash scripts/services.sh stop' EXIT

.venv/bin/python -m pytest "$@"
