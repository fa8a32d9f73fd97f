"""Names, defaults and limits shared by the storage backends."""

BACKEND_MEMORY = "memory"
BACKEND_REDIS = "redis"
BACKEND_DATABASE = "database"
# A store the application built itself and passed in.
BACKEND_CUSTOM = "custom"

DEFAULT_STORAGE_PREFIX = "session:"
# The Redis per-user index of prefix "session:" is "session_users:<user_id>".
USER_INDEX_SUFFIX = "_users"
# Its summaries of the same user's values are in the hash "session_summaries:<user_id>".
USER_SUMMARY_SUFFIX = "_summaries"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
# Short timeouts on clients crudauth builds, so a stopped server fails a request fast.
REDIS_CONNECT_TIMEOUT_SECONDS = 2.0
REDIS_SOCKET_TIMEOUT_SECONDS = 2.0
# Attempts of the optimistic WATCH transaction in the Redis store's modify.
REDIS_MODIFY_MAX_ATTEMPTS = 50

MEMORY_SWEEP_EVERY_WRITES = 256

DEFAULT_STORE_TABLE = "crudauth_store"
DEFAULT_COUNTER_TABLE = "crudauth_counters"
DATABASE_KEY_MAX_LENGTH = 255
# A longer key keeps this many leading characters, the separator and its SHA-256 hex.
DATABASE_KEY_KEPT_PREFIX_LENGTH = 190
DATABASE_KEY_DIGEST_SEPARATOR = "#"
DATABASE_PURGE_EVERY_WRITES = 1000
DATABASE_PURGE_BATCH_SIZE = 500
DATABASE_TRANSACTION_ATTEMPTS = 5
DATABASE_MODIFY_MAX_ATTEMPTS = 50
MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})
