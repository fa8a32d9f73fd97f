"""Recovery codes and secrets at rest: hashed, single-use under concurrency, hidden."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from crudauth.exceptions import BadRequestException
from crudauth.mfa.recovery import hash_recovery_code
from mfa_support import FrozenClock, code_at, enrol


async def test_recovery_code_single_use_under_concurrency(
    make_mfa_app: Any, clock: FrozenClock
) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    _secret, codes = await enrol(test_app, user.id, clock)
    mfa = test_app.auth.mfa

    async def use(code: str) -> bool:
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            return bool(await mfa.use_recovery_code(db, row, code))

    results = await asyncio.gather(*(use(codes[0]) for _ in range(6)))
    assert results.count(True) == 1
    # A different code still works after the race: the list was not corrupted.
    assert await use(codes[1]) is True
    stored = await test_app.get_user(user.id)
    assert len(json.loads(stored.mfa_recovery_codes)) == 8


async def test_recovery_codes_stored_as_hashes(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    secret, codes = await enrol(test_app, user.id, clock)
    stored = await test_app.get_user(user.id)
    hashes = json.loads(stored.mfa_recovery_codes)
    assert hashes == [hash_recovery_code(code) for code in codes]
    for code in codes:
        assert code not in stored.mfa_recovery_codes
    assert secret not in stored.totp_secret_encrypted
    assert test_app.auth.mfa.cipher.decrypt(stored.totp_secret_encrypted) == secret
    hidden = test_app.auth.repo.to_dict(stored)
    assert "totp_secret_encrypted" not in hidden
    assert "mfa_recovery_codes" not in hidden


async def test_recovery_code_needs_enrolment(make_mfa_app: Any) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    code = "abcd-efgh-jkmn-pqrs"
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.get_by_id(db, user.id)
        row.mfa_recovery_codes = json.dumps([hash_recovery_code(code)])
        await db.commit()
        assert await test_app.auth.mfa.use_recovery_code(db, row, code) is False


async def test_malformed_stored_codes_match_nothing(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    _secret, codes = await enrol(test_app, user.id, clock)
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.get_by_id(db, user.id)
        await test_app.auth.repo.update(db, row, {"mfa_recovery_codes": "{not json"})
        assert await test_app.auth.mfa.verify_code(db, row, codes[0]) is False
        assert test_app.auth.mfa.recovery_codes_remaining(row) == 0


async def test_password_reset_voids_pending_setup(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    mfa = test_app.auth.mfa
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.get_by_id(db, user.id)
        secret = (await mfa.begin_setup(db, row))["secret"]
        row = await test_app.auth.repo.increment_token_version(db, row)
        with pytest.raises(BadRequestException) as raised:
            await mfa.confirm_setup(db, row, code_at(secret, clock()))
    assert raised.value.detail == "No authenticator setup is pending."


async def test_password_change_keeps_enabled_mfa(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    secret, _codes = await enrol(test_app, user.id, clock)
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.get_by_id(db, user.id)
        row = await test_app.auth.repo.increment_token_version(db, row)
        assert test_app.auth.mfa.is_enrolled(row)
        assert await test_app.auth.mfa.verify_totp(db, row, code_at(secret, clock())) is True


async def test_concurrent_confirmations_enable_once(make_mfa_app: Any, clock: FrozenClock) -> None:
    test_app = await make_mfa_app()
    user = await test_app.create_user()
    mfa = test_app.auth.mfa
    async with test_app.sessionmaker() as db:
        row = await test_app.auth.repo.get_by_id(db, user.id)
        secret = (await mfa.begin_setup(db, row))["secret"]

    async def confirm(offset: int) -> Any:
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            try:
                return await mfa.confirm_setup(db, row, code_at(secret, clock() + offset))
            except Exception as exc:
                return exc

    results = await asyncio.gather(confirm(0), confirm(30))
    winners = [r for r in results if isinstance(r, list)]
    assert len(winners) == 1
    stored = await test_app.get_user(user.id)
    assert json.loads(stored.mfa_recovery_codes) == [hash_recovery_code(c) for c in winners[0]]
