import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Logs go to stderr as JSON lines; stdout carries only the ready line.
 * Never log tokens or document content: log room names, sizes, codes and reasons.
 */
export function createLogger(level: string): Logger {
  const options = { level, base: { svc: 'tandem' }, redact: ['token', '*.token', 'authorization'] }
  // 'silent' needs no destination: an async one registers a process exit hook per logger.
  if (level === 'silent') return pino(options)
  return pino(options, pino.destination({ fd: 2, sync: false }))
}
