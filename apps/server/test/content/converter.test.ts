// The content conversions run in a worker thread (content/converter.ts), so a large Markdown or
// HTML body, or a large document, never holds the event loop every room shares.
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ConversionUnavailable, createConverter, type Converter } from '../../src/content/converter.js'
import { Bystander, Servers } from '../hostile/harness.js'

const converters: Converter[] = []
const servers = new Servers()
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0)) c()
  for (const c of converters.splice(0)) await c.close()
  await servers.closeAll()
})

/** ~`paragraphs` Markdown paragraphs with some marks (what makes parsing cost CPU). */
const markdown = (paragraphs: number) => Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} with **bold**, *italic* and \`code\`.`).join('\n\n')

describe('content conversions off the event loop', () => {
  it('a conversion that runs past the timeout is stopped with its thread (ConversionUnavailable); the next job gets a fresh thread', async () => {
    const c = createConverter({ timeoutMs: 200, maxQueued: 4 })
    converters.push(c)
    const empty = new Uint8Array([0, 0])
    await expect(c.plan(empty, markdown(40_000), 'markdown', 'replace')).rejects.toThrow(ConversionUnavailable)
    const read = await c.read(empty, 'text', undefined)
    expect(read.body).toBe('')
  })

  it('refuses jobs beyond the queue bound at once', async () => {
    const c = createConverter({ timeoutMs: 30_000, maxQueued: 2 })
    converters.push(c)
    const empty = new Uint8Array([0, 0])
    const jobs = Array.from({ length: 5 }, () => c.read(empty, 'json', undefined))
    const settled = await Promise.allSettled(jobs)
    const refused = settled.filter((s) => s.status === 'rejected' && s.reason instanceof ConversionUnavailable)
    // One runs (or waits for the thread to load) and two queue; the rest are refused.
    expect(refused.length).toBeGreaterThanOrEqual(2)
    expect(settled.filter((s) => s.status === 'fulfilled').length).toBeGreaterThanOrEqual(2)
  })

  it('while a large Markdown PUT is being converted, other rooms keep relaying', { timeout: 60_000 }, async () => {
    const s = await servers.start({})
    const bystander = await Bystander.open(s.wsUrl)
    cleanup.push(() => bystander.close())
    let putDone = false
    const put = fetch(`${s.url}/api/rooms/big/content`, { method: 'PUT', headers: { 'Content-Type': 'text/markdown' }, body: markdown(8_000) }).then(async (r) => {
      putDone = true
      return r.status
    })
    // Round trips through the update path complete while the conversion is still running.
    await bystander.roundTrip()
    await bystander.roundTrip()
    expect(putDone, 'the PUT was still being converted while the bystander relayed').toBe(false)
    expect(await put).toBe(200)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(await (await fetch(`${s.url}/api/rooms/big/state`)).arrayBuffer()))
    expect(doc.getXmlFragment('default').length).toBe(8_000)
  })
})
