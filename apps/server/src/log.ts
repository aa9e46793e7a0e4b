import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Logs go to stderr as JSON lines; stdout carries only the ready line.
 * Never log tokens or document content: log room names, sizes, codes and reasons.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { svc: 'tandem' }, redact: ['token', '*.token', 'authorization'] }, pino.destination({ fd: 2, sync: false }))
}
