"""Time one password hash and one verification per scheme crudauth offers.

Run from the repository root: ``.venv/bin/python bench/hash_costs.py [--repeat N]``.
Each figure is the median of N runs in this process on one core, with no other load
from the script. The pre-hash and NFKC step are included, as in a real sign-in.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from crudauth.utils.hashers import Argon2idHasher, BcryptHasher
from crudauth.utils.password_hashing import PasswordHashing

PASSWORD = "Correct-Horse-Battery-Staple-1"
PEPPER = "bench-pepper-0123456789abcdef"


def schemes() -> list[tuple[str, PasswordHashing]]:
    return [
        ("bcrypt cost 12 (default)", PasswordHashing(BcryptHasher(rounds=12))),
        ("argon2id 19 MiB t=2 p=1 (OWASP minimum)", PasswordHashing("argon2id")),
        ("argon2id 19 MiB t=2 p=1 + pepper", PasswordHashing("argon2id", pepper=PEPPER)),
        (
            "argon2id 64 MiB t=3 p=4",
            PasswordHashing(Argon2idHasher(memory_cost=64 * 1024, time_cost=3, parallelism=4)),
        ),
    ]


def median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="runs per figure (default 7)")
    args = parser.parse_args()

    print(f"Median of {args.repeat} runs per figure.\n")
    print("| scheme | hash (ms) | verify (ms) |")
    print("|---|---|---|")
    for name, hashing in schemes():
        stored = hashing.hash(PASSWORD)
        hash_ms = median_ms(lambda h=hashing: h.hash(PASSWORD), args.repeat)
        verify_ms = median_ms(lambda h=hashing, s=stored: h.verify(PASSWORD, s), args.repeat)
        print(f"| {name} | {hash_ms:.1f} | {verify_ms:.1f} |")


if __name__ == "__main__":
    main()
