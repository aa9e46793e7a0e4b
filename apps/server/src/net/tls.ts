import { readFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { createServer as createHttpsServer } from 'node:https'
import type { RequestListener, Server as HttpServer, ServerOptions } from 'node:http'
import { ConfigError } from '../config.js'

/**
 * wss:// directly: when TLS_CERT and TLS_KEY (PEM file paths) are set, the server listens with
 * https, and ws upgrades ride on it. Both files are read and checked ONCE at startup, so a bad
 * path, a bad PEM or a key that does not belong to the certificate stops the server with a
 * message naming the variable instead of failing every handshake later.
 *
 * The alternative (docs/security.md): plain HTTP on 127.0.0.1 behind a TLS-terminating reverse
 * proxy (Caddy, nginx), with TRUST_PROXY=1 so per-address limits see the real client.
 */
export interface TlsFiles {
  certFile: string
  keyFile: string
}

export function httpsServerFactory(files: TlsFiles): (handler?: RequestListener, options?: ServerOptions) => HttpServer {
  const cert = readPem('TLS_CERT', files.certFile)
  const key = readPem('TLS_KEY', files.keyFile)
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new ConfigError('TLS_CERT', `${files.certFile} is not a PEM certificate (${(err as Error).message})`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    throw new ConfigError('TLS_KEY', `${files.keyFile} is not a PEM private key (${(err as Error).message})`)
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError('TLS_KEY', `${files.keyFile} does not belong to the certificate in TLS_CERT`)
  }
  // Node's defaults: TLS 1.2+ and its vetted cipher list. https.Server is an http.Server for
  // everything server.ts uses (listen, upgrade, close, closeAllConnections).
  // `options`: server.ts' timeouts (headers, request, TLS handshake).
  return (handler, options = {}) => createHttpsServer({ ...options, cert, key }, handler)
}

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
}
