import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { KeychainCredentials, type SecretCipher } from './keychain'

// A stand-in for safeStorage: reversible, and visibly not the plain text.
const cipher = (available = true): SecretCipher => ({
  isEncryptionAvailable: () => available,
  encryptString: (plain) => Buffer.from([...Buffer.from(plain)].map((b) => b ^ 0x5a)),
  decryptString: (encrypted) => Buffer.from([...encrypted].map((b) => b ^ 0x5a)).toString()
})

let dir = ''
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('passwords in the keychain', () => {
  it('keeps a remembered password encrypted across launches and never in clear text', () => {
    dir = mkdtempSync(join(tmpdir(), 'esw-keychain-'))
    const file = join(dir, 'credentials.json')
    const first = new KeychainCredentials(file, cipher(), {})
    first.set('postgres://team@db:5432/shop', 's3cret-pw', true)
    first.set('postgres://other@db:5432/shop', 'not-kept', false)
    expect(readFileSync(file, 'utf8')).not.toContain('s3cret-pw')
    const second = new KeychainCredentials(file, cipher(), {})
    expect(second.get('postgres://team@db:5432/shop')).toBe('s3cret-pw')
    expect(second.get('postgres://other@db:5432/shop')).toBeUndefined()
    second.forget('postgres://team@db:5432/shop')
    expect(new KeychainCredentials(file, cipher(), {}).get('postgres://team@db:5432/shop')).toBeUndefined()
  })

  it('writes nothing where no keychain is available, and still answers for the run', () => {
    dir = mkdtempSync(join(tmpdir(), 'esw-keychain-'))
    const file = join(dir, 'credentials.json')
    const credentials = new KeychainCredentials(file, cipher(false), { ESW_PG_PASSWORD: 'env' })
    expect(credentials.canRemember).toBe(false)
    credentials.set('postgres://team@db:5432/shop', 'pw', true)
    expect(credentials.get('postgres://team@db:5432/shop')).toBe('pw')
    expect(() => readFileSync(file)).toThrow()
    expect(credentials.get('postgres://x@db:5432/shop')).toBe('env')
  })
})
