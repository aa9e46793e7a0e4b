import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from '../log.js'
import { MAX_REVOCATION_NAME, type Revocation } from './revocations.js'

/**
 * The deny-list shared by servers that act as one (same REDIS_URL and REDIS_PREFIX):
 *
 * - `<prefix>:revocations`, a sorted set: member `jti:<jti>` or `sub:<sub>`, score = the entry's
 *   `exp` (ms). Expired members are removed on every write, and the key itself expires with its
 *   last member, so nothing outlives the tokens it denies.
 * - `<prefix>:revocations:before`, a hash: `sub:<sub>` → `before` (ms) of sub-wide entries.
 * - `<prefix>:revoked`, a pub/sub channel: each new entry, so every server closes matching sockets
 *   at once.
 *
 * A write is one Lua script (prune, cap check, merge, publish), so MAX_REVOCATIONS holds for the
 * deployment, not per server. Pub/sub is at-most-once: after every (re)subscription a server
 * re-reads the whole set, so nothing published while it was away is missed. Each server also
 * keeps the entries in memory (DenyList): while Redis is unreachable it enforces what it knows.
 */
export interface SharedRevocations {
  /** Stores `r` for every server and announces it. Rejects when Redis cannot be reached. */
  publish: (r: Revocation, capacity: number) => Promise<'ok' | 'full'>
  /** Resolves once the set has been read from Redis at least once (tests). */
  loaded: () => Promise<void>
  close: () => Promise<void>
}

const WRITE = `
local zkey, hkey = KEYS[1], KEYS[2]
local now, cap, member, exp, before = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local gone = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
for _, m in ipairs(gone) do redis.call('HDEL', hkey, m) end
redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
local old = redis.call('ZSCORE', zkey, member)
if not old and redis.call('ZCARD', zkey) >= cap then return 0 end
if not old or tonumber(old) < exp then redis.call('ZADD', zkey, exp, member) end
if before ~= '' then
  local b = redis.call('HGET', hkey, member)
  if not b or tonumber(b) < tonumber(before) then redis.call('HSET', hkey, member, before) end
end
local last = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
local until_ms = math.floor(tonumber(last[2])) + 1
redis.call('PEXPIREAT', zkey, until_ms)
if redis.call('HLEN', hkey) > 0 then redis.call('PEXPIREAT', hkey, until_ms) end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
`

const memberOf = (r: Revocation) => (r.kind === 'jti' ? `jti:${r.jti}` : `sub:${r.sub}`)

const validName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_REVOCATION_NAME
const validTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** A revocation as another server sent it: checked like any input from outside this process. */
function decodeRevocation(raw: unknown): Revocation | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (!validTime(r.exp)) return undefined
  if (r.kind === 'jti' && validName(r.jti)) return { kind: 'jti', jti: r.jti, exp: r.exp }
  if (r.kind === 'sub' && validName(r.sub) && validTime(r.before)) return { kind: 'sub', sub: r.sub, before: r.before, exp: r.exp }
  return undefined
}

function fromStore(member: string, exp: number, befores: Record<string, string>): Revocation | undefined {
  if (member.startsWith('jti:')) return decodeRevocation({ kind: 'jti', jti: member.slice(4), exp })
  if (member.startsWith('sub:')) return decodeRevocation({ kind: 'sub', sub: member.slice(4), before: Number(befores[member]), exp })
  return undefined
}

export function createRedisRevocations(opts: {
  url: string
  prefix: string
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>
  /** entries learned from Redis (published by any server, this one included, or read on load) */
  onRevocations: (list: Revocation[]) => void
  now?: () => number
}): SharedRevocations {
  const now = opts.now ?? Date.now
  const zkey = `${opts.prefix}:revocations`
  const hkey = `${zkey}:before`
  const channel = `${opts.prefix}:revoked`
  const id = randomUUID()
  const common = {
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    enableReadyCheck: true,
  }
  const sub = new Redis(opts.url, { ...common, connectionName: `${opts.prefix}:${id}:revocations-sub`, autoResubscribe: false, maxRetriesPerRequest: null })
  // No offline queue: a revocation either reaches Redis now or the caller hears it did not.
  const cmd = new Redis(opts.url, { ...common, connectionName: `${opts.prefix}:${id}:revocations`, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  let subscribed = false
  let closed = false
  let loadedOnce = false
  const loadWaiters: (() => void)[] = []

  async function loadAll(): Promise<void> {
    if (!subscribed || cmd.status !== 'ready' || closed) return
    try {
      const replies = await cmd.multi().zrangebyscore(zkey, now(), '+inf', 'WITHSCORES').hgetall(hkey).exec()
      const [zr, hr] = replies ?? []
      if (!zr || !hr) throw new Error('transaction discarded')
      if (zr[0]) throw zr[0]
      if (hr[0]) throw hr[0]
      const flat = zr[1] as string[]
      const befores = hr[1] as Record<string, string>
      const list: Revocation[] = []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const r = fromStore(flat[i]!, Number(flat[i + 1]), befores)
        if (r) list.push(r)
      }
      if (list.length > 0) opts.onRevocations(list)
      opts.log.info({ revocations: list.length }, 'revocations: deny-list read from Redis')
      loadedOnce = true
      for (const w of loadWaiters.splice(0)) w()
    } catch (err) {
      // The link dropped again: the next 'ready' reads it again.
      opts.log.warn({ err: (err as Error).message }, 'revocations: reading the deny-list from Redis failed; retried on reconnect')
    }
  }

  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => {
        subscribed = true
        void loadAll()
      },
      (err: Error) => opts.log.debug({ err: err.message }, 'revocations: subscribe interrupted'),
    )
  })
  sub.on('close', () => (subscribed = false))
  cmd.on('ready', () => void loadAll())
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return
    let r: Revocation | undefined
    try {
      r = decodeRevocation(JSON.parse(message))
    } catch {
      r = undefined
    }
    if (!r) {
      opts.log.warn('revocations: ignored a malformed message on the Redis channel')
      return
    }
    opts.onRevocations([r])
  })
  const onError = (link: string) => (err: Error) => opts.log.debug({ link, err: err.message }, 'revocations: redis error')
  sub.on('error', onError('subscriber'))
  cmd.on('error', onError('command'))

  return {
    async publish(r, capacity) {
      const before = r.kind === 'sub' ? String(r.before) : ''
      const ok = await cmd.eval(WRITE, 2, zkey, hkey, now(), capacity, memberOf(r), r.exp, before, channel, JSON.stringify(r))
      return ok === 1 ? 'ok' : 'full'
    },
    loaded() {
      return loadedOnce ? Promise.resolve() : new Promise((resolve) => loadWaiters.push(resolve))
    },
    async close() {
      if (closed) return
      closed = true
      sub.disconnect()
      await cmd.quit().catch(() => 'OK')
      cmd.disconnect()
    },
  }
}
