/**
 * The deny-list: tokens revoked before their `exp`, by `jti` (one token) or by `sub` (every
 * token of a user issued before a moment). In memory, bounded, and self-cleaning: an entry carries
 * `exp`, the latest expiry of any token it is meant to deny, and is dropped once that passes
 * (every token it could match has expired by then, so it can match nothing any more).
 *
 * Entries for the same jti, or the same sub, merge into one (the later `exp`; for a sub also the
 * later `before`). Merging can only deny more, never less, and keeps one entry per name, which is
 * what MAX_REVOCATIONS counts.
 */
export type Revocation =
  | { kind: 'jti'; jti: string; exp: number }
  | {
      kind: 'sub'
      sub: string
      /** tokens issued (iat) before this, or without iat, are denied; ms since the epoch */
      before: number
      exp: number
    }

/** What a token says about itself that a revocation can match. */
export interface TokenIdentity {
  jti?: string
  sub?: string
  /** iat, ms since the epoch */
  issuedAt?: number
}

/** Longest jti or sub accepted in a revocation: far above a UUID or an IdP's user id. */
export const MAX_REVOCATION_NAME = 256

export function revocationMatches(r: Revocation, t: TokenIdentity): boolean {
  if (r.kind === 'jti') return t.jti === r.jti
  // Without iat nobody can tell when it was issued: a sub-wide revocation denies it.
  return t.sub === r.sub && (t.issuedAt === undefined || t.issuedAt < r.before)
}

export type AddResult = 'added' | 'merged' | 'full' | 'expired'

export class DenyList {
  private readonly jtis = new Map<string, number>()
  private readonly subs = new Map<string, { before: number; exp: number }>()

  constructor(
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.jtis.size + this.subs.size
  }

  /** Adds or merges an entry; 'full' (nothing changed) when it is new and the list holds `capacity`. */
  add(r: Revocation): AddResult {
    if (r.exp <= this.now()) return 'expired'
    const existing = r.kind === 'jti' ? this.jtis.get(r.jti) : this.subs.get(r.sub)
    if (existing === undefined) {
      if (this.size >= this.capacity) this.prune()
      if (this.size >= this.capacity) return 'full'
    }
    if (r.kind === 'jti') {
      this.jtis.set(r.jti, Math.max(r.exp, (existing as number | undefined) ?? 0))
    } else {
      const old = existing as { before: number; exp: number } | undefined
      this.subs.set(r.sub, { before: Math.max(r.before, old?.before ?? -Infinity), exp: Math.max(r.exp, old?.exp ?? 0) })
    }
    return existing === undefined ? 'added' : 'merged'
  }

  isRevoked(t: TokenIdentity): boolean {
    const now = this.now()
    if (t.jti !== undefined) {
      const exp = this.jtis.get(t.jti)
      if (exp !== undefined) {
        if (exp > now) return true
        this.jtis.delete(t.jti)
      }
    }
    if (t.sub !== undefined) {
      const entry = this.subs.get(t.sub)
      if (entry !== undefined) {
        if (entry.exp <= now) this.subs.delete(t.sub)
        else if (revocationMatches({ kind: 'sub', sub: t.sub, ...entry }, t)) return true
      }
    }
    return false
  }

  /** Drops every entry whose tokens have all expired. O(size), run when the list is full. */
  prune(): void {
    const now = this.now()
    for (const [jti, exp] of this.jtis) if (exp <= now) this.jtis.delete(jti)
    for (const [sub, e] of this.subs) if (e.exp <= now) this.subs.delete(sub)
  }
}
