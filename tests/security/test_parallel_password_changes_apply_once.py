"""Parallel password changes from one session: one wins, the rest are told they lost."""

from __future__ import annotations

import asyncio
from typing import Any

from support import csrf_headers, login


async def test_parallel_changes_apply_one(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    async with test_app.client() as alice:
        await login(alice)
        answers = await asyncio.gather(
            *(
                alice.post(
                    "/change-password",
                    json={"current_password": "Correct-Horse-1", "new_password": f"Racing-Pw-{n}0"},
                    headers=csrf_headers(alice),
                )
                for n in range(4)
            )
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 401, 401, 401], [answer.text for answer in answers]
        assert (await alice.get("/me")).status_code == 200
    winner = next(n for n, answer in enumerate(answers) if answer.status_code == 200)
    async with test_app.client() as client:
        for n in range(4):
            expected = 200 if n == winner else 401
            response = await login(client, "alice", f"Racing-Pw-{n}0")
            assert response.status_code == expected, (n, response.text)
