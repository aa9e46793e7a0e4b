// ESLint for the whole workspace (`pnpm lint` runs it with dpdm and knip: scripts/lint.mjs).
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import closeCodes from './tools/eslint/close-codes.js'

const root = import.meta.dirname

/** The close-code module: the one place the numbers are written. */
const CLOSE_CODE_MODULE = 'packages/sync/src/protocol/errors.ts'

/** Client code of @tandem/sync: the SyncProvider and what only it uses, by name and by path. */
const SYNC_CLIENT_SPECIFIERS = ['@tandem/sync/provider']
const SYNC_CLIENT_PATHS = ['packages/sync/src/provider', 'packages/sync/dist/provider']

export default defineConfig(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/dist-lib/**', 'bench/results/**', 'test-results/**', 'playwright-report/**', 'coverage/**'],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  // Every file: the language basics.
  js.configs.recommended,

  // TypeScript, type-aware: each file is checked with the tsconfig.json of its package (the root's
  // tsconfig.json for the vitest config, tools/ and the bench's test).
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      // `_`-prefixed names are deliberately unused (a parameter a signature requires).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Yjs' generated typings omit the toString() of its shared types (Y.Text gives its text,
      // Y.XmlFragment its XML), so the rule would take them for Object's "[object Object]".
      '@typescript-eslint/no-base-to-string': ['error', { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'YText', 'YXmlText', 'YXmlFragment', 'YXmlElement'] }],
      // Off: `async` without `await` is how a synchronous implementation of a Promise-returning
      // interface (the memory and SQLite stores, health checks, test fakes) turns a throw
      // into a rejection. Dropping `async` to satisfy the rule would change that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // Playwright reads a fixture's dependencies from its first parameter, which must be an object
  // pattern: a fixture that depends on nothing is written `async ({}, use) => ...`.
  {
    files: ['e2e/**/*.ts'],
    rules: { 'no-empty-pattern': 'off' },
  },

  // Plain JavaScript: the bench, the scripts, this config and its rules run on Node (the editor's
  // service worker excepted: see the globals at the end).
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: ['apps/editor/public/**'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },

  // Import boundaries. The wire protocol (@tandem/sync) is shared; the SyncProvider
  // (@tandem/sync/provider, packages/sync/src/provider/) is client code: the editor uses both,
  // the server only the protocol, and the protocol never reaches into the client.
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          // `source` first: workspace packages resolve to their TypeScript sources, as in tsconfig.base.json.
          conditionNames: ['source', 'types', 'import', 'node', 'browser', 'default'],
          project: ['packages/*/tsconfig.json', 'apps/*/tsconfig.json', 'e2e/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: [
            {
              // (the server's tests may drive it with the client: only src/)
              target: 'apps/server/src',
              from: SYNC_CLIENT_PATHS,
              message: 'The server uses only the protocol (@tandem/sync), never the client (@tandem/sync/provider).',
            },
            { target: 'apps/server', from: 'apps/editor', message: 'The server does not import the editor.' },
            { target: 'apps/editor', from: 'apps/server', message: 'The editor talks to the server over the wire, never by import.' },
            { target: 'packages/sync', from: 'apps', message: '@tandem/sync is a library: it imports no app.' },
            {
              target: 'packages/sync/src/protocol',
              from: 'packages/sync/src/provider',
              message: 'The protocol is shared by the server and the client: it never imports the client.',
            },
          ],
        },
      ],
    },
  },
  // The same boundary by specifier, so it holds even where an import does not resolve.
  {
    files: ['apps/server/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...SYNC_CLIENT_SPECIFIERS.map((name) => ({ name, message: 'The server uses only the protocol (@tandem/sync), never the client.' })),
            { name: '@tandem/editor', message: 'The server does not import the editor.' },
          ],
          patterns: [
            { group: ['@tandem/sync/provider/*', '@tandem/editor/*'], message: 'The server uses only the protocol (@tandem/sync).' },
            { group: ['**/packages/sync/**', '**/apps/editor/**'], message: 'Import workspace packages by name (@tandem/sync), not by path.' },
          ],
        },
      ],
    },
  },

  // Close codes only through their named constants.
  {
    files: ['apps/*/src/**/*.ts', 'packages/*/src/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.mjs'],
    // Tests are exempt: they pin the numbers on the wire (a changed constant must fail them). So are
    // their fakes (testing/, left out of the build): a fake socket reports 1006 as a browser does.
    ignores: [CLOSE_CODE_MODULE, '**/*.test.ts', '**/*.spec.ts', '**/testing/**'],
    plugins: { tandem: { rules: { 'close-codes': closeCodes } } },
    rules: { 'tandem/close-codes': 'error' },
  },

  // Runtime globals per app (TypeScript already knows them; this is for the rules that ask).
  { files: ['apps/server/**', 'e2e/**', 'bench/**', 'scripts/**', 'tools/**'], languageOptions: { globals: { ...globals.node } } },
  { files: ['apps/editor/src/**'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['apps/editor/public/sw.js'], languageOptions: { globals: { ...globals.serviceworker } } },
)
