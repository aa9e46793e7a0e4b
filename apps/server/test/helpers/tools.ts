import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const FIND_TOOLS = fileURLToPath(new URL('../../../../scripts/find-tools.mjs', import.meta.url))

/**
 * The program a test drives (nginx, openssl): NGINX_PATH / OPENSSL_PATH as `pnpm test` sets them,
 * else wherever scripts/find-tools.mjs finds one WITHOUT installing anything (a test never
 * installs packages). Not found: throws (failing the test) with the command that installs it.
 */
export function requireTool(name: 'nginx' | 'openssl'): string {
  const r = spawnSync(process.execPath, [FIND_TOOLS, '--no-install', name], { encoding: 'utf8' })
  const line = /^[A-Z_]+=(.+)$/m.exec(r.stdout ?? '')
  if (r.status === 0 && line) return line[1]!
  throw new Error(
    `${r.stderr?.trim() || r.error?.message || `scripts/find-tools.mjs exited ${r.status}`}\n` +
      `(\`pnpm test\` does this before the tests start; as root on Debian, \`node scripts/find-tools.mjs ${name}\` installs it.)`,
  )
}
