#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { ConfigError, MIN_AUTH_SECRET_BYTES, loadConfig } from './config.js'
import { createLogger } from './log.js'
import { createBackends } from './backends.js'
import { createTandemServer } from './server.js'
import { createMetrics } from './metrics.js'
import { httpsServerFactory } from './net/tls.js'

/** Composition root: config → backends → server; the ready line; signals. */
async function main(): Promise<void> {
  let config
  let createServer
  try {
    config = loadConfig(process.env, { editorDir: fileURLToPath(new URL('../../editor/dist/', import.meta.url)) })
    createServer = config.tls && httpsServerFactory(config.tls)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tandem: invalid configuration: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(config.logLevel)
  if (config.authSecret && Buffer.byteLength(config.authSecret) < MIN_AUTH_SECRET_BYTES) {
    log.warn(`AUTH_SECRET is shorter than ${MIN_AUTH_SECRET_BYTES} bytes: anyone holding one token can brute-force it offline; use \`openssl rand -base64 32\``)
  }
  const metrics = createMetrics()
  const { store, fanout } = await createBackends(config, log, { metricsRegistry: metrics.registry })
  const server = createTandemServer({ config, store, fanout, log, createServer, metrics })
  const address = await server.listen().catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(`tandem: cannot listen on ${config.host}:${config.port} (PORT/HOST): ${err.code ?? err.message}\n`)
    process.exit(2)
  })
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    force.unref()
    server
      .close()
      .then(() => Promise.all([fanout.close(), store.close()]))
      .then(() => {
        log.info('stopped')
        log.flush?.()
        process.exit(0)
      })
      .catch((err) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // Re-read AUTH_SECRETS_FILE / AUTH_JWKS_FILE; a bad file keeps the old keys (logged, never fatal).
  process.on('SIGHUP', () => server.reloadKeys())

  // Signal handlers first, then the ready line: a supervisor may stop us the moment it reads it.
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  // The ready signal: the only line Tandem ever writes to stdout.
  // With TLS_CERT/TLS_KEY the same line says https:// (and clients use wss://).
  process.stdout.write(`tandem listening on ${config.tls ? 'https' : 'http'}://${host}:${address.port}\n`)
  log.info({ host: address.address, port: address.port, store: store.kind, fanout: fanout.kind, tls: !!config.tls }, 'ready')
}

main().catch((err) => {
  process.stderr.write(`tandem: failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
