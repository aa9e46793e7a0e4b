// Tandem inside an app of its own: a plain node:http server with its own cookie sessions.
// The app decides who may open which document (authenticate) and hears about every stored change
// (onChange); Tandem does the rest on the same port. Run: `pnpm build`, then `node server.mjs`,
// open /login?user=alice&access=write, and point a Yjs client (SyncProvider, y-websocket) at
// ws://127.0.0.1:3000 with a room name: the browser sends the session cookie with the handshake.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { createTandemServer } from '@tandem/server'

/** The app's sessions: session id → who and what they may do (a real app: its session store). */
const sessions = new Map()
const sessionId = (req) => /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]

const tandem = await createTandemServer({
  dataDir: process.env.DATA_DIR ?? './data',
  // Instead of JWTs: the session cookie. No session → 401, before any socket is opened.
  authenticate: (req) => sessions.get(sessionId(req)) ?? false,
  // After the change is stored and sent to the room's editors; never awaited by Tandem.
  onChange: (room, change) => console.log(`changed ${room} by ${change.users.join(', ') || 'the API'} (seq ${change.toSeq})`),
})

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/login') {
    // A stand-in for the app's real login: ?user=alice&access=write
    const sid = randomUUID()
    sessions.set(sid, { user: url.searchParams.get('user') ?? 'guest', access: url.searchParams.get('access') === 'write' ? 'write' : 'read' })
    res.setHeader('Set-Cookie', `sid=${sid}; HttpOnly; SameSite=Lax; Path=/`)
    return res.end('logged in\n')
  }
  // /api/…, /healthz, /metrics are Tandem's; everything else is the app's.
  tandem.handleRequest(req, res, () => res.end('the app\n'))
})
server.on('upgrade', (req, socket, head) => tandem.handleUpgrade(req, socket, head))

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`example listening on http://127.0.0.1:${server.address().port}`)
})
process.once('SIGTERM', () => {
  // Tandem first: it stores what is pending and closes its sockets; then the app's server.
  tandem.close().then(() => {
    server.close()
    server.closeIdleConnections()
  })
})
