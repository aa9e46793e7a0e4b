import { performance } from 'node:perf_hooks'
import { expect } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncProvider } from '@tandem/sync/provider'
import { text } from '../helpers/clients.js'
import { until } from '../helpers/wait.js'
import type { ChildServer } from '../helpers/server.js'
import type { ServerCluster } from '../helpers/services.js'

/**
 * Chaos tests: two built servers share PostgreSQL and Redis, clients on each type without pause,
 * and one link (Redis, or one server's PostgreSQL) fails through a proxy of the test's own
 * (health/fault-proxy.ts), so the shared services other tests use are never touched. After the
 * fault ends, `checkRecovered` asserts the one invariant every fault must keep.
 */

/** A SyncProvider client on one server that types `${tag}${i};` every few ms until stopped. */
export interface Typist {
  tag: string
  doc: Y.Doc
  provider: SyncProvider
  text(): string
  /** edits made so far: `${tag}0;` … `${tag}${typed - 1};` */
  typed(): number
  /** edits 0 … savedThrough-1 were acknowledged as stored at some point (never goes down) */
  savedThrough(): number
  /** close codes of the sockets the server closed (what the client saw of the fault) */
  closes: number[]
  stop(): void
}

export function typist(wsUrl: string, room: string, tag: string, cleanups: (() => unknown)[]): Typist {
  const doc = new Y.Doc()
  const provider = new SyncProvider({ url: wsUrl, room, doc, WebSocket, initialBackoffMs: 20, maxBackoffMs: 200 })
  let typed = 0
  let savedThrough = 0
  // unsavedChanges counts this client's own edits not yet acknowledged; acknowledgements settle
  // them oldest first, so the edits before `typed - count` are the ones the server stored.
  provider.on('unsaved-changes', (count) => (savedThrough = Math.max(savedThrough, typed - count)))
  const closes: number[] = []
  provider.on('connection-close', (close) => close && closes.push(close.code))
  const t = doc.getText('t')
  const timer = setInterval(() => {
    const piece = `${tag}${typed++};` // counted before the insert, whose event reports it unsaved
    t.insert(t.length, piece)
  }, 10)
  const stop = () => clearInterval(timer)
  cleanups.push(() => provider.destroy())
  cleanups.push(stop)
  return { tag, doc, provider, text: () => text(doc), typed: () => typed, savedThrough: () => savedThrough, closes, stop }
}

/** Resolves once every typist has at least `n` more edits acknowledged as stored than now. */
export function moreSaved(typists: Typist[], n: number, what: string, timeoutMs = 15_000) {
  const base = typists.map((t) => t.savedThrough())
  return until(() => typists.every((t, i) => t.savedThrough() >= base[i]! + n), what, timeoutMs)
}

/** Resolves once every typist has made at least `n` more edits than now (saved or not). */
export function moreTyped(typists: Typist[], n: number, what: string, timeoutMs = 15_000) {
  const base = typists.map((t) => t.typed())
  return until(() => typists.every((t, i) => t.typed() >= base[i]! + n), what, timeoutMs)
}

interface Health {
  store: { ok: boolean; reason?: string }
  fanout: { ok: boolean; reason?: string }
}

/** Polls a server's /healthz until `match` holds (evidence that a fault took effect). */
export function healthUntil(server: ChildServer, what: string, match: (h: Health) => boolean, timeoutMs = 15_000) {
  return until(async () => match((await (await fetch(`${server.url}/healthz`)).json()) as Health), what, timeoutMs)
}

/** The room as the store holds it, read through a server started now (nothing in its memory). */
async function storedText(cluster: ServerCluster, env: Record<string, string>, room: string): Promise<string> {
  const fresh = await cluster.start(env)
  const res = await fetch(`${fresh.url}/api/rooms/${encodeURIComponent(room)}/state`)
  expect(res.status).toBe(200)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()))
  return text(doc)
}

const pieces = (s: string) => s.split(';').filter(Boolean).sort()

