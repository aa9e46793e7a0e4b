// Hocuspocus 4.7.0 with its defaults; SQLITE_PATH set = its SQLite extension stores there;
// REDIS_URL set = its Redis extension (scale-out), keys under REDIS_PREFIX; HP_DEFLATE=1 = its
// compression option (`websocketOptions`, handed to its ws server: permessage-deflate with ws'
// defaults, context takeover included).
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'
import { Redis } from '@hocuspocus/extension-redis'

const host = process.env.HOST ?? '127.0.0.1'
const sqlitePath = process.env.SQLITE_PATH
const redisUrl = process.env.REDIS_URL

const extensions = []
if (sqlitePath) extensions.push(new SQLite({ database: sqlitePath }))
if (redisUrl) {
  const u = new URL(redisUrl)
  extensions.push(new Redis({ host: u.hostname, port: Number(u.port || 6379), prefix: process.env.REDIS_PREFIX ?? 'hocuspocus' }))
}

const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: host,
  quiet: true,
  extensions,
  ...(process.env.HP_DEFLATE === '1' ? { websocketOptions: { perMessageDeflate: true } } : {}),
})
await server.listen()
console.log(`listening on http://${host}:${server.address.port}`)
