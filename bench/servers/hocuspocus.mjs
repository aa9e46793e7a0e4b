// Hocuspocus 4.7.0 with its defaults; SQLITE_PATH set = its SQLite extension stores there.
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const host = process.env.HOST ?? '127.0.0.1'
const sqlitePath = process.env.SQLITE_PATH

const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: host,
  quiet: true,
  extensions: sqlitePath ? [new SQLite({ database: sqlitePath })] : [],
})
await server.listen()
console.log(`listening on http://${host}:${server.address.port}`)
