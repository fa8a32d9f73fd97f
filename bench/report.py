"""Render a benchmark run as Markdown tables of medians, spreads, ratios and targets."""

from __future__ import annotations

import statistics
from typing import Any

# Minimum share of the bare endpoint's req/s, per store.
THROUGHPUT_TARGETS = {
    "me_cookie": {"memory": 0.32, "redis": 0.18},
    "me_bearer": {"memory": 0.32, "redis": 0.32},
    "sessions_21": {"memory": 0.20, "redis": 0.12},
}
# Maximum ms of one 500-session sign-out, as a multiple of one revoke.
SIGN_OUT_TARGET = 3.0
LABELS = {
    "bare": "bare endpoint (floor)",
    "user_row": "one user row from SQL, no auth",
    "me_cookie": "GET /me, session cookie",
    "me_bearer": "GET /me, bearer token",
    "sessions_21": "GET /sessions, 21 sessions",
    "revoke": "DELETE /sessions/{id}",
    "logout_all_500": "POST /logout-all, 500 sessions",
    "logout_all_500_keep": "same, keep_current=true",
    "login": "POST /login (bcrypt)",
}


def _median(runs: list[dict[str, Any]], field: str) -> float:
    return statistics.median(run[field] for run in runs)


def _spread(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}"


def summarize(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return per store: medians, spreads, ratios to the floor and target verdicts."""
    summary: dict[str, dict[str, Any]] = {}
    for backend, result in run["backends"].items():
        floor = _median(result["load"]["bare"], "requests_per_second")
        sql_floor = _median(result["load"]["user_row"], "requests_per_second")
        rows: dict[str, Any] = {}
        for key, runs in result["load"].items():
            rate = _median(runs, "requests_per_second")
            # "memory, user cache" has the targets of "memory".
            store = backend.split(",")[0]
            target = THROUGHPUT_TARGETS.get(key, {}).get(store)
            rows[key] = {
                "rps": rate,
                "rps_spread": _spread([r["requests_per_second"] for r in runs]),
                "p50_ms": _median(runs, "p50_ms"),
                "p99_ms": _median(runs, "p99_ms"),
                "ratio": rate / floor,
                "of_user_row": rate / sql_floor,
                "target": None if target is None else f">= {target:.0%}",
                "met": None if target is None else rate / floor >= target,
            }
        ops = result["ops_ms"]
        revoke = statistics.median(ops["revoke"])
        for key, timings in ops.items():
            median = statistics.median(timings)
            is_sign_out = key == "logout_all_500"
            rows[key] = {
                "ms": median,
                "ms_spread": f"{min(timings):.1f}-{max(timings):.1f}",
                "x_revoke": median / revoke,
                "target": f"<= {SIGN_OUT_TARGET:.0f}x revoke" if is_sign_out else None,
                "met": median / revoke <= SIGN_OUT_TARGET if is_sign_out else None,
            }
        summary[backend] = rows
    return summary


def _verdict(row: dict[str, Any]) -> str:
    if row["target"] is None:
        return ""
    return f"{row['target']}: {'met' if row['met'] else 'MISSED'}"


def render_table(run: dict[str, Any]) -> str:
    summary = summarize(run)
    machine = run["machine"]
    lines = [
        f"crudauth benchmark, {run['started_at']}, {machine['cpus']} CPUs, "
        f"Python {machine['python']}, load tool {run['settings']['load_tool']}, "
        f"load average at start {machine['load_average_at_start'][0]:.2f}",
        "",
        "| store | measure | req/s (spread) | p50 ms | p99 ms | of bare | target | of user row |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, rows in summary.items():
        for key, row in rows.items():
            if "rps" not in row:
                continue
            lines.append(
                f"| {backend} | {LABELS[key]} | {row['rps']:.0f} ({row['rps_spread']}) "
                f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['ratio']:.0%} "
                f"| {_verdict(row)} | {row['of_user_row']:.0%} |"
            )
    lines += [
        "",
        "| store | operation | ms per op (spread) | x one revoke | target |",
        "|---|---|---|---|---|",
    ]
    for backend, rows in summary.items():
        for key, row in rows.items():
            if "ms" not in row:
                continue
            lines.append(
                f"| {backend} | {LABELS[key]} | {row['ms']:.1f} ({row['ms_spread']}) "
                f"| {row['x_revoke']:.1f}x | {_verdict(row)} |"
            )
    hashing = run["hashing"]
    lines += [
        "",
        f"bcrypt cost {hashing['bcrypt_rounds']:.0f}: {hashing['hash_ms']:.0f} ms per hash, "
        f"{hashing['verify_ms']:.0f} ms per verification.",
        "",
        "| store | bare p50 / p99 idle | bare p50 / p99 during 20 concurrent logins "
        "| p99 busy / idle |",
        "|---|---|---|---|",
    ]
    for backend, result in run["backends"].items():
        probe = result["under_logins"]
        lines.append(
            f"| {backend} | {probe['idle_p50_ms']:.2f} / {probe['idle_p99_ms']:.2f} ms "
            f"| {probe['busy_p50_ms']:.2f} / {probe['busy_p99_ms']:.2f} ms "
            f"| {probe['busy_p99_over_idle']:.2f} |"
        )
    return "\n".join(lines)
