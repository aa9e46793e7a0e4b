import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuleTester } from 'eslint'
import tseslint from 'typescript-eslint'
import { afterAll, describe, it } from 'vitest'
import closeCodes from './close-codes.js'

RuleTester.describe = describe
RuleTester.it = it
RuleTester.itOnly = it.only

const literal = (value: number) => ({ messageId: 'literal', data: { value: String(value) } })

describe('tandem/close-codes without type information', () => {
  new RuleTester({ languageOptions: { parser: tseslint.parser } }).run('close-codes', closeCodes, {
    valid: [
      'ws.close(CloseCode.PolicyViolation, "rate-limit")',
      'socket.close()',
      'new ProtocolError("bad", CloseCode.InvalidPayload, "malformed")',
      // numbers in the ranges that are not close codes
      'setTimeout(run, 1000)',
      'const ms = 1000',
      'const seconds = Date.now() / 1000',
      'if (res.statusCode === 404) retry()',
      'const port = 4000',
      'db.pragma("wal_autocheckpoint = 1000")',
      'limit(1008)',
      // outside the ranges
      'ws.close(3000)',
      'const code = 999',
      'const code = 5000',
    ],
    invalid: [
      { code: 'ws.close(1008, "rate-limit")', errors: [literal(1008)] },
      { code: 'close(1000)', errors: [literal(1000)] },
      { code: 'peer?.close(4413, "full")', errors: [literal(4413)] },
      { code: 'ws.close(1001 as const)', errors: [literal(1001)] },
      { code: 'throw new ProtocolError("bad", 1007, "malformed")', errors: [literal(1007)] },
      { code: 'const code = 4001', errors: [literal(4001)] },
      { code: 'const CLOSE_CODE = 1011', errors: [literal(1011)] },
      { code: 'let lastCloseCode; lastCloseCode = 1013', errors: [literal(1013)] },
      { code: 'send({ code: 1009, reason: "too big" })', errors: [literal(1009)] },
      { code: 'class A { closeCode = 4002 }', errors: [literal(4002)] },
      { code: 'function f(code = 1000) {}', errors: [literal(1000)] },
      { code: 'if (event.code === 4001) refresh()', errors: [literal(4001)] },
      { code: 'if (4499 >= e.closeCode) stop()', errors: [literal(4499)] },
      { code: 'switch (info.code) { case 1015: break }', errors: [literal(1015)] },
    ],
  })
})

describe('tandem/close-codes with type information', () => {
  // A throwaway project: the rule reads parameter names from the type checker.
  const dir = mkdtempSync(join(tmpdir(), 'close-codes-'))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true }, include: ['*.ts'] }))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const filename = join(dir, 'file.ts')
  const header = 'declare function closeWith(peer: object, code: number): void\ndeclare function wait(ms: number): void\n'

  new RuleTester({
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: { allowDefaultProject: ['*.ts'] }, tsconfigRootDir: dir } },
  }).run('close-codes', closeCodes, {
    valid: [
      { filename, code: `${header}wait(1000)` },
      { filename, code: `${header}closeWith(peer, CloseCode.Normal)` },
    ],
    invalid: [{ filename, code: `${header}closeWith(peer, 4001)`, errors: [literal(4001)] }],
  })
})
