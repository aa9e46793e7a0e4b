/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** ws(s):// URL of the sync server for `pnpm dev` (Vite exposes VITE_* variables from the environment). */
  readonly VITE_TANDEM_SERVER?: string
}
