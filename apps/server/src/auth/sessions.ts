import { revocationMatches, type Revocation, type TokenIdentity } from './revocations.js'

/**
 * Live connections by the token they were admitted with, so a revocation finds the ones it
 * denies without scanning every socket: by jti, and by sub. Only connections whose token has a
 * jti or a sub are held; a closed connection is deleted (server.ts, on close).
 */
export class LiveSessions<C> {
  private readonly identities = new Map<C, TokenIdentity>()
  private readonly byJti = new Map<string, Set<C>>()
  private readonly bySub = new Map<string, Set<C>>()

  get size(): number {
    return this.identities.size
  }

  add(conn: C, id: TokenIdentity): void {
    if (id.jti === undefined && id.sub === undefined) return
    this.identities.set(conn, id)
    if (id.jti !== undefined) addTo(this.byJti, id.jti, conn)
    if (id.sub !== undefined) addTo(this.bySub, id.sub, conn)
  }

  delete(conn: C): void {
    const id = this.identities.get(conn)
    if (!id) return
    this.identities.delete(conn)
    if (id.jti !== undefined) removeFrom(this.byJti, id.jti, conn)
    if (id.sub !== undefined) removeFrom(this.bySub, id.sub, conn)
  }

  /** The connections whose token `r` denies (a copy: the caller closes them). */
  matching(r: Revocation): C[] {
    const candidates = r.kind === 'jti' ? this.byJti.get(r.jti) : this.bySub.get(r.sub)
    if (!candidates) return []
    return [...candidates].filter((c) => revocationMatches(r, this.identities.get(c)!))
  }
}

function addTo<C>(index: Map<string, Set<C>>, key: string, conn: C): void {
  let set = index.get(key)
  if (!set) index.set(key, (set = new Set()))
  set.add(conn)
}

function removeFrom<C>(index: Map<string, Set<C>>, key: string, conn: C): void {
  const set = index.get(key)
  if (!set) return
  set.delete(conn)
  if (set.size === 0) index.delete(key)
}
