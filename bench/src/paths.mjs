import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = resolve(BENCH_DIR, '..')
export const RESULTS_DIR = join(BENCH_DIR, 'results')
export const TMP_DIR = join(RESULTS_DIR, 'tmp')
export const TANDEM_MAIN = join(REPO_DIR, 'apps/server/dist/main.js')
