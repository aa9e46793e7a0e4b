// The per-frame ceiling: a `ws` server that forwards every binary frame, unchanged, to the
// other sockets of the same room (URL path). No Yjs, no parsing, no storage.
// RELAY_REPLAY=1 also keeps each room's frames and replays them to late joiners (scenario D:
// the cheapest possible way to hand a newcomer the document bytes).
import http from 'node:http'
import { WebSocketServer } from 'ws'

const host = process.env.HOST ?? '127.0.0.1'
const port = Number(process.env.PORT ?? 0)
const replay = process.env.RELAY_REPLAY === '1'

/** @type {Map<string, { peers: Set<import('ws').WebSocket>, log: Buffer[] }>} */
const rooms = new Map()

const server = http.createServer((_req, res) => { res.writeHead(200).end('relay') })
const wss = new WebSocketServer({ server })

wss.on('connection', (ws, req) => {
  const name = req.url ?? '/'
  let room = rooms.get(name)
  if (room === undefined) { room = { peers: new Set(), log: [] }; rooms.set(name, room) }
  const r = room
  r.peers.add(ws)
  for (const frame of r.log) ws.send(frame)
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return
    const frame = /** @type {Buffer} */ (data)
    if (replay) r.log.push(frame)
    for (const peer of r.peers) if (peer !== ws) peer.send(frame)
  })
  ws.on('close', () => {
    r.peers.delete(ws)
    if (r.peers.size === 0 && !replay) rooms.delete(name)
  })
})

server.listen(port, host, () => {
  const a = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`listening on http://${host}:${a.port}`)
})
process.on('SIGTERM', () => process.exit(0))
