import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { CloseCode } from '@tandem/sync'
import { SyncProvider } from '@tandem/sync/provider'
import { closeOf, upgradeStatus } from '../helpers/clients.js'
import { SECRET, recordingSocket, token, withToken } from '../helpers/auth.js'
import { spawnServer, tempDir, removeDir, type ChildServer } from '../helpers/server.js'
import { createCluster, requirePostgres, requireRedis } from '../helpers/services.js'
import { until } from '../helpers/wait.js'

/**
 * A server's wall clock jumping (an NTP step, `date -s`), forward and back, while it serves:
 * clock-shift.mjs is preloaded into the server process and moves its Date on a signal; its
 * monotonic clock (timers, performance.now) keeps running, as in the real event.
 *
 * - Token expiry follows the wall clock, since `exp` is wall time and a new handshake is judged
 *   by it: after a jump forward past a live connection's `exp`, that connection is closed with
 *   4001 within a second (not when its timer set before the jump runs out); after a jump back it
 *   stays open until the server's clock reaches `exp`, then closes within a second.
 * - Which other servers are alive (the fan-out's peer watch) is judged on the monotonic clock: a
 *   jump forward does not declare every peer silent (a resync of every room and their clients'
 *   presence dropped), and after a jump back a server that died is still noticed in time.
 */
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

const PRELOAD = fileURLToPath(new URL('./clock-shift.mjs', import.meta.url))
const HOUR = 3_600_000

/** Env that makes a server's clock movable; `shift(ms)` moves it (relative to real time) and waits until it did. */
function movableClock() {
  const dir = tempDir('tandem-clock-')
  cleanups.push(() => removeDir(dir))
  const file = join(dir, 'offset')
  writeFileSync(file, '0')
  return {
    env: { NODE_OPTIONS: `--import ${PRELOAD}`, CLOCK_SHIFT_FILE: file },
    async shift(server: ChildServer, ms: number) {
      writeFileSync(file, String(ms))
      const seen = server.stderr().split('\n').filter((l) => l === `clock-shift: ${ms}`).length
      server.child.kill('SIGUSR2')
      await until(() => server.stderr().split('\n').filter((l) => l === `clock-shift: ${ms}`).length > seen, `the server's clock moved by ${ms} ms`)
    },
  }
}

/** Lets `ms` of real time pass (the duration of a state under test, not a wait for an event). */
const elapse = (ms: number) => {
  const end = performance.now() + ms
  return until(() => performance.now() >= end, `${ms} ms to pass`, ms + 5_000)
}

const expIn = (ms: number) => (Date.now() + ms) / 1000

async function metricValue(server: ChildServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

describe('chaos: the clock jumps', () => {
  it('forward past a live token\'s exp: that connection is closed with 4001 within a second, the token refused; longer-lived ones stay', async () => {
    const clock = movableClock()
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    const s = await spawnServer({ AUTH_SECRET: SECRET, DATA_DIR: dataDir, ...clock.env })
    cleanups.push(() => s.child.kill('SIGKILL'))
    const tenMinutes = await token({ exp: expIn(10 * 60_000) })
    const short = await recordingSocket(withToken(s.wsUrl, 'doc', tenMinutes))
    const long = await recordingSocket(withToken(s.wsUrl, 'doc', await token({ exp: expIn(3 * HOUR) })))
    cleanups.push(() => short.ws.terminate(), () => long.ws.terminate())

    const closing = closeOf(short.ws, 5_000)
    const jumpedAt = performance.now()
    await clock.shift(s, HOUR)
    expect((await closing).code).toBe(CloseCode.TokenExpired)
    console.log(`[chaos] clock +1 h: the expired session closed ${(performance.now() - jumpedAt).toFixed(0)} ms after the jump`)
    expect(long.ws.readyState).toBe(WebSocket.OPEN)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', tenMinutes))).toBe(401)
  }, 90_000)

  it('back before a live token\'s exp: the connection stays while the server\'s clock is before exp, and closes with 4001 once it passes', async () => {
    const clock = movableClock()
    const dataDir = tempDir()
    cleanups.push(() => removeDir(dataDir))
    const s = await spawnServer({ AUTH_SECRET: SECRET, DATA_DIR: dataDir, ...clock.env })
    cleanups.push(() => s.child.kill('SIGKILL'))
    const exp = expIn(1_500)
    const conn = await recordingSocket(withToken(s.wsUrl, 'doc', await token({ exp })))
    cleanups.push(() => conn.ws.terminate())

    await clock.shift(s, -HOUR)
    // Past exp in real time, an hour before it on the server's clock: not expired (a handshake agrees).
    await until(() => Date.now() > exp * 1000 + 1_000, 'exp passed in real time')
    expect(conn.ws.readyState).toBe(WebSocket.OPEN)
    expect(await upgradeStatus(withToken(s.wsUrl, 'doc', await token({ exp })))).toBe(101)

    const closing = closeOf(conn.ws, 5_000)
    await clock.shift(s, 0)
    expect((await closing).code).toBe(CloseCode.TokenExpired)
  }, 90_000)

  it('the fan-out judges peers on the monotonic clock: a jump forward drops no peer (nor its clients\' presence); after a jump back a dead peer is still noticed', async () => {
    const clock = movableClock()
    const cluster = await createCluster({ pg: await requirePostgres(), redis: await requireRedis() }, cleanups)
    const a = await cluster.start(clock.env)
    const b = await cluster.start()
    const onA = new SyncProvider({ url: a.wsUrl, room: 'r', doc: new Y.Doc(), WebSocket })
    const onB = new SyncProvider({ url: b.wsUrl, room: 'r', doc: new Y.Doc(), WebSocket })
    cleanups.push(() => onA.destroy(), () => onB.destroy())
    onB.awareness.setLocalStateField('user', { name: 'b' })
    const seesB = () => onA.awareness.getStates().has(onB.awareness.clientID)
    await until(seesB, "A's client sees B's client's presence")
    const gone = 'tandem_fanout_peers_gone_total'
    expect(await metricValue(a, gone)).toBe(0)

    await clock.shift(a, HOUR)
    // Many heartbeat periods (100 ms) with the jumped clock: edits still cross, nobody declared gone.
    await elapse(1_500)
    onB.doc.getText('t').insert(0, 'after the jump')
    await until(() => onA.doc.getText('t').toString() === 'after the jump', 'an edit from B reaches A after the jump')
    expect(await metricValue(a, gone)).toBe(0)
    expect(seesB()).toBe(true)

    await clock.shift(a, -HOUR)
    await elapse(500)
    b.child.kill('SIGKILL')
    const killedAt = performance.now()
    await until(async () => (await metricValue(a, gone)) === 1, 'A declares the killed server gone', 10_000)
    await until(() => !seesB(), "A's client no longer sees the dead server's client", 10_000)
    console.log(`[chaos] clock −1 h then a peer killed: noticed, its presence gone ${(performance.now() - killedAt).toFixed(0)} ms after the kill`)
  }, 90_000)
})
