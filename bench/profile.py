"""Profile one benchmark scenario with py-spy and print where the server's time goes.

    .venv/bin/python bench/profile.py me_cookie [--backend redis] [--seconds 8]

The app runs under ``py-spy record`` (collapsed stacks) while wrk or the asyncio client
drives the scenario. The summary lists, for each frame of interest, the share of
samples whose stack contains it; the raw stacks stay in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from client import BenchClient
from loadgen import run_load
from run import CLIENT_CPU, RESULTS, SERVER_CPU, throughput_scenarios
from servers import ROOT, _app_answers, free_port, pinned, redis_server

START_TIMEOUT_SECONDS = 30
FRAMES_OF_INTEREST = ("crudauth/", "sqlalchemy/ext/asyncio/session.py", "solve_dependencies")


def summarize(stacks_file: Path, top: int) -> str:
    """Return where the samples went: per thread, then the frames of interest.

    A frame's share is inclusive: the share of samples whose stack contains it.
    """
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks_file.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        if "asyncio_run" in stack:
            threads["event loop thread"] += count
        elif "aiosqlite" in stack:
            threads["aiosqlite worker thread"] += count
        else:
            threads["other threads"] += count
        for frame in set(stack.split(";")):
            inclusive[frame] += count
    lines = [f"{total} samples"]
    lines += [f"{count / total:6.1%}  {name}" for name, count in threads.most_common()]
    lines.append("frames of interest (inclusive):")
    interesting = [
        (frame, count)
        for frame, count in inclusive.most_common()
        if any(marker in frame for marker in FRAMES_OF_INTEREST)
    ]
    for frame, count in interesting[:top]:
        lines.append(f"{count / total:6.1%}  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", choices=["bare", "user_row", "me_cookie", "me_bearer", "sessions_21"]
    )
    parser.add_argument("--backend", choices=["memory", "redis"], default="memory")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    RESULTS.mkdir(exist_ok=True)
    stacks = RESULTS / f"profile-{args.scenario}-{args.backend}.txt"
    context = redis_server(CLIENT_CPU) if args.backend == "redis" else nullcontext(None)
    with context as redis_url:
        port = free_port()
        env = dict(os.environ)
        if redis_url:
            env["BENCH_REDIS_URL"] = redis_url
        app = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(ROOT / "bench")]
        app += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        command = [py_spy, "record", "--format", "raw", "--rate", "500", "-o", str(stacks)]
        command += ["--", *app]
        process = subprocess.Popen(pinned(command, SERVER_CPU), env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not _safe_answers(port):
                if time.monotonic() > deadline:
                    raise RuntimeError("the profiled app did not start")
                time.sleep(0.1)
            client = BenchClient(port)
            path, headers = throughput_scenarios(port, client)[args.scenario]
            client.close()
            result = run_load(
                port, path, headers, connections=32, seconds=args.seconds, cpu=CLIENT_CPU
            )
            print(f"{args.scenario}: {result.requests_per_second:.0f} req/s while profiled")
        finally:
            # SIGINT stops uvicorn; py-spy then writes the stacks and exits.
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    print(summarize(stacks, args.top))
    return 0


def _safe_answers(port: int) -> bool:
    try:
        return _app_answers(port)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
