"""Token family rotation against the in-memory store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from crudauth.storage import MemorySessionStorage
from crudauth.transports.bearer.families import TokenFamilies, TokenFamily

SIGN_IN = datetime(2030, 3, 17, 17, 0, tzinfo=timezone.utc)
TTL_SECONDS = 3600


class ClockedFamilies(TokenFamilies):
    """Token families whose clock a test sets."""

    now = SIGN_IN

    def _now(self) -> datetime:
        return self.now


def make_families() -> tuple[ClockedFamilies, MemorySessionStorage[Any]]:
    store: MemorySessionStorage[Any] = MemorySessionStorage(prefix="family:")
    families = ClockedFamilies(
        store, key_secret="s" * 32, ttl_seconds=TTL_SECONDS, grace_seconds=10
    )
    return families, store


async def test_rotation_moves_expiry() -> None:
    families, _store = make_families()
    family_id, rotation_id, _record = await families.start(7, scopes=[], token_version=0)
    families.now = SIGN_IN + timedelta(minutes=30)

    rotation = await families.rotate(family_id, rotation_id)

    assert rotation.status == "rotated"
    assert rotation.family is not None
    assert rotation.family.expires_at == families.now + timedelta(seconds=TTL_SECONDS)


async def test_late_refresh_deletes_expired_family() -> None:
    families, store = make_families()
    family_id, rotation_id, _record = await families.start(7, scopes=[], token_version=0)
    families.now = SIGN_IN + timedelta(seconds=TTL_SECONDS + 1)

    rotation = await families.rotate(family_id, rotation_id)

    assert rotation.status == "missing"
    assert await store.get(families.family_key(family_id), TokenFamily) is None
    assert await store.get_user_sessions(7) == []


async def test_surrogate_ids_find_no_family() -> None:
    families, _store = make_families()
    family_id, _rotation_id, _record = await families.start(7, scopes=[], token_version=0)

    # A lone surrogate has no strict UTF-8 encoding, but each id still gets its own key.
    assert families.family_key("\ud800") != families.family_key("\udc80")
    assert (await families.rotate("\ud800", "\udfff")).status == "missing"
    assert (await families.rotate(family_id, "\ud800")).status == "reused"
