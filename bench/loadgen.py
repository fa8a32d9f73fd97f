"""Load generators: Debian's ``wrk`` when installed, else a bounded asyncio client.

Every loop here is bounded by a duration and a request count, and every target is a
server the benchmark started on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

HOST = "127.0.0.1"
# Hard cap per run for the asyncio client, far above what one core serves in a run.
MAX_REQUESTS_PER_RUN = 2_000_000
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_load(
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    connections: int,
    seconds: float,
    cpu: int | None,
) -> LoadResult:
    """Send ``GET path`` over ``connections`` keep-alive connections for ``seconds``."""
    wrk = wrk_path()
    if wrk is not None:
        return _run_wrk(wrk, port, path, headers, connections, seconds, cpu)
    return asyncio.run(_asyncio_load(port, path, headers, connections, seconds))


def _run_wrk(
    wrk: str,
    port: int,
    path: str,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    cpu: int | None,
) -> LoadResult:
    command = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}{path}")
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> LoadResult:
    """Parse req/s, the 50% and 99% latencies and the error counts of wrk --latency."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if not (rate and total and p50 and p99):
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return LoadResult(
        requests_per_second=float(rate.group(1)),
        p50_ms=float(p50.group(1)) * _UNITS_MS[p50.group(2)],
        p99_ms=float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        errors=errors,
        tool="wrk",
    )


def _request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return the status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _asyncio_load(
    port: int, path: str, headers: dict[str, str], connections: int, seconds: float
) -> LoadResult:
    request = _request_bytes("GET", path, headers)
    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS_PER_RUN:
                started = time.perf_counter()
                writer.write(request)
                status = await read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                if status >= 400:
                    errors[0] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return LoadResult(
        requests_per_second=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        requests=len(latencies),
        errors=errors[0],
        tool="asyncio",
    )


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


async def probe_latency(
    port: int, seconds: float, *, connections: int = 2, pause: float = 0.005
) -> list[float]:
    """Send ``GET /bare`` at a light, steady rate; return each latency in ms.

    Each connection waits ``pause`` seconds between requests, so the probe measures how
    quickly the server responds rather than how much it can serve.
    """
    request = _request_bytes("GET", "/bare", {})
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS_PER_RUN:
                started = time.perf_counter()
                writer.write(request)
                await read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(pause)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


async def post_form_once(port: int, path: str, form: str) -> tuple[int, float]:
    """POST a urlencoded form on a fresh connection; return the status and ms taken."""
    body = form.encode()
    request = _request_bytes(
        "POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, body
    )
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        status = await read_response(reader)
    finally:
        writer.close()
    return status, (time.perf_counter() - started) * 1000