/**
 * The invariant after any fault, called right after it ended (`endedAt` = performance.now()
 * then): the typists stop once everything they typed before the end is acknowledged; then every
 * client converges on one text holding each typed edit exactly once (so every edit any client
 * saw acknowledged as saved), the store holds that same text, and no server process exited.
 * Logs the time from the fault's end to convergence (measured, never asserted).
 */
export async function checkRecovered(opts: {
  fault: string
  endedAt: number
  typists: Typist[]
  servers: ChildServer[]
  cluster: ServerCluster
  /** env for the fresh server that reads the store: direct links, no proxy */
  directEnv: Record<string, string>
  room: string
}): Promise<void> {
  const { typists, endedAt } = opts
  const typedAtEnd = typists.map((t) => t.typed())
  await until(() => typists.every((t, i) => t.savedThrough() >= typedAtEnd[i]!), `${opts.fault}: edits typed before the fault's end acknowledged`, 30_000)
  const savedAt = performance.now()
  for (const t of typists) t.stop()
  const acked = typists.map((t) => t.savedThrough())

  const expected = pieces(typists.flatMap((t) => Array.from({ length: t.typed() }, (_, i) => `${t.tag}${i};`)).join(''))
  await until(
    () => typists.every((t) => t.provider.unsavedChanges === 0 && t.text() === typists[0]!.text()) && pieces(typists[0]!.text()).length === expected.length,
    `${opts.fault}: every client converges`,
    30_000,
  )
  const convergedAt = performance.now()
  console.log(
    `[chaos] ${opts.fault}: fault end → all earlier edits saved ${(savedAt - endedAt).toFixed(0)} ms, → converged ${(convergedAt - endedAt).toFixed(0)} ms ` +
      `(${expected.length} edits, ${acked.join('/')} acknowledged per client; closes seen: ${typists.map((t) => `${t.tag} [${t.closes.join(',')}]`).join(' ')})`,
  )

  const final = typists[0]!.text()
  expect(pieces(final)).toEqual(expected) // each edit once: nothing lost, nothing doubled
  for (const [i, t] of typists.entries()) {
    for (let n = 0; n < acked[i]!; n++) expect(final.includes(`${t.tag}${n};`), `${t.tag}${n}; was acknowledged`).toBe(true)
  }
  expect(await storedText(opts.cluster, opts.directEnv, opts.room)).toBe(final)
  for (const s of opts.servers) expect({ exitCode: s.child.exitCode, signal: s.child.signalCode }).toEqual({ exitCode: null, signal: null })
}

/**
 * Servers A and B of `cluster` (each with its own env: the links under test go through a proxy)
 * and two typists on each, all in one room; resolves once edits flow both ways and are saved.
 */
export function twoServersTyping(cluster: ServerCluster, envA: Record<string, string>, envB: Record<string, string>, room: string, cleanups: (() => unknown)[]) {
  return serversTyping(cluster, [envA, envB], room, cleanups)
}

/** One server per env (A, B, C…), two typists on each (tags `ax`, `ay`, `bx`…), all in one room. */
export async function serversTyping(cluster: ServerCluster, envs: Record<string, string>[], room: string, cleanups: (() => unknown)[]) {
  const servers: ChildServer[] = []
  for (const env of envs) servers.push(await cluster.start(env))
  const typists = servers.flatMap((s, i) => ['x', 'y'].map((who) => typist(s.wsUrl, room, `${'abcdefgh'[i]}${who}`, cleanups)))
  await moreSaved(typists, 10, 'edits saved before the fault')
  await until(() => typists.every((t) => typists.every((o) => t.text().includes(`${o.tag}5;`))), 'edits cross between servers before the fault')
  return { servers, typists }
}

/**
 * "Nothing relayed that was not stored", while `from`'s server cannot store: none of the edits
 * `from` made after `typedAt` (its count when the store stopped answering) may reach `others`.
 */
export function relayedUnstored(from: Typist[], typedAt: number[], others: Typist[]): string[] {
  const leaked: string[] = []
  for (const [i, t] of from.entries()) {
    for (let n = typedAt[i]!; n < t.typed(); n++) {
      const piece = `${t.tag}${n};`
      for (const o of others) if (o.text().includes(piece)) leaked.push(`${piece} at ${o.tag}`)
    }
  }
  return leaked
}
