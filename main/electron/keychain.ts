import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { MemoryCredentials } from '../workspace/credentials'

/** What the keychain needs of Electron's safeStorage (given by main.ts, so this file runs under plain Node too). */
export interface SecretCipher {
  isEncryptionAvailable(): boolean
  encryptString(plain: string): Buffer
  decryptString(encrypted: Buffer): string
}

/**
 * Passwords of PostgreSQL stores kept across launches, encrypted by the OS keychain (safeStorage: Keychain on macOS,
 * DPAPI on Windows, libsecret/kwallet on Linux) in a file of the app's own data, never in a workspace. Where no
 * keychain is available nothing is written and passwords last for the run.
 */
export class KeychainCredentials extends MemoryCredentials {
  override readonly canRemember: boolean
  private readonly stored = new Map<string, string>()

  constructor(
    private readonly file: string,
    private readonly cipher: SecretCipher,
    env: NodeJS.ProcessEnv = process.env
  ) {
    super(env)
    this.canRemember = cipher.isEncryptionAvailable()
    if (this.canRemember && existsSync(file)) {
      try {
        const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
        for (const [location, encrypted] of Object.entries(entries)) this.stored.set(location, encrypted)
      } catch {
        // An unreadable file holds nothing usable; it is written afresh on the next remember.
      }
    }
  }

  override get(location: string): string | undefined {
    const known = this.known.get(location)
    if (known !== undefined) return known
    const encrypted = this.stored.get(location)
    if (encrypted !== undefined) {
      try {
        const password = this.cipher.decryptString(Buffer.from(encrypted, 'base64'))
        this.known.set(location, password)
        return password
      } catch {
        this.stored.delete(location)
      }
    }
    return super.get(location)
  }

  override set(location: string, password: string, remember: boolean): void {
    super.set(location, password, remember)
    if (remember && this.canRemember) {
      this.stored.set(location, this.cipher.encryptString(password).toString('base64'))
      this.save()
    }
  }

  override forget(location: string): void {
    super.forget(location)
    if (this.stored.delete(location)) this.save()
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    writeFileSync(this.file, JSON.stringify(Object.fromEntries(this.stored), null, 2) + '\n', { mode: 0o600 })
  }
}
