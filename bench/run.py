"""Benchmark crudauth's authenticated request path against a bare endpoint.

Run it with ``make bench`` (or ``.venv/bin/python bench/run.py --help``). For each
store (memory, then a throwaway Redis) it starts ``bench/app.py`` under uvicorn with one
worker pinned to CPU 0, drives it from CPU 1, and alternates the scenarios round by
round so run-to-run noise shows as a spread. Results go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from client import BenchClient, cookie_headers, unsafe_headers
from loadgen import percentile, post_form_once, probe_latency, run_load, wrk_path
from report import render_table
from servers import app_server, redis_server

from crudauth.utils import hashing

RESULTS = Path(__file__).resolve().parent / "results"
SERVER_CPU = 0
CLIENT_CPU = 1
PASSWORD = "Bench-Password-1"
LISTED_SESSIONS = 21
SIGN_OUT_SESSIONS = 500
CONCURRENT_LOGINS = 20
USER_CACHE_SUFFIX = "+cache"


def throughput_scenarios(port: int, client: BenchClient) -> dict[str, tuple[str, dict[str, str]]]:
    """Set up the reader's 21 sessions and a bearer token; return paths and headers."""
    seeded = client.seed("reader", LISTED_SESSIONS)
    # Another user's token, because the device list also shows token sign-ins.
    tokens, _ = client.login("signer", PASSWORD, path="/token")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    listed, _ = client.request("GET", "/sessions", headers=cookie_headers(seeded))
    if len(listed) != LISTED_SESSIONS:
        raise RuntimeError(f"expected {LISTED_SESSIONS} sessions, listed {len(listed)}")
    return {
        "bare": ("/bare", {}),
        "user_row": ("/user-row", {}),
        "me_cookie": ("/me", cookie_headers(seeded)),
        "me_bearer": ("/me", bearer),
        "sessions_21": ("/sessions", cookie_headers(seeded)),
    }


def time_revokes(client: BenchClient, count: int) -> list[float]:
    """Revoke ``count`` sessions one by one through ``DELETE /sessions/{id}``."""
    seeded = client.seed("revoker", count + 1)
    rows, _ = client.request("GET", "/sessions", headers=cookie_headers(seeded))
    victims = [row["id"] for row in rows if not row["current"]][:count]
    timings = []
    for handle in victims:
        _, elapsed = client.request("DELETE", f"/sessions/{handle}", headers=unsafe_headers(seeded))
        timings.append(elapsed)
    # Leave the caller's session too, so the next round starts from the same state.
    client.request("POST", "/logout", headers=unsafe_headers(seeded))
    return timings


def time_sign_outs(client: BenchClient, repeats: int, *, keep_current: bool) -> list[float]:
    """Time ``POST /logout-all`` for a user with 500 sessions, ``repeats`` times.

    Without ``keep_current`` the route also bumps the user's ``token_version``, one SQL
    ``UPDATE`` and commit; with it, only the session store works.
    """
    path = "/logout-all?keep_current=true" if keep_current else "/logout-all"
    expected = SIGN_OUT_SESSIONS - 1 if keep_current else SIGN_OUT_SESSIONS
    timings = []
    for _ in range(repeats):
        seeded = client.seed("revoker", SIGN_OUT_SESSIONS)
        # Every timed revoke follows an ordinary request, so each sign-out does too.
        # Otherwise the seeding of 500 sessions leaves the server's caches cold.
        client.request("GET", "/me", headers=cookie_headers(seeded))
        body, elapsed = client.request("POST", path, headers=unsafe_headers(seeded))
        if body["revoked"] != expected:
            raise RuntimeError(f"{path} revoked {body['revoked']} of {expected}")
        timings.append(elapsed)
        if keep_current:
            client.request("POST", "/logout", headers=unsafe_headers(seeded))
    return timings


def time_logins(client: BenchClient, repeats: int) -> list[float]:
    return [client.login("signer", PASSWORD)[1] for _ in range(repeats)]


async def latency_under_logins(port: int, seconds: float) -> dict[str, float]:
    """Compare the bare endpoint's p99 at idle and while 20 logins run at once."""
    idle = await probe_latency(port, seconds)
    form = f"username=signer&password={PASSWORD}"
    deadline = time.perf_counter() + seconds
    login_times: list[float] = []

    async def login_waves() -> None:
        # Waves of 20 concurrent logins until the probe window ends.
        while time.perf_counter() < deadline:
            results = await asyncio.gather(
                *(post_form_once(port, "/login", form) for _ in range(CONCURRENT_LOGINS))
            )
            for status, elapsed in results:
                if status != 200:
                    raise RuntimeError(f"concurrent login returned {status}")
                login_times.append(elapsed)

    busy, _ = await asyncio.gather(probe_latency(port, seconds), login_waves())
    return {
        "idle_p50_ms": percentile(idle, 50),
        "idle_p99_ms": percentile(idle, 99),
        "busy_p50_ms": percentile(busy, 50),
        "busy_p99_ms": percentile(busy, 99),
        "busy_p99_over_idle": percentile(busy, 99) / percentile(idle, 99),
        "logins_completed": float(len(login_times)),
        "login_p50_ms_under_concurrency": percentile(login_times, 50),
    }


