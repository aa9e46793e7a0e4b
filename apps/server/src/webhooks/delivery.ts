import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/**
 * One delivery attempt: a POST to a receiver, bounded in time (the whole exchange, up to the end
 * of the response, within `timeoutMs`) and in memory (at most MAX_RESPONSE_BYTES of the answer
 * are read, for the log; a longer answer is cut off). 2xx is success; anything else (a redirect
 * too: not followed) is a failure to retry.
 */
type DeliveryResult = { ok: true; status: number } | { ok: false; error: string }

const MAX_RESPONSE_BYTES = 1024

export interface Deliverer {
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<DeliveryResult>
  /** closes the kept-alive sockets */
  close(): void
}

export function createDeliverer(maxSockets: number): Deliverer {
  // Kept-alive sockets per receiver: a busy server does not pay a handshake per event.
  const http = new HttpAgent({ keepAlive: true, maxSockets })
  const https = new HttpsAgent({ keepAlive: true, maxSockets })
  return {
    post: (url, headers, body, timeoutMs) =>
      new Promise((resolve) => {
        let done = false
        const finish = (r: DeliveryResult) => {
          if (done) return
          done = true
          clearTimeout(timer)
          resolve(r)
        }
        const secure = url.startsWith('https:')
        const req = (secure ? httpsRequest : httpRequest)(url, { method: 'POST', headers, agent: secure ? https : http })
        const timer = setTimeout(() => {
          req.destroy()
          finish({ ok: false, error: `no answer within ${timeoutMs} ms` })
        }, timeoutMs)
        req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }))
        req.on('response', (res: IncomingMessage) => {
          const status = res.statusCode ?? 0
          let text = ''
          let bytes = 0
          res.on('data', (chunk: Buffer) => {
            if (bytes < MAX_RESPONSE_BYTES) text += chunk.subarray(0, MAX_RESPONSE_BYTES - bytes).toString('utf8')
            bytes += chunk.length
            // More than we read: the socket goes instead of draining a hostile stream.
            if (bytes > MAX_RESPONSE_BYTES) res.destroy()
          })
          const settle = () =>
            finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}` })
          res.on('end', settle)
          res.on('close', settle)
          res.on('error', settle)
        })
        req.end(body)
      }),
    close: () => {
      http.destroy()
      https.destroy()
    },
  }
}
