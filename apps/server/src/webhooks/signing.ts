import { createHmac } from 'node:crypto'

/**
 * The signature of one delivery (README "Webhooks" has the receiver's side): HMAC-SHA256 with
 * WEBHOOK_SECRET over `<timestamp>.<body>`, the timestamp in whole seconds since the epoch, sent
 * as `X-Tandem-Timestamp`. Signing the timestamp with the body lets a receiver refuse a replayed
 * request outside its time window; each attempt is signed anew with its own time.
 */
function sign(secret: string, timestamp: number, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** The headers of one delivery attempt. */
export function deliveryHeaders(secret: string, event: { eventId: string; type: string }, body: string, now: number): Record<string, string> {
  const timestamp = Math.floor(now / 1000)
  return {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'User-Agent': 'Tandem-Webhooks',
    'X-Tandem-Event': event.type,
    'X-Tandem-Event-Id': event.eventId,
    'X-Tandem-Timestamp': String(timestamp),
    'X-Tandem-Signature': sign(secret, timestamp, body),
  }
}
