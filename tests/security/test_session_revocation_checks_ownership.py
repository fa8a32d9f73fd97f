"""Revoking a device checks ownership, and a handle is never a credential."""

from __future__ import annotations

import secrets
from typing import Any

from security_support import me_status, plant
from support import BOB, csrf_headers, login


async def test_revocation_ownership(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as alice, test_app.client() as bob, test_app.client() as bob2:
        await login(alice)
        s_a = alice.cookies["session_id"]
        h_a = (await alice.get("/sessions")).json()[0]["id"]
        await login(bob, BOB["email"], BOB["password"])
        await login(bob2, BOB["email"], BOB["password"])
        listing = await bob.get("/sessions")
        rows = listing.json()
        assert len(rows) == 2
        assert [row["current"] for row in rows].count(True) == 1
        for secret in (bob.cookies["session_id"], bob2.cookies["session_id"]):
            assert secret not in listing.text
        for secret in (bob.cookies["csrf_token"], bob2.cookies["csrf_token"]):
            assert secret not in listing.text
        other = next(row["id"] for row in rows if not row["current"])

        bodies = []
        for path in (h_a, secrets.token_hex(32), s_a):
            response = await bob.delete(f"/sessions/{path}", headers=csrf_headers(bob))
            assert response.status_code == 404, response.text
            assert response.json() == {"detail": "Session not found."}
            bodies.append(response.content)
        assert len(set(bodies)) == 1
        assert await me_status(test_app, s_a) == 200

        refused = await bob.delete(f"/sessions/{other}")
        assert refused.status_code == 403
        assert (await bob2.get("/me")).status_code == 200

        async with test_app.client() as holder:
            plant(holder, h_a)
            assert (await holder.get("/me")).status_code == 401

        revoked = await bob.delete(f"/sessions/{other}", headers=csrf_headers(bob))
        assert revoked.status_code == 200, revoked.text
        assert revoked.json() == {"detail": "Session revoked."}
        assert (await bob2.get("/me")).status_code == 401
