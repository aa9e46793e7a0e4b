/**
 * Defaults that config.ts (reading the environment) and the backends share: a store or fan-out
 * created without a Config (tests, the bench) gets the same values as a server started bare.
 */

/** PostgreSQL schema of the server's tables (PG_SCHEMA). */
export const DEFAULT_PG_SCHEMA = 'tandem'

/** Connections in the PostgreSQL pool (PG_POOL_MAX). */
export const DEFAULT_PG_POOL_MAX = 10

/** Longest a PostgreSQL statement may run, ms (PG_STATEMENT_TIMEOUT_MS). */
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 10_000

/** A schema name: an unquoted lower-case identifier, so it never needs quoting in SQL or logs. */
export const PG_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Prefix of the Redis channels and connection names (REDIS_PREFIX). */
export const DEFAULT_REDIS_PREFIX = 'tandem'

/** Period of the fan-out heartbeat (FANOUT_HEARTBEAT_MS); a peer silent for 3 beats is gone. */
export const DEFAULT_FANOUT_HEARTBEAT_MS = 5_000
