import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

/**
 * Run through `pnpm test` / `node scripts/e2e.mjs`, which finds a browser and sets CHROMIUM_PATH.
 * Every test starts its own built server on PORT=0 with a temp DATA_DIR (fixtures.ts), so tests
 * are independent and can run in parallel.
 */
const executablePath = process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined)

export default defineConfig({
  testDir: './tests',
  // screenshot.spec.ts rewrites docs/screenshot.png: not a test, so not in a normal run (where it
  // would only ever show up as skipped). `UPDATE_SCREENSHOT=1 node scripts/e2e.mjs screenshot`.
  testIgnore: process.env.UPDATE_SCREENSHOT ? [] : ['**/screenshot.spec.ts'],
  fullyParallel: true,
  // 2 cores: two workers, each driving a server and a handful of tabs.
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // Generous: every wait is for a condition (never a sleep), so a passing test takes no longer; a
  // 2-core machine driving two workers' browsers can be 4-5× slower per keystroke than a laptop.
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]] : 'list',
  outputDir: './test-results',
  use: {
    // No channel, no user-data-dir: a plain launch of the chosen binary (CHROMIUM_PATH, set by
    // scripts/e2e.mjs).
    launchOptions: executablePath ? { executablePath } : {},
    viewport: { width: 1000, height: 760 },
    actionTimeout: 20_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
