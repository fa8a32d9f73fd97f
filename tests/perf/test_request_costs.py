"""What one authenticated request costs, counted in SQL statements and store operations.

The Redis round-trip counts of ``GET /me``, the device list and sign-out-everywhere are
pinned in the production HTTP tests; these tests add the SQL side, the activity write
interval, the constancy of device operations between 3 and 30 sessions, a sign-out
that parses no session record, and the User-Agent parse cache.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crudauth.storage import _values as stored_values
from crudauth.storage.backends import memory as memory_backend
from crudauth.storage.backends import redis_index
from crudauth.transports.session import useragent
from crudauth.user_cache import UserCacheConfig
from perf.helpers import CHROME, FIREFOX, login_request
from support import csrf_headers, login


async def bearer_token(client: Any) -> str:
    response = await client.post(
        "/token", data={"username": "alice", "password": "Correct-Horse-1"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_session_request_one_sql_query(
    perf_app: Any, store: str, count_sql: Any, round_trips: list[int]
) -> None:
    test_app = await perf_app()
    await test_app.create_user()
    queries = count_sql(test_app)
    async with test_app.client() as client:
        assert (await login(client)).status_code == 200
        await client.get("/me")

        # The user row is loaded once per request: the session record carries no
        # copy of it, so a disabled account or a password change applies at once.
        for method, path in [("GET", "/me"), ("POST", "/protected")]:
            queries.reset()
            round_trips[0] = 0
            response = await client.request(method, path, headers=csrf_headers(client))
            assert response.status_code == 200, response.text
            assert queries.count == 1, queries.statements
            if store == "redis":
                # Validation reads the record; inside the activity interval nothing
                # is written, so this is the whole Redis cost of the request.
                assert round_trips[0] == 1


async def test_bearer_request_one_sql_query(
    perf_app: Any, store: str, count_sql: Any, round_trips: list[int]
) -> None:
    test_app = await perf_app()
    await test_app.create_user()
    queries = count_sql(test_app)
    async with test_app.client() as client:
        headers = {"Authorization": f"Bearer {await bearer_token(client)}"}
        queries.reset()
        round_trips[0] = 0
        response = await client.get("/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["via"] == "bearer"
    assert queries.count == 1, queries.statements
    # At most the token family's record: the access token itself is verified locally.
    assert round_trips[0] <= 1


async def test_cached_rows_cost_no_sql_query(
    perf_app: Any, store: str, count_sql: Any, round_trips: list[int]
) -> None:
    test_app = await perf_app(user_cache=UserCacheConfig(ttl=60))
    await test_app.create_user()
    queries = count_sql(test_app)
    async with test_app.client() as browser, test_app.client() as api:
        assert (await login(browser)).status_code == 200
        api.headers["Authorization"] = f"Bearer {await bearer_token(api)}"
        for client, via in ((browser, "session"), (api, "bearer")):
            await client.get("/me")
            queries.reset()
            round_trips[0] = 0
            response = await client.get("/me")
            assert response.status_code == 200, response.text
            assert response.json()["via"] == via
            assert queries.count == 0, queries.statements
            if store == "redis":
                # The session record, or the token family: nothing else.
                assert round_trips[0] == 1


async def test_device_list_one_sql_query(perf_app: Any, count_sql: Any) -> None:
    test_app = await perf_app()
    user = await test_app.create_user()
    for _ in range(5):
        await test_app.auth.sessions.create_session(login_request(), user.id)
    queries = count_sql(test_app)
    async with test_app.client() as client:
        await login(client)
        queries.reset()
        response = await client.get("/sessions")
    assert response.status_code == 200, response.text
    assert len(response.json()) == 6
    assert queries.count == 1, queries.statements


async def test_sign_out_everywhere_loads_user_once(perf_app: Any, count_sql: Any) -> None:
    test_app = await perf_app()
    await test_app.create_user()
    queries = count_sql(test_app)
    async with test_app.client() as client:
        await login(client)
        queries.reset()
        response = await client.post("/logout-all", headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    kinds = [statement.split()[0].upper() for statement in queries.statements]
    # The caller's row is loaded once and reused for a token_version bump, whose UPDATE
    # is followed by one refresh.
    assert kinds.count("SELECT") == 1 + kinds.count("UPDATE"), queries.statements


class WriteCounter:
    """Wrap a store's ``modify`` (the activity write) and count its calls."""

    def __init__(self, storage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = storage.modify

        async def counting(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(storage, "modify", counting)


@pytest.mark.parametrize("interval", [60, 10])
async def test_activity_written_once_per_interval(
    perf_app: Any, store: str, monkeypatch: pytest.MonkeyPatch, interval: int
) -> None:
    kwargs = {} if interval == 60 else {"activity_interval_seconds": interval}
    test_app = await perf_app(**kwargs)
    await test_app.create_user()
    manager = test_app.auth.sessions
    writes = WriteCounter(manager.storage, monkeypatch)
    real_now = manager._now
    offset = [timedelta(0)]
    monkeypatch.setattr(manager, "_now", lambda: real_now() + offset[0])

    async with test_app.client() as client:
        await login(client)
        session_id = client.cookies.get("session_id")
        first = await manager.get_session(session_id)
        for _ in range(10):
            assert (await client.get("/me")).status_code == 200
        assert writes.calls == 0
        assert (await manager.get_session(session_id)).last_activity == first.last_activity

        offset[0] = timedelta(seconds=interval - 1)
        assert (await client.get("/me")).status_code == 200
        assert writes.calls == 0

        offset[0] = timedelta(seconds=interval + 1)
        for _ in range(10):
            assert (await client.get("/me")).status_code == 200
        assert writes.calls == 1
        touched = await manager.get_session(session_id)
        assert touched.last_activity > first.last_activity


async def device_costs(
    test_app: Any, username: str, sessions: int, round_trips: list[int]
) -> dict[str, int]:
    """Return the Redis round trips of listing, revoking one and revoking all sessions."""
    user = await test_app.create_user(username=username, email=f"{username}@example.com")
    for _ in range(sessions - 1):
        await test_app.auth.sessions.create_session(
            login_request(), user.id, token_version=user.token_version
        )
    costs: dict[str, int] = {}
    async with test_app.client() as client:
        await login(client, username=username)
        await client.get("/me")

        round_trips[0] = 0
        listed = await client.get("/sessions")
        costs["list"] = round_trips[0]
        assert len(listed.json()) == sessions
        other = next(row["id"] for row in listed.json() if not row["current"])

        round_trips[0] = 0
        response = await client.delete(f"/sessions/{other}", headers=csrf_headers(client))
        costs["revoke_one"] = round_trips[0]
        assert response.status_code == 200, response.text

        round_trips[0] = 0
        response = await client.post("/logout-all", headers=csrf_headers(client))
        costs["revoke_all"] = round_trips[0]
        assert response.status_code == 200, response.text
        assert response.json()["revoked"] == sessions - 1
    return costs


async def test_device_round_trips_constant(
    perf_app: Any, redis_only: str, round_trips: list[int]
) -> None:
    test_app = await perf_app()
    few = await device_costs(test_app, "alice", 3, round_trips)
    many = await device_costs(test_app, "bob", 30, round_trips)
    assert few == many
    assert all(count > 0 for count in few.values()), few


async def test_sign_out_parses_no_session_record(
    perf_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_app = await perf_app()
    user = await test_app.create_user()
    for _ in range(29):
        await test_app.auth.sessions.create_session(
            login_request(), user.id, token_version=user.token_version
        )
    parsed: list[str] = []

    def counting(model_class: type[Any], raws: Any) -> Any:
        parsed.extend(model_class.__name__ for _ in raws)
        return original(model_class, raws)

    async with test_app.client() as client:
        await login(client)
        original = stored_values.validate_json_values
        for module in (memory_backend, redis_index):
            monkeypatch.setattr(module, "validate_json_values", counting)
        response = await client.post("/logout-all", headers=csrf_headers(client))

    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == 30
    # Summaries stand in for the records. Token families, if any, are read as before.
    assert "EndedRecord" not in parsed
    assert "SessionData" not in parsed


async def test_user_agent_parsed_once(perf_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    test_app = await perf_app()
    await test_app.create_user()
    parsed: list[str] = []
    original = useragent.parse

    def counting(ua_string: str) -> Any:
        parsed.append(ua_string)
        return original(ua_string)

    useragent._parse_truncated.cache_clear()
    monkeypatch.setattr(useragent, "parse", counting)
    for agent in [CHROME] * 5 + [FIREFOX] * 3:
        async with test_app.client(headers={"User-Agent": agent}) as client:
            assert (await login(client)).status_code == 200
            assert (await client.get("/sessions")).status_code == 200
    useragent._parse_truncated.cache_clear()
    assert parsed == [CHROME, FIREFOX]
