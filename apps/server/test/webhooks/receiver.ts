import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { until } from '../helpers/wait.js'

/** 16+ bytes, as WEBHOOK_SECRET requires. */
export const WEBHOOK_SECRET = 'webhook-test-secret-0123456789abcdef'

export interface WebhookEvent {
  id: string
  type: 'document.changed' | 'room.created' | 'room.deleted' | 'document.restored'
  room: string
  time: string
  seq?: { from: number; to: number }
  authors?: string[]
  /** document.restored: the version restored, and the one taken just before the restore */
  version?: number
  before?: number
}

export interface Received {
  headers: IncomingHttpHeaders
  body: string
  event: WebhookEvent
  /** the signature checked as README's snippet does it (timestamp window + timingSafeEqual) */
  verified: boolean
  /** what this receiver answered; 0: nothing (the request was held open, never answered) */
  status: number
}

/**
 * A real webhook receiver: node:http on port 0. `answer` decides each request's status (200 by
 * default; a receiver "down" answers 503; 0 holds the request open without an answer, a stuck
 * receiver). Records every request, accepted or not.
 */
export async function startReceiver(opts: { secret?: string; answer?: (n: number, event: WebhookEvent) => number } = {}) {
  const secret = opts.secret ?? WEBHOOK_SECRET
  const all: Received[] = []
  let answer = opts.answer ?? (() => 200)
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const event = JSON.parse(body) as WebhookEvent
      const status = answer(all.length, event)
      all.push({ headers: req.headers, body, event, verified: verify(secret, req.headers, body), status })
      if (status === 0) return
      res.statusCode = status
      res.end(status === 200 ? 'ok' : 'down')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const accepted = () => all.filter((r) => r.status >= 200 && r.status < 300)
  return {
    url,
    all,
    accepted,
    setAnswer(fn: (n: number, event: WebhookEvent) => number) {
      answer = fn
    },
    /** Waits until `n` requests were accepted (2xx); returns them. */
    async waitFor(n: number, what = `${n} accepted webhook(s)`, timeoutMs = 15_000): Promise<Received[]> {
      await until(() => accepted().length >= n, what, timeoutMs)
      return accepted()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** README "Webhooks" › Verifying: the receiver's check, copied (a change there must change this). */
export function verify(secret: string, headers: IncomingHttpHeaders, rawBody: string, toleranceSeconds = 300): boolean {
  const timestamp = Number(headers['x-tandem-timestamp'])
  const signature = String(headers['x-tandem-signature'] ?? '')
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')
  const a = Buffer.from(signature)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