def measure_hashing(repeats: int = 3) -> dict[str, float]:
    """Time one bcrypt hash and one verification at the library's default cost."""
    hashes = []
    for _ in range(repeats):
        started = time.perf_counter()
        hashed = hashing.get_password_hash(PASSWORD)
        hashes.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    hashing.verify_password(PASSWORD, hashed)
    verify_ms = (time.perf_counter() - started) * 1000
    return {
        "bcrypt_rounds": float(hashing.BCRYPT_ROUNDS),
        "hash_ms": statistics.median(hashes),
        "verify_ms": verify_ms,
    }


def bench_backend(name: str, redis_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    print(f"== {name}: starting the app", flush=True)
    user_cache_ttl = args.user_cache_ttl if name.endswith(USER_CACHE_SUFFIX) else None
    with app_server(redis_url, SERVER_CPU, user_cache_ttl=user_cache_ttl) as port:
        client = BenchClient(port)
        try:
            scenarios = throughput_scenarios(port, client)
            load: dict[str, list[dict[str, Any]]] = {key: [] for key in scenarios}
            ops: dict[str, list[float]] = {
                "revoke": [],
                "logout_all_500": [],
                "logout_all_500_keep": [],
                "login": [],
            }
            for round_number in range(1, args.rounds + 1):
                for key, (path, headers) in scenarios.items():
                    result = run_load(
                        port,
                        path,
                        headers,
                        connections=args.connections,
                        seconds=args.seconds,
                        cpu=CLIENT_CPU,
                    )
                    if result.errors:
                        raise RuntimeError(f"{key}: {result.errors} failed requests")
                    load[key].append(asdict(result))
                    print(
                        f"   round {round_number} {key:12} {result.requests_per_second:9.0f} req/s"
                        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms",
                        flush=True,
                    )
                ops["revoke"] += time_revokes(client, args.op_repeats)
                ops["logout_all_500"] += time_sign_outs(client, args.op_repeats, keep_current=False)
                ops["logout_all_500_keep"] += time_sign_outs(
                    client, args.op_repeats, keep_current=True
                )
                ops["login"] += time_logins(client, max(2, args.op_repeats // 2))
            print(f"   {name}: latency under {CONCURRENT_LOGINS} concurrent logins", flush=True)
            under_logins = asyncio.run(latency_under_logins(port, args.probe_seconds))
        finally:
            client.close()
    return {"load": load, "ops_ms": ops, "under_logins": under_logins}


def pin_runner(cpu: int) -> None:
    """Keep this process, the probe and the timed client, off the server's CPU."""
    if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=5, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--op-repeats", type=int, default=10, help="timed operations per round")
    parser.add_argument("--probe-seconds", type=float, default=4, help="latency probe window")
    parser.add_argument(
        "--backends",
        default="memory,memory+cache,redis,redis+cache",
        help="comma-separated: memory, redis, and either with +cache for the user-row cache",
    )
    parser.add_argument(
        "--user-cache-ttl", type=float, default=5, help="user-row cache lifetime for +cache"
    )
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    pin_runner(CLIENT_CPU)

    run: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "settings": vars(args) | {"load_tool": "wrk" if wrk_path() else "asyncio"},
        "hashing": measure_hashing(),
        "backends": {},
    }
    for name in backends:
        store = name.removesuffix(USER_CACHE_SUFFIX)
        # Redis shares the client's CPU, so the app keeps CPU 0 to itself.
        context = redis_server(CLIENT_CPU) if store == "redis" else nullcontext(None)
        with context as redis_url:
            label = f"{store}, user cache" if name.endswith(USER_CACHE_SUFFIX) else store
            run["backends"][label] = bench_backend(name, redis_url, args)
    run["machine"]["load_average_at_end"] = list(os.getloadavg())

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    table = render_table(run)
    for stem in (stamp, "latest"):
        (RESULTS / f"{stem}.json").write_text(json.dumps(run, indent=2) + "\n")
        (RESULTS / f"{stem}.md").write_text(table + "\n")
    print()
    print(table)
    print(f"\nwrote {RESULTS / (stamp + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
