"""``crudauth store purge-expired``: delete expired state the stores keep around.

Three kinds of leftovers exist. The database store keeps expired rows until a purge
(``DatabaseStore.purge_expired``). A Redis per-user index (a set of ids) keeps entries
whose record has already expired, until the next listing of that user prunes them.
And a session past its idle or absolute timeout whose store TTL is longer stays stored
until it is read.
"""

from __future__ import annotations

import argparse
from typing import Any

from crudauth.cli.common import CommandContext, logger
from crudauth.cli.output import Progress
from crudauth.storage.backends.database import DatabaseSessionStorage, DatabaseStore
from crudauth.storage.backends.redis import SCAN_BATCH_SIZE, RedisSessionStorage

__all__ = ["add_store_commands", "prune_redis_index"]


def _stores(ctx: CommandContext) -> list[Any]:
    """Return each session, CSRF and one-time-state store of the app once."""
    auth = ctx.auth
    found: list[Any] = []
    manager = auth.session_manager
    if manager is not None:
        found.extend([manager.storage, manager.csrf_storage])
    for entry in getattr(auth, "_auxiliary_stores", ()):
        found.append(entry[0])
    unique: dict[int, Any] = {}
    for store in found:
        if store is not None:
            unique.setdefault(id(store), store)
    return list(unique.values())


def _database_stores(ctx: CommandContext, stores: list[Any]) -> list[DatabaseStore]:
    candidates: list[Any] = [ctx.auth.runtime.database_store]
    candidates.extend(s.database for s in stores if isinstance(s, DatabaseSessionStorage))
    candidates.append(getattr(ctx.auth.rate_limiter, "database", None))
    unique: dict[int, DatabaseStore] = {}
    for candidate in candidates:
        if isinstance(candidate, DatabaseStore):
            unique.setdefault(id(candidate), candidate)
    return list(unique.values())


async def _index_keys(store: RedisSessionStorage[Any]) -> list[str]:
    pattern = f"{store.user_index_key('')}*"
    keys: list[str] = []
    async for key in store.client.scan_iter(match=pattern, count=SCAN_BATCH_SIZE):
        keys.append(key.decode() if isinstance(key, bytes) else key)
    return keys


async def prune_redis_index(store: RedisSessionStorage[Any], index_key: str) -> int:
    """Remove the entries of one per-user index whose record has expired.

    The records are watched while they are checked, so a record written between the
    check and the removal aborts the batch instead of losing its index entry. An
    aborted batch is left for the next purge.

    Args:
        store: The Redis store the index belongs to.
        index_key: The full Redis key of the index set.

    Returns:
        The number of entries removed.
    """
    from redis.exceptions import WatchError

    members = [
        member.decode() if isinstance(member, bytes) else member
        for member in await store.client.smembers(index_key)
    ]
    removed = 0
    for start in range(0, len(members), SCAN_BATCH_SIZE):
        batch = members[start : start + SCAN_BATCH_SIZE]
        record_keys = [store.get_key(member) for member in batch]
        async with store.client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(*record_keys)
                values = await pipe.mget(record_keys)
                gone = [
                    member for member, value in zip(batch, values, strict=True) if value is None
                ]
                if not gone:
                    await pipe.reset()
                    continue
                pipe.multi()
                pipe.srem(index_key, *gone)
                (count,) = await pipe.execute()
                removed += int(count)
            except WatchError:
                # A record changed meanwhile; its batch is left for the next purge.
                continue
    return removed


async def purge_expired(ctx: CommandContext) -> int:
    """Run ``crudauth store purge-expired`` over every store of the app.

    Expired database rows are deleted, stale entries of Redis per-user indexes are
    removed, and sessions past their idle or absolute timeout are ended.

    Args:
        ctx: The loaded app, the parsed arguments and the output.

    Returns:
        The exit status, 0.

    Raises:
        StoreUnavailableError: A store cannot be reached.
    """
    stores = _stores(ctx)
    databases = _database_stores(ctx, stores)
    redis_stores = [store for store in stores if isinstance(store, RedisSessionStorage)]
    index_keys = [(store, key) for store in redis_stores for key in await _index_keys(store)]

    progress: Progress = ctx.out.progress("purging", len(databases) + len(index_keys))
    database_rows = 0
    for database in databases:
        database_rows += await database.purge_expired(batch_size=ctx.args.batch_size)
        progress.advance()
    index_entries = 0
    for store, key in index_keys:
        index_entries += await prune_redis_index(store, key)
        progress.advance()
    if progress.stream is not None:
        progress.finish()

    timed_out = 0
    manager = ctx.auth.session_manager
    if manager is not None:
        timed_out = await manager.cleanup_expired_sessions(force=True)

    counts = {
        "database_rows": database_rows,
        "database_stores": len(databases),
        "redis_index_entries": index_entries,
        "redis_indexes_scanned": len(index_keys),
        "sessions_timed_out": timed_out,
    }
    logger.info("operator purged expired state %s", counts)
    lines = [
        f"database stores: {len(databases)}, expired rows deleted: {database_rows}",
        f"redis per-user indexes scanned: {len(index_keys)}, stale entries removed: "
        f"{index_entries}",
        f"sessions past their idle or absolute timeout ended: {timed_out}",
    ]
    if not databases and not redis_stores:
        lines.append("this app keeps its state in memory or custom stores; nothing to purge")
    ctx.out.result(counts, lines)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def add_store_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``store purge-expired`` to ``commands``.

    Args:
        commands: The subcommand group of the top-level parser.
        common: The options every command accepts.
    """
    store = commands.add_parser("store", help="maintain the session and counter stores")
    actions = store.add_subparsers(dest="action", metavar="ACTION", required=True)
    purge = actions.add_parser(
        "purge-expired",
        parents=[common],
        help="delete expired sessions, tokens and counters and prune Redis user indexes",
    )
    purge.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="rows deleted per database transaction (default: the store's purge_batch_size)",
    )
    purge.set_defaults(handler=purge_expired)
