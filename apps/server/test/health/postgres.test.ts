import * as Y from 'yjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { dropSchema, requirePostgres, uniqueName, withPg } from '../helpers/services.js'
import { createFaultProxy, type FaultProxy } from './fault-proxy.js'
import { healthUntil, healthz, startLoggedServer, writer } from './harness.js'

/**
 * PostgreSQL faults, seen through /healthz: a server that cannot store writes is `down` (503).
 * Reachability faults go through a proxy of the test's own (fault-proxy.ts); refused writes are
 * refused by PostgreSQL itself, in this test's schema only.
 */
let pgUrl = ''
beforeAll(async () => {
  pgUrl = await requirePostgres()
})

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {})
})

async function server(viaProxy: boolean) {
  const schema = uniqueName('t_hz')
  cleanups.push(() => dropSchema(schema))
  let proxy: FaultProxy | undefined
  if (viaProxy) {
    proxy = await createFaultProxy(pgUrl, 5432)
    cleanups.push(() => proxy!.close())
  }
  const s = await startLoggedServer({ DATABASE_URL: proxy ? proxy.url('postgres:') : pgUrl, PG_SCHEMA: schema })
  cleanups.push(() => s.close())
  return { ...s, schema, proxy: proxy! }
}

const update = (text: string) => {
  const d = new Y.Doc()
  d.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(d)
}
const isOk = (h: { code: number; body: { status: string } }) => h.code === 200 && h.body.status === 'ok'

describe('/healthz and PostgreSQL faults', () => {
  it('PostgreSQL unreachable (connections refused): 503 down (store unreachable), logged once; 200 ok when it is back', async () => {
    const s = await server(true)
    expect(await healthz(s.url)).toMatchObject({ code: 200, body: { status: 'ok', store: { kind: 'postgres', state: 'ok' } } })

    const since = s.mark()
    await s.proxy.cut()
    const down = await healthUntil(s.url, '503', (h) => h.code === 503)
    expect(down.body).toMatchObject({ status: 'down', store: { kind: 'postgres', state: 'down', ok: false, reason: 'unreachable' }, fanout: { kind: 'local', state: 'ok' } })
    expect(down.body.store.detail).toMatch(/ECONNREFUSED|connect/)
    for (let i = 0; i < 5; i++) expect((await healthz(s.url)).code).toBe(503)
    expect(s.logged(/^health: ok → down$/, since)).toBe(1)

    await s.proxy.restore()
    const back = await healthUntil(s.url, '200 ok once it is back', isOk)
    expect(back.body.store).toMatchObject({ state: 'ok', ok: true })
    expect(s.logged(/^health: down → ok$/, since)).toBe(1)
    const w = await writer(s.wsUrl, 'after')
    expect(await w.write(update('stored'))).toBe('saved')
    w.close()
  })

  it('PostgreSQL partitioned (connected, no answer): 503 down within the 2 s probe timeout; 200 ok when it answers again', async () => {
    const s = await server(true)
    await healthUntil(s.url, 'ok', isOk)
    s.proxy.pause()
    cleanups.push(() => s.proxy.resume())
    // Bounded: the endpoint answers even though the database does not (the probe's timeout fired).
    const down = await healthz(s.url)
    expect(down.code).toBe(503)
    expect(down.body.store).toMatchObject({ state: 'down', reason: 'unreachable', detail: 'no answer within 2000 ms' })

    s.proxy.resume()
    await healthUntil(s.url, '200 ok after the partition', isOk)
  })

  it('PostgreSQL refuses writes (SQLSTATE 53100, disk full): the edit is closed with 1011, 503 down (writes-failing); the probe sees it end, 200 ok without any client write', async () => {
    const s = await server(false)
    const w = await writer(s.wsUrl, 'r')
    expect(await w.write(update('before'))).toBe('saved')
    expect(await healthz(s.url)).toMatchObject({ code: 200, body: { status: 'ok' } })

    // PostgreSQL's own refusal, as when the tables cannot grow (the log, and the snapshots that
    // compaction writes when the room unloads); SELECT 1 still answers.
    await withPg((c) =>
      c.query(`
        CREATE FUNCTION "${s.schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON "${s.schema}".updates FOR EACH ROW EXECUTE FUNCTION "${s.schema}".refuse();
        CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON "${s.schema}".snapshots FOR EACH ROW EXECUTE FUNCTION "${s.schema}".refuse();`),
    )
    const since = s.mark()
    expect(await w.write(update('refused'))).toEqual({ closed: 1011 })
    for (let i = 0; i < 3; i++) {
      const down = await healthz(s.url)
      expect(down.code).toBe(503)
      expect(down.body).toMatchObject({ status: 'down', store: { kind: 'postgres', state: 'down', reason: 'writes-failing' } })
      expect(down.body.store.detail).toMatch(/^53100: could not extend file/)
    }
    expect(s.logged(/^postgres: writes failing/, since)).toBe(1)
    expect(s.logged(/^health: ok → down$/, since)).toBe(1)

    await withPg((c) => c.query(`DROP TRIGGER refuse ON "${s.schema}".updates; DROP TRIGGER refuse ON "${s.schema}".snapshots`))
    const back = await healthUntil(s.url, '200 ok once a probe write succeeds', isOk)
    expect(back.body.store).toMatchObject({ state: 'ok' })
    expect(s.logged(/^postgres: writes succeed again$/, since)).toBe(1)
    // The probe's row was rolled back: the log holds the client's rows only.
    const rows = await withPg((c) => c.query(`SELECT room FROM "${s.schema}".updates`))
    expect(rows.rows.map((r: { room: string }) => r.room)).toEqual(['r'])
    w.close()
  })
})
