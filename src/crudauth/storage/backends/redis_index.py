"""The per-user index of the Redis store: a set of ids and a hash of their summaries.

Each user's values are listed in a set under ``<base>_users:<user_id>``, and the index
summaries of those that have one in a hash under ``<base>_summaries:<user_id>``. Every
write of an owned value lists it there too, and both keys outlive every value they
list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crudauth.constants import USER_INDEX_TTL_BUFFER_SECONDS
from crudauth.storage._values import validate_json_values
from crudauth.storage.backends.redis_scripts import TAKE_USER_SUMMARIES, TAKE_USER_VALUES
from crudauth.storage.base import M
from crudauth.storage.summaries import summarize_json_values

__all__ = ["RedisUserIndex", "text"]


def text(value: bytes | str) -> str:
    """Return a reply of a client that may or may not decode replies, as text."""
    return value.decode() if isinstance(value, bytes) else value


def _summary_text(summary: bytes | str) -> str:
    # Bytes that are not UTF-8 get replacement characters, so a corrupted summary
    # reaches the caller's parser instead of raising a decoding error here.
    return summary.decode("utf-8", "replace") if isinstance(summary, bytes) else summary


class RedisUserIndex:
    """The per-user index methods of ``RedisSessionStorage``.

    A mixin without a constructor, because ``RedisSessionStorage.__init__`` sets every
    field.

    Attributes:
        client: The asyncio Redis client.
        prefix: Text put before every id to form the storage key.
    """

    client: Any
    prefix: str
    _index_prefix: str
    _summary_prefix: str
    _take_script: Any
    _take_summaries_script: Any

    def _guard(self) -> Any:
        """Return the context that translates client errors. The store defines it."""
        raise NotImplementedError

    def user_index_key(self, user_id: Any) -> str:
        """Return the key of the set that lists the ids of ``user_id``'s values."""
        return f"{self._index_prefix}{user_id}"

    def user_summary_key(self, user_id: Any) -> str:
        """Return the key of the hash of summaries of ``user_id``'s values, by id."""
        return f"{self._summary_prefix}{user_id}"

    def _queue_index(
        self, pipe: Any, user_id: Any, session_id: str, ttl: int, summary: str | None = None
    ) -> None:
        """Queue on ``pipe`` the commands that list ``session_id`` in its index.

        A ``summary`` is written next to the id. Without one, a summary written
        before is kept, so ``extend``, which changes only the TTL, leaves it as it is.
        """
        index_key = self.user_index_key(user_id)
        summary_key = self.user_summary_key(user_id)
        index_ttl = ttl + USER_INDEX_TTL_BUFFER_SECONDS
        pipe.sadd(index_key, session_id)
        if summary is not None:
            pipe.hset(summary_key, session_id, summary)
        # NX arms a new index and GT only lengthens an old one, so the index never
        # expires before a value it lists.
        for key in (index_key, summary_key):
            pipe.expire(key, index_ttl, nx=True)
            pipe.expire(key, index_ttl, gt=True)

    async def _index(
        self, user_id: Any, session_id: str, ttl: int, summary: str | None = None
    ) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            self._queue_index(pipe, user_id, session_id, ttl, summary)
            await pipe.execute()

    async def get_user_sessions(self, user_id: Any) -> list[str]:
        """Read the index with one SMEMBERS, which may list values that have expired."""
        with self._guard():
            members = await self.client.smembers(self.user_index_key(user_id))
        return [text(member) for member in members]

    async def take_user_values(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, M]]:
        """Take the user's values in one atomic script call: one round trip.

        ``initialize`` loads the script. Without it, the first call finds the script
        missing and sends it, which costs two more round trips.
        """
        if self._take_script is None:
            # EVALSHA, loading the script again when the server has forgotten it.
            self._take_script = self.client.register_script(TAKE_USER_VALUES)
        with self._guard():
            flat = await self._take_script(
                keys=[self.user_index_key(user_id), self.user_summary_key(user_id)],
                args=[self.prefix, str(user_id), *keep],
            )
        ids = [text(session_id) for session_id in flat[0::2]]
        return list(zip(ids, validate_json_values(model_class, flat[1::2]), strict=True))

    async def take_user_summaries(
        self, user_id: Any, model_class: type[M], keep: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Take the user's values in one atomic script call: one round trip.

        Only values listed without a summary are read and returned whole, and
        summarized as ``summarize_json_values`` does.

        ``initialize`` loads the script, as it does the script of ``take_user_values``.
        """
        if self._take_summaries_script is None:
            self._take_summaries_script = self.client.register_script(TAKE_USER_SUMMARIES)
        with self._guard():
            summarized, unsummarized = await self._take_summaries_script(
                keys=[self.user_index_key(user_id), self.user_summary_key(user_id)],
                args=[self.prefix, str(user_id), *keep],
            )
        taken = [
            (text(session_id), _summary_text(summary))
            for session_id, summary in zip(summarized[0::2], summarized[1::2], strict=True)
        ]
        read = summarize_json_values(model_class, unsummarized[1::2])
        taken.extend(
            (text(session_id), summary)
            for session_id, summary in zip(unsummarized[0::2], read, strict=True)
        )
        return taken

    async def remove_from_user_index(self, user_id: Any, session_id: str) -> None:
        """Unlist the id and drop its summary in one MULTI (SREM and HDEL)."""
        with self._guard():
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.srem(self.user_index_key(user_id), session_id)
                pipe.hdel(self.user_summary_key(user_id), session_id)
                await pipe.execute()
