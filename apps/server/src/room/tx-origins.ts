/**
 * Transaction origins for Y.applyUpdate, as a discriminated union (never `any`).
 * Objects are allocated once (per connection, or once here) so the hot path allocates nothing.
 */
export type TxOrigin =
  | { readonly kind: 'connection'; readonly id: number }
  | { readonly kind: 'fanout' }
  | { readonly kind: 'load' }
  | { readonly kind: 'api' }
  /** a commit's updates, integrated in one transaction (update/document.ts) */
  | { readonly kind: 'batch' }

export const FANOUT_ORIGIN: TxOrigin = Object.freeze({ kind: 'fanout' })
export const LOAD_ORIGIN: TxOrigin = Object.freeze({ kind: 'load' })
export const API_ORIGIN: TxOrigin = Object.freeze({ kind: 'api' })
export const BATCH_ORIGIN: TxOrigin = Object.freeze({ kind: 'batch' })
