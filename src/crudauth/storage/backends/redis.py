"""Redis storage with a per-user index, for deployments with several workers.

The ``redis`` package is imported only when a client is built or an error is
translated (``redis_client``), so importing this module works without it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from crudauth.constants import (
    DEFAULT_SESSION_TTL_SECONDS,
    USER_INDEX_TTL_BUFFER_SECONDS,
)
from crudauth.storage._values import validate_json_values
from crudauth.storage.backends.redis_client import (
    redis_client_from_url,
    translate_redis_errors,
)
from crudauth.storage.backends.redis_index import RedisUserIndex, text
from crudauth.storage.backends.redis_scripts import (
    CLAIM_OWNED_VALUE,
    TAKE_USER_SUMMARIES,
    TAKE_USER_VALUES,
)
from crudauth.storage.base import AbstractSessionStorage, M, T
from crudauth.storage.constants import (
    DEFAULT_STORAGE_PREFIX,
    REDIS_MODIFY_MAX_ATTEMPTS,
    USER_INDEX_SUFFIX,
    USER_SUMMARY_SUFFIX,
)
from crudauth.storage.lists import check_cap
from crudauth.storage.summaries import index_summary_of

__all__ = ["RedisSessionStorage", "redis_client_from_url"]

logger = logging.getLogger("crudauth.storage")

STORE_NAME = "redis session store"
SCAN_BATCH_SIZE = 500


class RedisSessionStorage(RedisUserIndex, AbstractSessionStorage[T]):
    """Store values as JSON strings with a Redis TTL, plus a set of ids per user.

    A value with a ``user_id`` is listed in ``<prefix without ":">_users:<user_id>``,
    whose TTL is the value's TTL plus one hour and is only ever extended. Both
    ``decode_responses`` settings of the client work. Needs Redis 7.0 or later
    (``EXPIRE ... NX``), which ``initialize`` checks. Every Redis error becomes
    ``StoreUnavailableError``.

    Args:
        prefix: Text put before every id to form the storage key.
        expiration: Default TTL of a value in seconds.
        redis_url: URL for a client the store builds with ``redis_client_from_url``,
            owns and closes in ``close``. Ignored when ``client`` is given.
        client: An asyncio Redis client that the caller owns and ``close`` leaves open.
        **_: Ignored, so the backends can be built with the same keyword arguments.

    Raises:
        ImportError: No ``client`` is given and the ``redis`` package is not
            installed.

    Example:
        ```python
        from crudauth.storage import RedisSessionStorage

        store = RedisSessionStorage(prefix="myapp:session:", redis_url="redis://localhost")
        await store.initialize()
        ```
    """

    def __init__(
        self,
        prefix: str = DEFAULT_STORAGE_PREFIX,
        expiration: int = DEFAULT_SESSION_TTL_SECONDS,
        redis_url: str | None = None,
        client: Any = None,
        **_: Any,
    ) -> None:
        super().__init__(prefix=prefix, expiration=expiration)
        # A borrowed client belongs to the caller, who closes it.
        self._owns_client = client is None
        self.client: Any = client if client is not None else redis_client_from_url(redis_url)
        base = prefix[:-1] if prefix.endswith(":") else prefix
        self._index_prefix = f"{base}{USER_INDEX_SUFFIX}:"
        self._summary_prefix = f"{base}{USER_SUMMARY_SUFFIX}:"
        self._take_script: Any = None
        self._take_summaries_script: Any = None
        self._claim_script: Any = None

    def _guard(self) -> Any:
        return translate_redis_errors(STORE_NAME, logger, self.prefix)

    async def create(
        self, data: T, session_id: str | None = None, expiration: int | None = None
    ) -> str:
        """Write the value and its index entry in one MULTI: one round trip."""
        session_id = session_id or self.generate_session_id()
        ttl = self.expiration if expiration is None else expiration
        user_id = getattr(data, "user_id", None)
        with self._guard():
            # One MULTI, index before record: a live value is never missing from its
            # owner's list, and a failed write leaves neither behind.
            async with self.client.pipeline(transaction=True) as pipe:
                if user_id is not None:
                    self._queue_index(pipe, user_id, session_id, ttl, index_summary_of(data))
                pipe.set(self.get_key(session_id), data.model_dump_json(), ex=ttl)
                await pipe.execute()
        return session_id

    async def get(self, session_id: str, model_class: type[M]) -> M | None:
        """Read the value with one GET."""
        with self._guard():
            raw = await self.client.get(self.get_key(session_id))
        if raw is None:
            return None
        return model_class.model_validate_json(raw)

    async def get_many(self, session_ids: Sequence[str], model_class: type[M]) -> list[M | None]:
        """Read every value with one MGET, and none for an empty list."""
        if not session_ids:
            return []
        with self._guard():
            raws = await self.client.mget([self.get_key(session_id) for session_id in session_ids])
        values = iter(validate_json_values(model_class, [raw for raw in raws if raw is not None]))
        return [None if raw is None else next(values) for raw in raws]

    async def update(
        self,
        session_id: str,
        data: T,
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> bool:
        """Overwrite with ``SET ... XX``, then index the owner in a second round trip.

        The second round trip is one MULTI that lists the id and lengthens the index
        TTL. A value without a ``user_id`` skips it. The two steps are not one
        transaction.
        """
        ttl = self.expiration if expiration is None else expiration
        key = self.get_key(session_id)
        payload = data.model_dump_json()
        with self._guard():
            # XX: a value deleted concurrently stays deleted instead of coming back.
            if reset_expiration:
                written = await self.client.set(key, payload, ex=ttl, xx=True)
            else:
                written = await self.client.set(key, payload, keepttl=True, xx=True)
            if not written:
                return False
            user_id = getattr(data, "user_id", None)
            if user_id is not None:
                await self._index(user_id, session_id, ttl, index_summary_of(data))
        return True

    async def modify(
        self,
        session_id: str,
        model_class: type[M],
        change: Callable[[M], None],
        reset_expiration: bool = True,
        expiration: int | None = None,
    ) -> M | None:
        """Change the value in an optimistic WATCH transaction.

        Each attempt costs three round trips: WATCH, GET and one MULTI that writes the
        value and its index entry. A concurrent write to the key aborts the MULTI and
        the change runs again, up to 50 attempts before ``RuntimeError``.
        """
        from redis.exceptions import WatchError

        key = self.get_key(session_id)
        ttl = self.expiration if expiration is None else expiration
        with self._guard():
            async with self.client.pipeline(transaction=True) as pipe:
                for _attempt in range(REDIS_MODIFY_MAX_ATTEMPTS):
                    try:
                        # WATCH aborts the write when another client changed the key.
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        if raw is None:
                            await pipe.reset()
                            return None
                        value = model_class.model_validate_json(raw)
                        change(value)
                        pipe.multi()
                        if reset_expiration:
                            pipe.set(key, value.model_dump_json(), ex=ttl, xx=True)
                        else:
                            pipe.set(key, value.model_dump_json(), keepttl=True, xx=True)
                        user_id = getattr(value, "user_id", None)
                        if user_id is not None:
                            # In the same MULTI: a value deleted before EXEC aborts the
                            # whole write, so a revoked session is never re-listed.
                            self._queue_index(
                                pipe, user_id, session_id, ttl, index_summary_of(value)
                            )
                        written = (await pipe.execute())[0]
                        break
                    except WatchError:
                        continue
                else:
                    raise RuntimeError(
                        f"modify gave up after {REDIS_MODIFY_MAX_ATTEMPTS} concurrent "
                        "changes to one key"
                    )
        return value if written else None

    async def delete(self, session_id: str, user_id: Any = None) -> bool:
        """Delete one value as ``delete_many`` does."""
        return await self.delete_many([session_id], user_id=user_id) > 0

    async def delete_many(self, session_ids: Sequence[str], user_id: Any = None) -> int:
        """Delete the values and their index entries.

        With ``user_id`` this is one MULTI (DEL and SREM): one round trip, which also
        drops index entries whose values had already expired. Without it, one MULTI
        reads and deletes the values, and a second round trip unlists them from the
        owners found in them. Values without an owner, such as CSRF tokens, skip the
        second trip.
        """
        if not session_ids:
            return 0
        keys = [self.get_key(session_id) for session_id in session_ids]
        with self._guard():
            if user_id is not None:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.delete(*keys)
                    pipe.srem(self.user_index_key(user_id), *session_ids)
                    pipe.hdel(self.user_summary_key(user_id), *session_ids)
                    removed, _unlisted, _unsummarized = await pipe.execute()
                return int(removed)

            async with self.client.pipeline(transaction=True) as pipe:
                pipe.mget(keys)
                pipe.delete(*keys)
                raws, removed = await pipe.execute()
            owners: dict[str, list[str]] = {}
            for session_id, raw in zip(session_ids, raws, strict=True):
                owner = None if raw is None else _owner_in(raw)
                if owner is not None:
                    owners.setdefault(str(owner), []).append(session_id)
            if owners:
                async with self.client.pipeline(transaction=False) as pipe:
                    for owner, ids in owners.items():
                        pipe.srem(self.user_index_key(owner), *ids)
                        pipe.hdel(self.user_summary_key(owner), *ids)
                    await pipe.execute()
        return int(removed)

    async def extend(self, session_id: str, expiration: int | None = None) -> bool:
        """Restart the TTL in one MULTI (EXPIRE and GET).

        A value with a ``user_id`` costs one more MULTI that keeps the owner's index
        alive at least as long.
        """
        ttl = self.expiration if expiration is None else expiration
        key = self.get_key(session_id)
        with self._guard():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.expire(key, ttl)
                pipe.get(key)
                extended, raw = await pipe.execute()
            if not extended:
                return False
            # The owner's index must outlive the longer TTL too.
            owner = None if raw is None else _owner_in(raw)
            if owner is not None:
                await self._index(owner, session_id, ttl)
        return True

    async def exists(self, session_id: str) -> bool:
        """Check the key with one EXISTS."""
        with self._guard():
            return bool(await self.client.exists(self.get_key(session_id)))

    async def set_if_absent(self, session_id: str, data: T, expiration: int | None = None) -> bool:
        """Claim the key with one atomic ``SET ... NX``, and list an owned value.

        A value with a ``user_id`` is stored and indexed by one script call, which
        ``initialize`` loads. Other values take one plain ``SET ... NX``.
        """
        ttl = self.expiration if expiration is None else expiration
        key = self.get_key(session_id)
        raw = data.model_dump_json()
        user_id = getattr(data, "user_id", None)
        with self._guard():
            if user_id is None:
                # SET NX is one atomic command, so exactly one concurrent caller wins.
                return bool(await self.client.set(key, raw, ex=ttl, nx=True))
            if self._claim_script is None:
                self._claim_script = self.client.register_script(CLAIM_OWNED_VALUE)
            # The claim and the index entry run as one script, so exactly one caller
            # wins and the winner's value is never left out of its owner's index.
            claimed = await self._claim_script(
                keys=[key, self.user_index_key(user_id), self.user_summary_key(user_id)],
                args=[
                    raw,
                    ttl,
                    session_id,
                    ttl + USER_INDEX_TTL_BUFFER_SECONDS,
                    index_summary_of(data) or "",
                ],
            )
        return bool(claimed)

    async def get_and_delete(self, session_id: str, model_class: type[M]) -> M | None:
        """Read and delete in one MULTI (GET and DEL): one round trip.

        The id stays in its owner's index until the index is pruned or expires.
        """
        key = self.get_key(session_id)
        with self._guard():
            # GET and DEL in one MULTI: only one concurrent caller receives the value,
            # so a one-time token cannot be consumed twice.
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.get(key)
                pipe.delete(key)
                raw, _removed = await pipe.execute()
        if raw is None:
            return None
        return model_class.model_validate_json(raw)

    async def push_capped(
        self,
        list_id: str,
        item: BaseModel,
        *,
        cap: int,
        expiration: int | None = None,
    ) -> None:
        """LPUSH, LTRIM and EXPIRE in one MULTI: one round trip, whatever the length."""
        check_cap(cap)
        key = self.get_key(list_id)
        ttl = self.expiration if expiration is None else expiration
        with self._guard():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.lpush(key, item.model_dump_json())
                pipe.ltrim(key, 0, cap - 1)
                pipe.expire(key, ttl)
                await pipe.execute()

    async def read_capped(self, list_id: str, model_class: type[M]) -> list[M]:
        """Read the whole list with one LRANGE."""
        with self._guard():
            raws = await self.client.lrange(self.get_key(list_id), 0, -1)
        return validate_json_values(model_class, raws)

    async def scan_keys(self, match: str | None = None) -> list[str]:
        """Collect the keys with SCAN, one round trip per batch of about 500 keys."""
        pattern = f"{self.prefix}*" if match is None else match
        with self._guard():
            return [
                text(key)
                async for key in self.client.scan_iter(match=pattern, count=SCAN_BATCH_SIZE)
            ]

    async def delete_pattern(self, pattern: str) -> int:
        """Delete the keys found by SCAN with one DEL per 500 keys, not atomically.

        Keys written while the scan runs may survive. Index entries are left behind.
        """
        removed = 0
        batch: list[bytes | str] = []
        with self._guard():
            async for key in self.client.scan_iter(match=f"{pattern}*", count=SCAN_BATCH_SIZE):
                batch.append(key)
                if len(batch) >= SCAN_BATCH_SIZE:
                    removed += await self.client.delete(*batch)
                    batch = []
            if batch:
                removed += await self.client.delete(*batch)
        return removed

    async def initialize(self) -> None:
        """Check the server and load the store's scripts.

        Sends PING, an ``EXPIRE ... NX`` on a probe key and ``SCRIPT LOAD``.

        Raises:
            RuntimeError: The server rejects ``EXPIRE ... NX``, so it is older than
                Redis 7.0 (or Valkey 7.2).
            StoreUnavailableError: The server did not respond.
        """
        from redis.exceptions import ResponseError

        with self._guard():
            await self.client.ping()
            try:
                await self.client.expire(f"{self.prefix}__crudauth_version_probe__", 1, nx=True)
            except ResponseError as exc:
                raise RuntimeError(
                    "crudauth needs Redis 7.0+ (or Valkey 7.2+): the server rejected EXPIRE ... NX"
                ) from exc
            # Loaded now, so the first call of each costs one round trip like the rest.
            for script in (TAKE_USER_VALUES, TAKE_USER_SUMMARIES, CLAIM_OWNED_VALUE):
                await self.client.script_load(script)

    async def close(self) -> None:
        """Close the client when the store built it, and leave a borrowed one open."""
        if self._owns_client:
            await self.client.aclose()


def _owner_in(raw: bytes | str) -> Any:
    """Return the ``user_id`` field of a stored JSON object, or ``None``."""
    # Values without the key (CSRF tokens, one-time state) skip the parse, which
    # dominates deleting hundreds of them at once.
    marker = b'"user_id"' if isinstance(raw, bytes) else '"user_id"'
    if marker not in raw:  # type: ignore[operator]
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    return document.get("user_id") if isinstance(document, dict) else None
