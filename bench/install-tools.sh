#!/usr/bin/env bash
# Install the benchmark's system tools from Debian's packages when they are missing:
# wrk drives the load (bench/run.py falls back to an asyncio client without it) and
# redis-server backs the Redis half of the run.
set -uo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-server >/dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "installing ${missing[*]} from Debian's packages" >&2
if ! { "${sudo_cmd[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "could not install ${missing[*]}; without wrk the asyncio client drives the load" >&2
fi
command -v redis-server >/dev/null || { echo "redis-server is required" >&2; exit 1; }
