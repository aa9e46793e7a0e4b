import type pg from 'pg'

/**
 * The PostgreSQL store's connections (postgres.ts): every transaction goes through `transaction`,
 * and no dead connection kills the process or is handed to the next caller.
 */

/** Pooled clients whose connection died, with the error it died of (set by guardClients). */
const lostConnections = new WeakMap<pg.ClientBase, Error>()

/**
 * node-postgres emits 'error' on a client whose connection dies (PostgreSQL terminating the
 * session, a restart, a network cut), and an 'error' event nobody listens to kills the process.
 * The pool listens only while a client is idle. Once it is handed out there is no listener:
 * across a transaction's queries (the error comes between two of them, or when the socket
 * closes after the failed query has already rejected), and even in the moment between the pool
 * handing out a new connection and the caller's code running, because the same network read that
 * completes the connection can carry the session's termination. So every client gets a listener
 * of ours the moment the pool creates it, for its whole life; it records the death, which
 * transaction() reads to destroy the client instead of returning it to the pool.
 */
export function guardClients(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      if (!lostConnections.has(client)) lostConnections.set(client, err)
    })
  })
}

/**
 * BEGIN, fn, COMMIT on one client checked out of the pool: the ONLY place that checks a client out
 * (one-statement reads use pool.query, which releases its client itself). A client whose
 * connection died, or that could not roll back, is released with the error: destroyed, never
 * handed to the next caller. The failed call rejects (its caller, the committer, closes the
 * affected connections with 1011 and they resync); the next call checks out a fresh connection,
 * so the store recovers by itself.
 */
export async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    // A dead connection has nothing to roll back (the server ended the transaction with it).
    if (!lostConnections.has(client)) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e
      })
    }
    throw err
  } finally {
    client.release(lostConnections.get(client) ?? broken)
  }
}
